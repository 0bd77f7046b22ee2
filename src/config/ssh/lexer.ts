/**
 * Tokenising ssh_config lines the way OpenSSH 9.2 does. Two tokenisers exist there and both matter:
 *  - the keyword (and the arguments of `Match`) are split on whitespace, on one `=`, and on double quotes;
 *  - the remaining arguments are split shell-like: double or single quotes, backslash escapes of quotes,
 *    backslash and (outside quotes) space, and a `#` that starts a token ends the line.
 * Commands (ProxyCommand, LocalCommand, RemoteCommand, KnownHostsCommand) and ProxyJump take the raw rest of
 * the line instead, so `splitLine` also returns it.
 */

const WHITESPACE = ' \t\r\n';

import { asciiLower } from '../../match/patterns.ts';
export interface TokenCursor {
  /** The unread remainder, or undefined once the input is exhausted (OpenSSH's NULL). */
  rest: string | undefined;
}

/**
 * Takes the next token from `cursor.rest`, splitting on whitespace, a single `=`, or a double-quoted span.
 * Returns undefined for an unterminated quote, like OpenSSH's strdelim().
 */
export function nextDelimitedToken(cursor: TokenCursor): string | undefined {
  const s = cursor.rest;
  if (s === undefined) return undefined;
  let at = -1;
  for (let i = 0; i < s.length; i++) {
    if (WHITESPACE.includes(s[i]!) || s[i] === '"' || s[i] === '=') {
      at = i;
      break;
    }
  }
  if (at < 0) {
    cursor.rest = undefined;
    return s;
  }
  if (s[at] === '"') {
    // The opening quote is dropped; the token runs to the next quote.
    const unquoted = s.slice(0, at) + s.slice(at + 1);
    const close = unquoted.indexOf('"', at);
    if (close < 0) {
      cursor.rest = undefined;
      return undefined;
    }
    cursor.rest = skipWhitespace(unquoted, close + 1);
    return unquoted.slice(0, close);
  }
  const sawEquals = s[at] === '=';
  const token = s.slice(0, at);
  let next = skipWhitespaceIndex(s, at + 1);
  // Only one '=' may separate tokens: "a = b" and "a=b" both split once.
  if (!sawEquals && s[next] === '=') next = skipWhitespaceIndex(s, next + 1);
  cursor.rest = s.slice(next);
  return token;
}

function skipWhitespaceIndex(s: string, from: number): number {
  let i = from;
  while (i < s.length && WHITESPACE.includes(s[i]!)) i++;
  return i;
}

function skipWhitespace(s: string, from: number): string {
  return s.slice(skipWhitespaceIndex(s, from));
}

export type SplitLine =
  | { kind: 'empty' }
  | { kind: 'missing-argument'; keyword: string }
  | { kind: 'directive'; keyword: string; rest: string };

/**
 * Splits a configuration line into its lower-cased keyword and the raw rest of the line. Blank lines and
 * comments are `empty`; a keyword with nothing after it is `missing-argument`.
 */
export function splitLine(rawLine: string): SplitLine {
  // Trailing whitespace (and a form feed) is dropped; OpenSSH stops at the first character, so a
  // line that is only whitespace keeps its first character, which is harmless.
  let end = rawLine.length;
  while (end > 1 && (WHITESPACE + '\f').includes(rawLine[end - 1]!)) end--;
  const line = rawLine.slice(0, end);
  if (line.length === 0) return { kind: 'empty' };
  const cursor: TokenCursor = { rest: line };
  let keyword = nextDelimitedToken(cursor);
  if (keyword === undefined) return { kind: 'empty' };
  if (keyword === '') keyword = nextDelimitedToken(cursor);
  if (keyword === undefined || keyword === '' || keyword.startsWith('\n') || keyword.startsWith('#')) {
    return { kind: 'empty' };
  }
  keyword = asciiLower(keyword);
  const rest = cursor.rest === undefined ? '' : skipWhitespace(cursor.rest, 0);
  if (rest === '') return { kind: 'missing-argument', keyword };
  return { kind: 'directive', keyword, rest };
}

export { splitArguments } from '../argv-split.ts';
export { asciiLower };
