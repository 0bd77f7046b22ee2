/**
 * glob(3) as OpenSSH's sftp uses it (sftp-glob.c over the compat glob of openbsd-compat/glob.c), on any
 * file system that can list a directory and stat a path: the remote one through SFTP, or the local one.
 * `*`, `?` and `[...]` (with `!` and ranges) match within one path component; a name starting with `.` is
 * matched only by a pattern that starts with `.`; `\` escapes the next character; `{a,b}` alternatives
 * with `brace`. Directories get a trailing `/` with `mark` (GLOB_MARK); with `noCheck` (GLOB_NOCHECK) a
 * pattern that matches nothing is returned itself, unescaped. Results of each pattern are sorted.
 */

export interface GlobEntry<Attrs> {
  name: string;
  /** lstat()-like attributes, as readdir gives them. */
  attrs: Attrs;
}

export interface GlobFilesystem<Attrs> {
  /** The entries of a directory, or undefined when it cannot be read (it then matches nothing). */
  readdir(path: string): Promise<GlobEntry<Attrs>[] | undefined>;
  lstat(path: string): Promise<Attrs | undefined>;
  stat(path: string): Promise<Attrs | undefined>;
  isDirectory(attrs: Attrs): boolean;
  isSymlink(attrs: Attrs): boolean;
}

export interface GlobMatch<Attrs> {
  path: string;
  /** The match's lstat()-like attributes (GLOB_KEEPSTAT; with `mark`, a link's target's); absent for a NOCHECK pattern. */
  attrs?: Attrs;
}

export interface GlobOptions {
  mark?: boolean;
  noCheck?: boolean;
  brace?: boolean;
}

export interface GlobResult<Attrs> {
  matches: GlobMatch<Attrs>[];
  /** How many paths matched (gl_matchc): 0 when only the NOCHECK pattern came back. */
  matched: number;
}

/** More paths or directory entries than a glob may collect (GLOB_NOSPACE). */
export class GlobTooManyError extends Error {
  override readonly name = 'GlobTooManyError';
}

/** Bounds on what one glob may collect, so a huge directory cannot exhaust memory (cf. GLOB_LIMIT). */
const MAX_PATHS = 65536;
const MAX_ENTRIES_READ = 1 << 20;
const MAX_BRACE_EXPANSIONS = 1024;

const META = /[*?[]/;

/** Whether `pattern` has an unescaped wildcard. */
export function hasMagic(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === '\\') i++;
    else if (META.test(char)) return true;
  }
  return false;
}

/** Removes one level of backslash escaping. */
export function unescapeGlob(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '\\' && i + 1 < pattern.length) i++;
    out += pattern[i];
  }
  return out;
}

/** Escapes the characters glob treats specially (sftp.c escape_glob). */
export function escapeGlob(text: string): string {
  return text.replace(/[[\]?*\\]/g, (char) => `\\${char}`);
}

/** fnmatch(3) for one path component, as glob's match() does it. */
export function matchComponent(name: string, pattern: string): boolean {
  const chars = [...name];
  const pat = [...pattern];
  const match = (n: number, p: number): boolean => {
    while (p < pat.length) {
      const c = pat[p]!;
      if (c === '*') {
        while (pat[p] === '*') p++;
        if (p === pat.length) return true;
        for (let k = n; k <= chars.length; k++) if (match(k, p)) return true;
        return false;
      }
      if (n >= chars.length) return false;
      if (c === '?') {
        n++;
        p++;
        continue;
      }
      if (c === '[') {
        const end = matchClass(chars[n]!, pat, p);
        if (end === undefined) {
          // An unterminated class is a literal '['.
          if (chars[n] !== '[') return false;
          n++;
          p++;
          continue;
        }
        if (end < 0) return false;
        n++;
        p = end;
        continue;
      }
      let literal = c;
      if (c === '\\' && p + 1 < pat.length) literal = pat[++p]!;
      if (chars[n] !== literal) return false;
      n++;
      p++;
    }
    return n === chars.length;
  };
  return match(0, 0);
}

/** A bracket expression at pat[start] against `char`: the index after it, -1 for no match, undefined if unterminated. */
function matchClass(char: string, pat: string[], start: number): number | undefined {
  let p = start + 1;
  const negate = pat[p] === '!';
  if (negate) p++;
  let matched = false;
  let first = true;
  while (p < pat.length && (first || pat[p] !== ']')) {
    first = false;
    let low = pat[p]!;
    if (low === '\\' && p + 1 < pat.length) low = pat[++p]!;
    p++;
    if (pat[p] === '-' && p + 1 < pat.length && pat[p + 1] !== ']') {
      let high = pat[p + 1]!;
      p += 2;
      if (high === '\\' && p < pat.length) high = pat[p++]!;
      if (low <= char && char <= high) matched = true;
    } else if (low === char) {
      matched = true;
    }
  }
  if (p >= pat.length) return undefined;
  return matched !== negate ? p + 1 : -1;
}

