/**
 * OpenSSH pattern matching (ssh_config(5) "PATTERNS"): `*` matches any run of characters, `?` exactly one;
 * a pattern-list is comma-separated and an entry may be negated with `!`. A negated match makes the whole
 * list fail, whatever else matched.
 */
import { asciiLower } from './lexer.ts';

/** Glob match of the whole string against one pattern (case-sensitive). */
export function matchPattern(s: string, pattern: string): boolean {
  // Iterative glob with single-star backtracking: equivalent to OpenSSH's recursive match_pattern().
  let si = 0;
  let pi = 0;
  let starPi = -1;
  let starSi = 0;
  while (si < s.length) {
    const p = pattern[pi];
    if (p === '*') {
      starPi = pi++;
      starSi = si;
    } else if (p !== undefined && (p === '?' || p === s[si])) {
      si++;
      pi++;
    } else if (starPi >= 0) {
      pi = starPi + 1;
      si = ++starSi;
    } else {
      return false;
    }
  }
  while (pattern[pi] === '*') pi++;
  return pi === pattern.length;
}

/** Result of matching a pattern-list: OpenSSH returns 1, 0 or -1 (a negated entry matched). */
export type ListMatch = 1 | 0 | -1;

/**
 * Matches `s` against a comma-separated pattern-list. With `lowerPatterns`, the patterns are lower-cased
 * first (the string is not), as OpenSSH does for host names.
 */
export function matchPatternList(s: string, list: string, lowerPatterns: boolean): ListMatch {
  let positive = false;
  for (const entry of list.split(',')) {
    const negated = entry.startsWith('!');
    let pattern = negated ? entry.slice(1) : entry;
    // OpenSSH silently fails any sub-pattern of 1023 characters or more.
    if (pattern.length >= 1023) return 0;
    if (lowerPatterns) pattern = asciiLower(pattern);
    if (matchPattern(s, pattern)) {
      if (negated) return -1;
      positive = true;
    }
  }
  return positive ? 1 : 0;
}

/** Host name matching: the host is lower-cased and so are the patterns. */
export function matchHostname(host: string, list: string): ListMatch {
  return matchPatternList(asciiLower(host), list, true);
}
