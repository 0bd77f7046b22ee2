/**
 * OpenSSH host pattern matching (ssh_config(5) PATTERNS, sshd(8) known_hosts and authorized_keys from=):
 * `*` matches any run of characters, `?` exactly one, a leading `!` negates, and a comma-separated list
 * matches when some positive pattern matches and no negated one does. Host names compare case-insensitively.
 */

/** Whole-string wildcard match of `text` against `pattern` (`*`, `?`), iterative with backtracking. */
export function matchWildcard(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      t++;
      p++;
    } else if (p < pattern.length && pattern[p] === '*') {
      starP = p++;
      starT = t;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Result of a pattern list: 1 positive match, 0 no match, -1 a negated pattern matched (OpenSSH semantics). */
export type PatternListResult = 1 | 0 | -1;

export function matchPatternList(name: string, patterns: string | readonly string[]): PatternListResult {
  const list = typeof patterns === 'string' ? patterns.split(',') : patterns;
  const subject = name.toLowerCase();
  let positive = false;
  for (const raw of list) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (!matchWildcard(subject, pattern)) continue;
    if (negated) return -1;
    positive = true;
  }
  return positive ? 1 : 0;
}

/** True when `pattern` is a literal name (no wildcard, no negation): only those can be hashed. */
export function isLiteralHostPattern(pattern: string): boolean {
  return !/[*?!]/.test(pattern);
}

/** The name under which a host is stored in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port = 22): string {
  return port === 22 ? host : `[${host}]:${port}`;
}