/** GLOB_BRACE: `{a,b}c` → `ac`, `bc`, recursively; `{}` stays literal. */
export function expandBraces(pattern: string): string[] {
  const results: string[] = [];
  const pending = [pattern];
  while (pending.length > 0) {
    const current = pending.pop()!;
    const open = findBrace(current);
    if (open === undefined) {
      results.push(current);
    } else {
      const { start, end, alternatives } = open;
      for (const alternative of alternatives.reverse()) pending.push(current.slice(0, start) + alternative + current.slice(end + 1));
    }
    if (results.length + pending.length > MAX_BRACE_EXPANSIONS) throw new GlobTooManyError('too many brace expansions');
  }
  return results;
}

function findBrace(pattern: string): { start: number; end: number; alternatives: string[] } | undefined {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '\\') {
      i++;
      continue;
    }
    if (pattern[i] !== '{' || pattern[i + 1] === '}') continue;
    let depth = 0;
    let partStart = i + 1;
    const alternatives: string[] = [];
    for (let j = i; j < pattern.length; j++) {
      const char = pattern[j];
      if (char === '\\') {
        j++;
        continue;
      }
      if (char === '[') {
        const close = pattern.indexOf(']', j + 2);
        if (close > 0) j = close;
        continue;
      }
      if (char === '{') depth++;
      else if (char === '}' && --depth === 0) {
        alternatives.push(pattern.slice(partStart, j));
        return { start: i, end: j, alternatives };
      } else if (char === ',' && depth === 1) {
        alternatives.push(pattern.slice(partStart, j));
        partStart = j + 1;
      }
    }
    return undefined;
  }
  return undefined;
}

export async function glob<Attrs>(pattern: string, fs: GlobFilesystem<Attrs>, options: GlobOptions = {}): Promise<GlobResult<Attrs>> {
  const state = { entriesRead: 0 };
  const matches: GlobMatch<Attrs>[] = [];
  let matched = 0;
  for (const one of options.brace ? expandBraces(pattern) : [pattern]) {
    const found: GlobMatch<Attrs>[] = [];
    await expand(one, fs, options, found, state);
    if (found.length === 0 && options.noCheck) {
      matches.push({ path: unescapeGlob(one) });
      continue;
    }
    found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    matched += found.length;
    matches.push(...found);
    if (matches.length > MAX_PATHS) throw new GlobTooManyError('too many matches');
  }
  return { matches, matched };
}

async function expand<Attrs>(
  pattern: string,
  fs: GlobFilesystem<Attrs>,
  options: GlobOptions,
  found: GlobMatch<Attrs>[],
  state: { entriesRead: number },
): Promise<void> {
  // Components are walked left to right; literal ones are appended, magic ones are matched in readdir.
  const absolute = pattern.startsWith('/');
  const components = pattern.split('/');
  const walk = async (prefix: string, index: number, attrs: Attrs | undefined): Promise<void> => {
    // Skip the empty components of `//` and a trailing `/` (kept on the path, as glob(3) keeps it).
    while (index < components.length && components[index] === '' && index > 0) {
      prefix += '/';
      index++;
    }
    if (index >= components.length) {
      await addMatch(prefix, attrs, fs, options, found);
      return;
    }
    const component = components[index]!;
    if (index === 0 && absolute) {
      await walk('/', 1, undefined);
      return;
    }
    if (!hasMagic(component)) {
      await walk(join(prefix, unescapeGlob(component)), index + 1, undefined);
      return;
    }
    const entries = await fs.readdir(prefix === '' ? '.' : prefix);
    if (entries === undefined) return;
    state.entriesRead += entries.length;
    if (state.entriesRead > MAX_ENTRIES_READ) throw new GlobTooManyError('too many directory entries');
    for (const entry of entries) {
      if (entry.name.startsWith('.') && !component.startsWith('.')) continue;
      if (!matchComponent(entry.name, component)) continue;
      const last = index === components.length - 1;
      if (!last && !fs.isDirectory(entry.attrs) && !fs.isSymlink(entry.attrs)) continue;
      await walk(join(prefix, entry.name), index + 1, entry.attrs);
      if (found.length > MAX_PATHS) throw new GlobTooManyError('too many matches');
    }
  };
  await walk('', 0, undefined);
}

function join(prefix: string, name: string): string {
  if (prefix === '') return name;
  return prefix.endsWith('/') ? prefix + name : `${prefix}/${name}`;
}

async function addMatch<Attrs>(path: string, known: Attrs | undefined, fs: GlobFilesystem<Attrs>, options: GlobOptions, found: GlobMatch<Attrs>[]): Promise<void> {
  // As glob2: lstat of the path as written, so "link/" follows the link (POSIX path resolution) and a
  // trailing slash on a file fails.
  const attrs = known ?? (await fs.lstat(path));
  if (attrs === undefined) return;
  let marked = path;
  let kept = attrs;
  if (options.mark && !path.endsWith('/')) {
    // A symbolic link is marked when what it points to is a directory (glob2's second stat), and that stat,
    // when it succeeds, is what glob2 keeps for the match (sftp's `ls -l link` shows the target).
    const target = !fs.isDirectory(attrs) && fs.isSymlink(attrs) ? await fs.stat(path) : undefined;
    if (fs.isDirectory(attrs) || (target !== undefined && fs.isDirectory(target))) marked += '/';
    kept = target ?? attrs;
  }
  found.push({ path: marked, attrs: kept });
}
