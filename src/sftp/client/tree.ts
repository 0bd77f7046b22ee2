/**
 * Whole directory trees each way (sftp get -R / put -R, scp -r over SFTP), as sftp-client.c's download_dir
 * and upload_dir walk them: directories are created writable for the copy and given their own mode (and,
 * with preserve, times) afterwards; regular files are copied with fastGet/fastPut; anything else is
 * mentioned and skipped. A failure is reported and the walk goes on; the result says whether all went well.
 */
import { lstat, mkdir, opendir, chmod, utimes, stat } from 'node:fs/promises';
import { SftpStatusError, type SftpAttributes } from '../protocol.ts';
import { serverText, type SftpClient } from './sftp-client.ts';
import { isDirectory, isRegularFile, isSymlink } from './file-type.ts';
import { fastGet, fastPut, TransferError, TransferInterruptedError, type TransferOptions } from './transfer.ts';
import { localErrorText } from './local-errors.ts';

/** sftp-client.c MAX_DIR_DEPTH. */
const MAX_DEPTH = 64;

export type TreeReport = (level: 'error' | 'info' | 'print', message: string) => void;

export interface TreeOptions extends Omit<TransferOptions, 'attrs' | 'progress' | 'report'> {
  report: TreeReport;
  /** Follow symbolic links to files (scp -r does, sftp does not). */
  followLinks?: boolean;
  /** Print "Retrieving DIR" / "Entering DIR" for each directory. */
  print?: boolean;
  /** A progress meter for each file, by the name it shows. */
  progressFor?: (path: string) => TransferOptions['progress'];
}

export function joinPath(directory: string, name: string): string {
  if (directory === '') return name;
  return directory.endsWith('/') ? directory + name : `${directory}/${name}`;
}

/** The remote directory's canonical path, or undefined after reporting why not (download_dir, upload_dir). */
async function canonicalPath(client: SftpClient, path: string, direction: 'download' | 'upload', options: TreeOptions): Promise<string | undefined> {
  try {
    return await client.realpath(path);
  } catch (error) {
    if (!(error instanceof SftpStatusError)) throw error;
    options.report('error', `realpath ${path}: ${serverText(error)}`);
    options.report('error', `${direction} "${path}": path canonicalization failed`);
    return undefined;
  }
}

/** Downloads the tree at `remoteDirectory` into `localDirectory` (download_dir). */
export async function downloadTree(client: SftpClient, remoteDirectory: string, localDirectory: string, options: TreeOptions): Promise<boolean> {
  const canonical = await canonicalPath(client, remoteDirectory, 'download', options);
  return canonical !== undefined && downloadDirectory(client, canonical, localDirectory, 0, undefined, options);
}

async function downloadDirectory(client: SftpClient, source: string, destination: string, depth: number, known: SftpAttributes | undefined, options: TreeOptions): Promise<boolean> {
  const { report } = options;
  if (depth >= MAX_DEPTH) {
    report('error', `Maximum directory depth exceeded: ${depth} levels`);
    return false;
  }
  let attrs = known;
  if (attrs === undefined) {
    try {
      attrs = await client.stat(source);
    } catch (error) {
      if (!(error instanceof SftpStatusError)) throw error;
      report('error', `stat remote: ${error.message}`);
      report('error', `stat remote "${source}" directory failed`);
      return false;
    }
  }
  if (!isDirectory(attrs)) {
    report('error', `"${source}" is not a directory`);
    return false;
  }
  if (options.print) report('print', `Retrieving ${source}`);
  const mode = attrs.permissions !== undefined ? attrs.permissions & 0o1777 : 0o777;
  const workingMode = mode | 0o300;
  try {
    await mkdir(destination, workingMode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      report('error', `mkdir ${destination}: ${localErrorText(error)}`);
      return false;
    }
  }
  let entries;
  try {
    entries = await client.readdir(source);
  } catch (error) {
    if (!(error instanceof SftpStatusError)) throw error;
    report('error', `Couldn't read directory: ${error.message}`);
    report('error', `remote readdir "${source}" failed`);
    return false;
  }
  let ok = true;
  for (const entry of entries) {
    if (options.signal?.aborted) break;
    const from = joinPath(source, entry.filename);
    const to = joinPath(destination, entry.filename);
    if (isDirectory(entry.attrs)) {
      if (entry.filename === '.' || entry.filename === '..') continue;
      if (!(await downloadDirectory(client, from, to, depth + 1, entry.attrs, options))) ok = false;
    } else if (isRegularFile(entry.attrs) || (options.followLinks && isSymlink(entry.attrs))) {
      try {
        // For a link, fastGet stats the target itself.
        await fastGet(client, from, to, { ...options, attrs: isSymlink(entry.attrs) ? undefined : entry.attrs, progress: options.progressFor?.(from), report });
      } catch (error) {
        if (!(error instanceof TransferError)) throw error;
        if (error.message && !(error instanceof TransferInterruptedError)) report('error', error.message);
        report('error', `Download of file ${from} to ${to} failed`);
        ok = false;
      }
    } else {
      report('info', `download "${from}": not a regular file`);
    }
  }
  if (options.preserve) {
    if (attrs.atime !== undefined && attrs.mtime !== undefined) {
      await utimes(destination, attrs.atime, attrs.mtime).catch((error: unknown) => report('error', `local set times on "${destination}": ${localErrorText(error)}`));
    }
  }
  if (mode !== workingMode) await chmod(destination, mode).catch((error: unknown) => report('error', `local chmod directory "${destination}": ${localErrorText(error)}`));
  return ok;
}

