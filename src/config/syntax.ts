/**
 * Splitting configuration lines, shared by ssh_config and sshd_config: OpenSSH 9.2 reads both with the same
 * two tokenisers (misc.c). The keyword is taken with strdelim(): it ends at whitespace, a double quote or one
 * `=`. The arguments after it are split with argv_split(): shell-like, with "double" and 'single' quotes,
 * backslash escapes of quotes, backslash and (outside quotes) space, and a `#` starting a word ends the line.
 */

const WHITESPACE = ' \t\r\n';

export interface TokenCursor {
  /** The unread remainder, or undefined once the input is exhausted (OpenSSH's NULL). */
  rest: string | undefined;
}

function skipWhitespace(s: string, from: number): number {
  let i = from;
  while (i < s.length && WHITESPACE.includes(s[i]!)) i++;
  return i;
}

/**
 * strdelim(): takes the next token from `cursor.rest`, splitting on whitespace, a single `=`, or a
 * double-quoted span (the quotes dropped). Returns undefined for an unterminated quote.
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
    // The opening quote is dropped and the token runs to the next quote.
    const close = s.indexOf('"', at + 1);
    if (close < 0) {
      cursor.rest = undefined;
      return undefined;
    }
    cursor.rest = s.slice(skipWhitespace(s, close + 1));
    return s.slice(0, at) + s.slice(at + 1, close);
  }
  const sawEquals = s[at] === '=';
  let next = skipWhitespace(s, at + 1);
  // Only one '=' may separate tokens: "a = b" and "a=b" both split once.
  if (!sawEquals && s[next] === '=') next = skipWhitespace(s, next + 1);
  cursor.rest = s.slice(next);
  return s.slice(0, at);
}

/** A line's keyword (as written) and the raw text after it and its delimiter ("" when nothing follows). */
export interface Directive {
  keyword: string;
  rest: string;
}

/**
 * The keyword of one line (readconf.c process_config_line / servconf.c process_server_config_line): trailing
 * blanks (and a form feed) are dropped; a blank line, a comment, or an unterminated quote in the keyword
 * gives null.
 */
export function splitDirective(rawLine: string): Directive | null {
  const line = rawLine.replace(/[ \t\r\n\f]+$/, '');
  if (line === '') return null;
  const cursor: TokenCursor = { rest: line };
  let keyword = nextDelimitedToken(cursor);
  // A line starting with blanks yields an empty first token; the keyword is the next one.
  if (keyword === '') keyword = nextDelimitedToken(cursor);
  if (keyword === undefined || keyword === '' || keyword.startsWith('#')) return null;
  return { keyword, rest: cursor.rest === undefined ? '' : cursor.rest.slice(skipWhitespace(cursor.rest, 0)) };
}

/**
 * argv_split() with comment termination: the arguments after a keyword (without it when
 * `terminateOnComment` is false, as sshd splits AuthorizedKeysCommand). Returns undefined when a quote is
 * left open ("invalid quotes").
 */
export function splitArguments(s: string, terminateOnComment = true): string[] | undefined {
  const args: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (terminateOnComment && c === '#') break;
    let quote = '';
    let arg = '';
    for (; i < s.length; i++) {
      const ch = s[i]!;
      if (ch === '\\') {
        const n = s[i + 1];
        if (n === "'" || n === '"' || n === '\\' || (quote === '' && n === ' ')) {
          i++;
          arg += n;
        } else {
          arg += ch; // an unrecognised escape is kept literally
        }
      } else if (quote === '' && (ch === ' ' || ch === '\t')) {
        break;
      } else if (quote === '' && (ch === '"' || ch === "'")) {
        quote = ch;
      } else if (quote !== '' && ch === quote) {
        quote = '';
      } else {
        arg += ch;
      }
    }
    if (quote !== '') return undefined;
    args.push(arg);
  }
  return args;
}
