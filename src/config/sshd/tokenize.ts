// Splitting one sshd_config line the way sshd does (servconf.c process_server_config_line with misc.c
// strdelim and argv_split): the keyword ends at whitespace, a quote or a single '='; the rest of the line
// is split into arguments on blanks, honouring "double" and 'single' quotes and \-escapes, and stopping at
// an unquoted '#'.

const DELIMS_WITH_EQUALS = ' \t\r\n"=';
const WHITESPACE = ' \t\r\n';

function skipWhitespace(s: string, from: number): number {
  let i = from;
  while (i < s.length && WHITESPACE.includes(s[i] as string)) i++;
  return i;
}

/**
 * One token from the front of `s`, splitting on whitespace, a double-quoted word, or one '='.
 * Returns null when a quote is never closed (sshd then treats the line as empty); `rest` is null
 * when the token was the last thing on the line.
 */
import { splitArguments as splitConfigArguments } from '../argv-split.ts';
export function nextDelimitedToken(s: string): { token: string; rest: string | null } | null {
  let i = 0;
  while (i < s.length && !DELIMS_WITH_EQUALS.includes(s[i] as string)) i++;
  if (i === s.length) return { token: s, rest: null };
  if (s[i] === '"') {
    // The opening quote is dropped and the token runs to the closing quote.
    const close = s.indexOf('"', i + 1);
    if (close < 0) return null;
    const token = s.slice(0, i) + s.slice(i + 1, close);
    return { token, rest: s.slice(skipWhitespace(s, close + 1)) };
  }
  const sawEquals = s[i] === '=';
  const token = s.slice(0, i);
  let next = skipWhitespace(s, i + 1);
  // "Keyword = value": one '=' may follow the blanks, unless the delimiter was already an '='.
  if (!sawEquals && s[next] === '=') next = skipWhitespace(s, next + 1);
  return { token, rest: s.slice(next) };
}

/** The arguments after a keyword (misc.c argv_split); null for an unterminated quote ("invalid quotes"). */
export function splitArguments(s: string): string[] | null {
  return splitConfigArguments(s) ?? null;
}

/** The parts of a line sshd looks at: the keyword, the raw remainder, and its split arguments. */
export interface SplitLine {
  keyword: string;
  /** Everything after the keyword and its delimiter, unprocessed ("" when nothing followed). */
  rest: string;
}

/**
 * Strips trailing blanks (and form feeds) and takes the keyword off a line. Returns null for a blank line,
 * a comment, or a line sshd ignores; `rest` is "" when the keyword has no argument.
 */
export function splitKeyword(rawLine: string): SplitLine | null {
  let line = rawLine;
  // load_server_config drops leading blanks; the line parser drops trailing ones (\f only at the end).
  line = line.replace(/^[ \t\r]+/, '').replace(/[ \t\r\n\f]+$/, '');
  if (line === '') return null;
  let first = nextDelimitedToken(line);
  if (first === null) return null;
  if (first.token === '') {
    if (first.rest === null) return null;
    first = nextDelimitedToken(first.rest);
    if (first === null) return null;
  }
  if (first.token === '' || first.token.startsWith('#')) return null;
  return { keyword: first.token, rest: first.rest ?? '' };
}
