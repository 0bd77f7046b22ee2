// Expanding an Include pattern the way glob(3) does for sshd (no flags): '*', '?' and '[...]' in any path
// component, dot files only when the component pattern starts with '.', results sorted, and a pattern with no
// wildcards naming a missing file yields nothing.
import { existsSync, readdirSync, statSync } from 'node:fs';

/** fnmatch for one path component. */
function componentMatches(name: string, pattern: string): boolean {
  if (name.startsWith('.') && !pattern.startsWith('.')) return false;
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  try {
    return new RegExp(re + '$', 's').test(name);
  } catch {
    return name === pattern;
  }
}

const hasMagic = (s: string): boolean => /[*?[]/.test(s);

/** The existing paths matching an absolute pattern, in byte order. */
export function expandIncludePattern(pattern: string): string[] {
  if (!hasMagic(pattern)) return existsSync(pattern) ? [pattern] : [];
  const parts = pattern.split('/');
  let prefixes = [parts[0] === '' ? '' : '.'];
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i] as string;
    const last = i === parts.length - 1;
    const next: string[] = [];
    for (const prefix of prefixes) {
      const dir = prefix === '' ? '/' : prefix;
      if (!hasMagic(part)) {
        const candidate = `${prefix}/${part}`;
        if (last ? existsSync(candidate) : isDirectory(candidate)) next.push(candidate);
        continue;
      }
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch {
        continue;
      }
      for (const entry of entries) {
        if (!componentMatches(entry, part)) continue;
        const candidate = `${prefix}/${entry}`;
        if (last || isDirectory(candidate)) next.push(candidate);
      }
    }
    prefixes = next;
  }
  return prefixes.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
