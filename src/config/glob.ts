/**
 * Filename globbing for `Include`, with glob(3)'s rules as OpenSSH uses them: `*`, `?` and `[...]` within one
 * path component, a leading `.` only matched explicitly, results sorted in byte order (the C collation
 * ssh runs with), and a pattern without wildcards matching only an existing path.
 */
import { lstatSync, readdirSync } from 'node:fs';

function hasMagic(s: string): boolean {
  return /[*?[]/.test(s);
}

/** fnmatch() for one component: `*`, `?`, `[a-z]`, `[!x]`, with `\` escaping. */
export function matchComponent(name: string, pattern: string): boolean {
  const re = componentRegExp(pattern);
  return re.test(name);
}

function componentRegExp(pattern: string): RegExp {
  let src = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') src += '[^/]*';
    else if (c === '?') src += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) src += escapeRegExp(pattern[++i]!);
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) {
        src += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negated = body.startsWith('!');
      if (negated) body = body.slice(1);
      src += `[${negated ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else src += escapeRegExp(c);
  }
  return new RegExp(src + '$', 's');
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return readdirSync(path) !== undefined;
  } catch {
    return false;
  }
}

/** Expands an absolute pattern to the sorted list of existing paths it matches (empty: no match). */
export function globPaths(pattern: string): string[] {
  if (!hasMagic(pattern)) return exists(pattern) ? [pattern] : [];
  const components = pattern.split('/');
  let bases: string[] = [components[0] === '' ? '' : '.'];
  const start = components[0] === '' ? 1 : 0;
  for (let i = start; i < components.length; i++) {
    const part = components[i]!;
    const last = i === components.length - 1;
    const next: string[] = [];
    for (const base of bases) {
      const dir = base === '' ? '/' : base;
      if (!hasMagic(part)) {
        const candidate = `${base}/${part}`;
        if (last ? exists(candidate) : isDirectory(candidate)) next.push(candidate);
        continue;
      }
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch {
        continue;
      }
      for (const entry of entries) {
        if (entry.startsWith('.') && !part.startsWith('.')) continue;
        if (!matchComponent(entry, part)) continue;
        const candidate = `${base}/${entry}`;
        if (last || isDirectory(candidate)) next.push(candidate);
      }
    }
    bases = next;
  }
  const results = start === 1 ? bases : bases.map((b) => b.replace(/^\.\//, ''));
  return results.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}
