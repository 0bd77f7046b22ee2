/** Argument splitting shared by ssh_config and sshd_config: OpenSSH's misc.c argv_split(). */

/**
 * Splits arguments like OpenSSH's argv_split() with comment termination. Returns undefined when a quote is
 * left open ("invalid quotes").
 */
export function splitArguments(s: string): string[] | undefined {
  const args: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') break;
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
