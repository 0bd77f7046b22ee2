/**
 * OpenSSH's pattern matching (match.c), shared by ssh_config Host/Match, sshd_config Match and
 * Allow/Deny lists, known_hosts and authorized_keys `from=`: `*` matches any run of characters, `?` exactly
 * one; a pattern-list is comma-separated, and any matching `!negated` entry makes the whole list fail.
 */

/** Whole-string wildcard match (case-sensitive); iterative with single-star backtracking, like match_pattern. */
export function matchPattern(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const c = pattern[p];
    if (c === '*') {
      starP = p++;
      starT = t;
    } else if (c !== undefined && (c === '?' || c === text[t])) {
      t++;
      p++;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** 1: a positive entry matched; 0: nothing matched; -1: a negated entry matched (OpenSSH's convention). */
export type ListMatch = 1 | 0 | -1;

/** tolower() in the C locale: only ASCII letters change, as in OpenSSH. */
export function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/**
 * match_pattern_list: `text` against a comma-separated list (or an array of entries). With `lowerPatterns`
 * the patterns are lower-cased first (the text is not), as OpenSSH does for host names.
 */
export function matchPatternList(text: string, list: string | readonly string[], lowerPatterns = false): ListMatch {
  let positive = false;
  for (const entry of typeof list === 'string' ? list.split(',') : list) {
    const negated = entry.startsWith('!');
    let pattern = negated ? entry.slice(1) : entry;
    // OpenSSH silently fails any sub-pattern of 1023 characters or more.
    if (pattern.length >= 1023) return 0;
    if (lowerPatterns) pattern = asciiLower(pattern);
    if (matchPattern(text, pattern)) {
      if (negated) return -1;
      positive = true;
    }
  }
  return positive ? 1 : 0;
}

/** match_hostname: host names compare case-insensitively. */
export function matchHostname(host: string, list: string | readonly string[]): ListMatch {
  return matchPatternList(asciiLower(host), list, true);
}
