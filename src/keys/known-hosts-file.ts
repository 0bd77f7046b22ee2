/**
 * known_hosts file maintenance: appending accepted keys (ssh), and the ssh-keygen operations -F (find),
 * -R (remove) and -H (hash). Rewrites go through a temporary file and keep the previous contents as
 * `file.old`, as ssh-keygen does.
 */
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isLiteralHostPattern } from './host-patterns.ts';
import {
  entryMatchesName,
  formatKnownHostsLine,
  hashHostName,
  parseKnownHosts,
  parseKnownHostsLine,
  type KnownHostsEntry,
  type KnownHostsLine,
} from './known-hosts.ts';
import type { PublicKey } from './types.ts';

/** Reads and parses a known_hosts file; a missing file is simply empty. */
export function readKnownHostsFile(file: string): KnownHostsEntry[] {
  if (!existsSync(file)) return [];
  return parseKnownHosts(readFileSync(file, 'utf8'), file).entries;
}

/**
 * Appends a line for `host`:`port` to `file`, creating its directory (0700) and the file (0600) if needed.
 */
export function appendKnownHost(
  file: string,
  host: string | readonly string[],
  port: number,
  key: PublicKey,
  options: { hash?: boolean } = {},
): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  if (existsSync(file)) {
    const current = readFileSync(file);
    // Never glue our entry onto a last line that lacks its newline.
    if (current.length > 0 && current[current.length - 1] !== 0x0a) prefix = '\n';
  }
  writeFileSync(file, prefix + formatKnownHostsLine(host, port, key, options) + '\n', { flag: 'a', mode: 0o600 });
}

/** Replaces `file` with `contents`, keeping the old contents as `file.old` (ssh-keygen's behaviour). */
function replaceKeepingBackup(file: string, contents: string): void {
  const temporary = `${file}.${randomBytes(6).toString('hex')}`;
  const mode = statSync(file).mode & 0o777;
  writeFileSync(temporary, contents, { mode: 0o600, flag: 'wx' });
  try {
    chmodSync(temporary, mode);
    const backup = `${file}.old`;
    if (existsSync(backup)) unlinkSync(backup);
    linkSync(file, backup);
    renameSync(temporary, file);
  } catch (error) {
    if (existsSync(temporary)) unlinkSync(temporary);
    throw error;
  }
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export interface FoundHost {
  readonly line: number;
  readonly marker?: KnownHostsEntry['marker'];
  readonly text: string;
  readonly entry: KnownHostsEntry;
}

/** Entries of `file` naming `host` (already in `host` or `[host]:port` form), like ssh-keygen -F. */
export function findHost(file: string, host: string): FoundHost[] {
  return readKnownHostsFile(file)
    .filter((entry) => entryMatchesName(entry, host))
    .map((entry) => ({ line: entry.line, marker: entry.marker, text: entry.text, entry }));
}

/**
 * Removes every plain entry for `host` (whole lines, as ssh-keygen -R does: other names on the same line
 * go too; @revoked and @cert-authority lines are kept). Returns the removed lines; the file is only
 * rewritten (with a .old backup) when something was removed.
 */
export function removeHost(file: string, host: string): FoundHost[] {
  const lines = splitLines(readFileSync(file, 'utf8'));
  const removed: FoundHost[] = [];
  const kept: string[] = [];
  lines.forEach((text, index) => {
    const parsed = parseKnownHostsLine(text, file, index + 1);
    if (parsed.kind === 'entry' && parsed.entry.marker === undefined && entryMatchesName(parsed.entry, host)) {
      removed.push({ line: index + 1, text, entry: parsed.entry });
    } else {
      kept.push(text);
    }
  });
  if (removed.length > 0) replaceKeepingBackup(file, kept.map((line) => line + '\n').join(''));
  return removed;
}

/** Raised by hashKnownHostsFile when the file has lines it cannot understand (it is then left alone). */
export class KnownHostsFileError extends Error {
  override readonly name = 'KnownHostsFileError';
  /** 1-based numbers of the lines that could not be parsed. */
  readonly invalidLines: readonly number[];

  constructor(message: string, invalidLines: readonly number[]) {
    super(message);
    this.invalidLines = invalidLines;
  }
}

export interface HashResult {
  /** Whether the original (now in file.old) held names in the clear. */
  readonly hadUnhashedNames: boolean;
  /** Lines left unhashed because their names contain wildcards or negations. */
  readonly wildcardLines: readonly number[];
}

/**
 * Hashes every plain host name in `file` (ssh-keygen -H): a line naming several hosts becomes one hashed
 * line per host; comments, hashed lines and lines with markers are kept as they are; lines whose patterns
 * have wildcards cannot be hashed and are kept too. Like ssh-keygen, the file is rewritten (with a .old
 * backup) whenever it is valid, and left untouched, with KnownHostsFileError, when any line is invalid.
 */
export function hashKnownHostsFile(file: string): HashResult {
  const lines = splitLines(readFileSync(file, 'utf8'));
  const output: string[] = [];
  const wildcardLines: number[] = [];
  const invalidLines: number[] = [];
  let hadUnhashedNames = false;
  lines.forEach((text, index) => {
    const parsed = parseKnownHostsLine(text, file, index + 1);
    if (parsed.kind === 'invalid') {
      invalidLines.push(index + 1);
      return;
    }
    if (parsed.kind === 'skip' || parsed.entry.marker !== undefined || parsed.entry.hashed) {
      output.push(text);
      return;
    }
    const patterns = parsed.entry.hosts.split(',');
    if (!patterns.every(isLiteralHostPattern)) {
      wildcardLines.push(index + 1);
      output.push(text);
      return;
    }
    hadUnhashedNames = true;
    const keyPart = text.replace(/^[ \t]*\S+[ \t]+/, '');
    for (const name of patterns) output.push(`${hashHostName(name.toLowerCase())} ${keyPart}`);
  });
  if (invalidLines.length > 0) {
    throw new KnownHostsFileError(`${file} is not a valid known_hosts file.`, invalidLines);
  }
  replaceKeepingBackup(file, output.map((line) => line + '\n').join(''));
  return { hadUnhashedNames, wildcardLines };
}

/**
 * Rewrites `file` as hostfile.c hostfile_replace_entries does for UpdateHostKeys: every line `keep` accepts
 * stays as it is (it sees each line parsed, comments and unparsable lines included), then the lines `extra`
 * returns once all lines have been seen are appended; through a temporary file, the old contents kept as
 * `file.old`. Nothing is written unless a line goes or one is added. Returns whether the file changed.
 */
export function rewriteKnownHosts(
  file: string,
  keep: (parsed: KnownHostsLine, line: number) => boolean,
  extra: () => readonly string[],
): boolean {
  const lines = splitLines(readFileSync(file, 'utf8'));
  const kept = lines.filter((text, index) => keep(parseKnownHostsLine(text, file, index + 1), index + 1));
  const added = extra();
  if (kept.length === lines.length && added.length === 0) return false;
  replaceKeepingBackup(file, [...kept, ...added].map((line) => line + '\n').join(''));
  return true;
}
