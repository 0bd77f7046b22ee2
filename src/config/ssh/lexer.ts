/**
 * Splitting ssh_config lines (the tokenisers are shared with sshd_config, ../syntax.ts): the keyword is
 * lower-cased, as readconf.c does before looking it up. Commands (ProxyCommand, LocalCommand, RemoteCommand,
 * KnownHostsCommand) and ProxyJump take the raw rest of the line, so `splitLine` returns it.
 */
import { asciiLower } from '../../match/patterns.ts';
import { splitDirective } from '../syntax.ts';

export { nextDelimitedToken, splitArguments, type TokenCursor } from '../syntax.ts';
export { asciiLower };

export type SplitLine =
  | { kind: 'empty' }
  | { kind: 'missing-argument'; keyword: string }
  | { kind: 'directive'; keyword: string; rest: string };

/**
 * Splits a configuration line into its lower-cased keyword and the raw rest of the line. Blank lines and
 * comments are `empty`; a keyword with nothing after it is `missing-argument`.
 */
export function splitLine(rawLine: string): SplitLine {
  const directive = splitDirective(rawLine);
  if (directive === null) return { kind: 'empty' };
  const keyword = asciiLower(directive.keyword);
  if (directive.rest === '') return { kind: 'missing-argument', keyword };
  return { kind: 'directive', keyword, rest: directive.rest };
}