/** Uploads the tree at `localDirectory` to `remoteDirectory` (upload_dir). */
export async function uploadTree(client: SftpClient, localDirectory: string, remoteDirectory: string, options: TreeOptions): Promise<boolean> {
  const canonical = await canonicalPath(client, remoteDirectory, 'upload', options);
  return canonical !== undefined && uploadDirectory(client, localDirectory, canonical, 0, options);
}

async function uploadDirectory(client: SftpClient, source: string, destination: string, depth: number, options: TreeOptions): Promise<boolean> {
  const { report } = options;
  if (depth >= MAX_DEPTH) {
    report('error', `Maximum directory depth exceeded: ${depth} levels`);
    return false;
  }
  let local;
  try {
    local = await stat(source);
  } catch (error) {
    report('error', `stat local "${source}": ${localErrorText(error)}`);
    return false;
  }
  if (!local.isDirectory()) {
    report('error', `"${source}" is not a directory`);
    return false;
  }
  if (options.print) report('print', `Entering ${source}`);
  const attrs: SftpAttributes = { permissions: local.mode & 0o1777 };
  if (options.preserve) {
    attrs.atime = Math.floor(local.atimeMs / 1000);
    attrs.mtime = Math.floor(local.mtimeMs / 1000);
  }
  // SFTP has no EEXIST: a failed mkdir is fine when a directory is already there.
  try {
    await client.mkdir(destination, { ...attrs, permissions: attrs.permissions! | 0o300 });
  } catch (error) {
    if (!(error instanceof SftpStatusError)) throw error;
    let existing: SftpAttributes;
    try {
      existing = await client.stat(destination);
    } catch (statError) {
      if (!(statError instanceof SftpStatusError)) throw statError;
      report('error', `stat remote: ${statError.message}`);
      return false;
    }
    if (!isDirectory(existing)) {
      report('error', `"${destination}" exists but is not a directory`);
      return false;
    }
  }
  let directory;
  try {
    directory = await opendir(source);
  } catch (error) {
    report('error', `local opendir "${source}": ${localErrorText(error)}`);
    return false;
  }
  let ok = true;
  for await (const entry of directory) {
    if (options.signal?.aborted) break;
    const from = joinPath(source, entry.name);
    const to = joinPath(destination, entry.name);
    let info;
    try {
      info = await lstat(from);
    } catch (error) {
      report('info', `local lstat "${entry.name}": ${localErrorText(error)}`);
      ok = false;
      continue;
    }
    if (info.isDirectory()) {
      if (!(await uploadDirectory(client, from, to, depth + 1, options))) ok = false;
    } else if (info.isFile() || (options.followLinks && info.isSymbolicLink())) {
      try {
        await fastPut(client, from, to, { ...options, progress: options.progressFor?.(from), report });
      } catch (error) {
        if (!(error instanceof TransferError)) throw error;
        if (error.message && !(error instanceof TransferInterruptedError)) report('error', error.message);
        report('error', `upload "${from}" to "${to}" failed`);
        ok = false;
      }
    } else {
      report('info', `${entry.name}: not a regular file`);
    }
  }
  await client.setstat(destination, attrs).catch((error: unknown) => {
    if (!(error instanceof SftpStatusError)) throw error;
    report('error', `remote setstat "${destination}": ${error.message}`);
  });
  return ok;
}
