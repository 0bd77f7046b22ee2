/**
 * OpenSSH host pattern matching (ssh_config(5) PATTERNS, sshd(8) known_hosts and authorized_keys from=):
 * `*` matches any run of characters, `?` exactly one, a leading `!` negates, and a comma-separated list
 * matches when some positive pattern matches and no negated one does. Host names compare case-insensitively.
 */

import { matchHostname, matchPattern, type ListMatch } from '../match/patterns.ts';

/** Whole-string wildcard match of `text` against `pattern` (`*`, `?`). */
export const matchWildcard = matchPattern;

/** Result of a pattern list: 1 positive match, 0 no match, -1 a negated pattern matched (OpenSSH semantics). */
export type PatternListResult = ListMatch;

/** A host name against a pattern list, case-insensitively (known_hosts, authorized_keys from=). */
export function matchPatternList(name: string, patterns: string | readonly string[]): PatternListResult {
  return matchHostname(name, patterns);
}

/** True when `pattern` is a literal name (no wildcard, no negation): only those can be hashed. */
export function isLiteralHostPattern(pattern: string): boolean {
  return !/[*?!]/.test(pattern);
}

/** The name under which a host is stored in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port = 22): string {
  return port === 22 ? host : `[${host}]:${port}`;
}
