/**
 * What sftp's commands share: the connection, where output and messages go, the global -a/-f/-p/-r flags,
 * path helpers as sftp.c has them (make_absolute, path_append, path_strip), and glob over the remote file
 * system (sftp-glob.c) and the local one.
 */
import { lstat, readdir, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import {
  glob, isDirectory, isSymlink, SftpStatusError, type GlobFilesystem, type GlobResult, type SftpAttributes, type SftpClient, type TransferProgress,
} from '../sftp/client/index.ts';
import { escapeGlob } from '../sftp/client/glob.ts';
import { ProgressMeter, progressName } from './progress-meter.ts';

export interface ShellContext {
  sftp: SftpClient;
  /** stdout (listings, "Fetching ..."). */
  print(text: string): void;
  /** error(): stderr, always. */
  error(message: string): void;
  /** logit(): stderr unless -q. */
  info(message: string): void;
  /** -q or batch mode: no "Fetching"/"Uploading" lines. */
  quiet: boolean;
  showProgress: boolean;
  global: { resume: boolean; fsync: boolean; preserve: boolean; recursive: boolean };
  limitBytesPerSecond?: number;
  /** Aborted by Ctrl-C during a command. */
  signal?: AbortSignal;
  /** Terminal width for column listings. */
  width(): number;
}

/** sftp.c path_append. */
export function pathAppend(directory: string, name: string): string {
  if (directory === '') return name;
  return directory.endsWith('/') ? directory + name : `${directory}/${name}`;
}

/** sftp-common.c make_absolute: a relative path is taken from `pwd`. */
export function makeAbsolute(path: string, pwd: string): string {
  return path.startsWith('/') ? path : pathAppend(pwd, path);
}

/** make_absolute_pwd_glob: as make_absolute, with the working directory's own wildcards escaped. */
export function makeAbsoluteGlob(path: string | undefined, pwd: string): string {
  const escaped = escapeGlob(pwd);
  return path === undefined ? escaped : makeAbsolute(path, escaped);
}

/** sftp.c path_strip: `path` with `strip` (the working directory) taken off its front. */
export function pathStrip(path: string, strip: string | undefined): string {
  if (strip === undefined || !path.startsWith(strip)) return path;
  let length = strip.length;
  if (!strip.endsWith('/') && path[length] === '/') length++;
  return path.slice(length);
}

/** The last component of a path as basename(3) gives it (trailing slashes ignored). */
export function baseName(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '') return path.startsWith('/') ? '/' : '.';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** Attributes, or undefined for a status error (the path is not there, or not ours to see). */
async function orUndefined<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof SftpStatusError) return undefined;
    throw error;
  }
}

export function remoteFilesystem(sftp: SftpClient): GlobFilesystem<SftpAttributes> {
  return {
    readdir: async (path) => (await orUndefined(sftp.readdir(path)))?.map((entry) => ({ name: entry.filename, attrs: entry.attrs })),
    lstat: (path) => orUndefined(sftp.lstat(path)),
    stat: (path) => orUndefined(sftp.stat(path)),
    isDirectory,
    isSymlink,
  };
}

const localFilesystem: GlobFilesystem<Stats> = {
  readdir: async (path) => {
    let names: string[];
    try {
      names = await readdir(path);
    } catch {
      return undefined;
    }
    // readdir(3) also lists "." and ".."; glob only matches them by an explicit leading dot.
    const entries = [];
    for (const name of ['.', '..', ...names]) {
      const attrs = await lstat(pathAppend(path, name)).catch(() => undefined);
      if (attrs) entries.push({ name, attrs });
    }
    return entries;
  },
  lstat: (path) => lstat(path).catch(() => undefined),
  stat: (path) => stat(path).catch(() => undefined),
  isDirectory: (attrs) => attrs.isDirectory(),
  isSymlink: (attrs) => attrs.isSymbolicLink(),
};

export function remoteGlob(context: ShellContext, pattern: string, options: { mark?: boolean; noCheck?: boolean; brace?: boolean }): Promise<GlobResult<SftpAttributes>> {
  return glob(pattern, remoteFilesystem(context.sftp), options);
}

export function localGlob(pattern: string, options: { mark?: boolean; noCheck?: boolean }): Promise<GlobResult<Stats>> {
  return glob(pattern, localFilesystem, options);
}

export async function remoteIsDirectory(sftp: SftpClient, path: string): Promise<boolean> {
  const attrs = await orUndefined(sftp.stat(path));
  return attrs !== undefined && isDirectory(attrs);
}

export async function localIsDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true;
}

/** A progress meter for one file, or undefined when progress is off. */
export function progressFor(context: ShellContext, path: string): TransferProgress | undefined {
  // progressmeter.c can_output(): drawn only when stdout is the terminal in the foreground.
  if (!context.showProgress || !process.stdout.isTTY) return undefined;
  let meter: ProgressMeter | undefined;
  return {
    start: (size, position) => {
      meter = new ProgressMeter(progressName(path), size, position);
    },
    stop: () => meter?.stop(),
  };
}
