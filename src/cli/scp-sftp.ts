/**
 * scp over SFTP, OpenSSH 9's default (scp.c source_sftp, sink_sftp, throughlocal_sftp): remote names are
 * globbed by us (there is no remote shell), `~` and `~/` are taken from the login directory, and each file
 * is copied with sftp's pipelined transfers. Messages are scp's, prefixed "scp: " by the caller's error().
 */
import { mkdir, stat } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  createReadStream, createWriteStream, downloadTree, fastGet, fastPut, glob, GlobTooManyError, isDirectory, isRegularFile, SftpStatusError,
  TransferError, TransferInterruptedError, uploadTree, type SftpAttributes, type SftpClient, type TransferProgress,
} from '../sftp/client/index.ts';
import { SFTP_EXTENSION } from '../sftp/protocol.ts';
import { baseName, pathAppend, remoteFilesystem, remoteIsDirectory } from './sftp-commands-context.ts';
import { localErrorText } from '../sftp/client/local-errors.ts';

export interface ScpSftpOptions {
  recursive: boolean;
  preserve: boolean;
  targetShouldBeDirectory: boolean;
  limitBytesPerSecond?: number;
  error(message: string): void;
  progressFor(path: string): TransferProgress | undefined;
}

/** scp.c prepare_remote_path: undefined (after an error) when `~user` needs an extension the server lacks. */
function prepareRemotePath(sftp: SftpClient, path: string, options: ScpSftpOptions): string | undefined {
  if (path === '' || path === '~') return '.';
  if (!path.startsWith('~')) return path;
  if (path.startsWith('~/')) {
    const rest = path.slice(2).replace(/^\/+/, '');
    return rest === '' ? '.' : rest;
  }
  if (!sftp.supports(SFTP_EXTENSION.EXPAND_PATH, '1')) {
    options.error('server expand-path extension is required for ~user paths in SFTP mode');
    return undefined;
  }
  // ~user: the server resolves it; realpath is close enough when it does not expand.
  return path;
}

function transferFailed(error: unknown, options: ScpSftpOptions): void {
  if (!(error instanceof TransferError)) throw error;
  if (error.message && !(error instanceof TransferInterruptedError)) options.error(error.message);
}

/** source_sftp: one local path to the remote target. Returns false on failure. */
export async function sourceSftp(sftp: SftpClient, source: string, targetSpec: string, options: ScpSftpOptions): Promise<boolean> {
  let local;
  try {
    local = await stat(source);
  } catch (error) {
    options.error(`stat local "${source}": ${localErrorText(error)}`);
    throw new FatalScpError();
  }
  const target = prepareRemotePath(sftp, targetSpec, options);
  if (target === undefined) throw new FatalScpError();
  let targetIsDirectory = await remoteIsDirectory(sftp, target);
  if (options.targetShouldBeDirectory && !targetIsDirectory) {
    try {
      await sftp.mkdir(target, { permissions: (local.mode & 0o7777) | 0o700 });
    } catch (error) {
      if (!(error instanceof SftpStatusError)) throw error;
      options.error(`remote mkdir "${target}": ${error.message}`);
      throw new FatalScpError();
    }
    targetIsDirectory = true;
  }
  const destination = targetIsDirectory ? pathAppend(target, baseName(source)) : target;
  const common = { preserve: options.preserve, limitBytesPerSecond: options.limitBytesPerSecond, report: reportTo(options) };
  if (local.isDirectory() && options.recursive) {
    const ok = await uploadTree(sftp, source, destination, { ...common, followLinks: true, progressFor: options.progressFor });
    if (!ok) options.error(`failed to upload directory ${source} to ${targetSpec}`);
    return ok;
  }
  try {
    await fastPut(sftp, source, destination, { ...common, progress: options.progressFor(source) });
    return true;
  } catch (error) {
    transferFailed(error, options);
    options.error(`failed to upload file ${source} to ${targetSpec}`);
    return false;
  }
}

function reportTo(options: ScpSftpOptions) {
  return (level: 'error' | 'info' | 'print', message: string) => {
    if (level !== 'print') options.error(message);
  };
}

/** Globs a remote source as sink_sftp and throughlocal_sftp do; undefined after reporting an error. */
async function remoteSources(sftp: SftpClient, source: string, pattern: string, options: ScpSftpOptions) {
  let result;
  try {
    result = await glob(pattern, remoteFilesystem(sftp), { mark: true, noCheck: true });
  } catch (error) {
    if (!(error instanceof GlobTooManyError)) throw error;
    options.error(`${source}: too many glob matches`);
    return undefined;
  }
  if (result.matched === 0 && result.matches.length === 1) {
    const exists = await sftp.stat(result.matches[0]!.path).then(() => true, (error: unknown) => {
      if (!(error instanceof SftpStatusError)) throw error;
      return false;
    });
    if (!exists) {
      options.error(`${source}: No such file or directory`);
      return undefined;
    }
  }
  return result;
}

/** sink_sftp: one remote source (a pattern) to a local target. Returns false on failure. */
export async function sinkSftp(sftp: SftpClient, source: string, target: string, options: ScpSftpOptions): Promise<boolean> {
  const pattern = prepareRemotePath(sftp, source, options);
  if (pattern === undefined) return false;
  const result = await remoteSources(sftp, source, pattern, options);
  if (result === undefined) return false;
  const local = await stat(target).catch(() => undefined);
  let targetIsDirectory = local?.isDirectory() === true;
  if (result.matched > 1 && !targetIsDirectory) {
    if (local !== undefined) {
      options.error(`Multiple files match pattern, but destination "${target}" is not a directory`);
      return false;
    }
    try {
      await mkdir(target, 0o777);
    } catch (error) {
      options.error(`local mkdir "${target}": ${localErrorText(error)}`);
      return false;
    }
    targetIsDirectory = true;
  }
  let ok = true;
  for (const match of result.matches) {
    const destination = targetIsDirectory ? pathAppend(target, baseName(match.path)) : target;
    const common = { preserve: options.preserve, limitBytesPerSecond: options.limitBytesPerSecond, report: reportTo(options) };
    try {
      if (match.path.endsWith('/') && options.recursive) {
        if (!(await downloadTree(sftp, match.path, destination, { ...common, followLinks: true, progressFor: options.progressFor }))) ok = false;
      } else {
        await fastGet(sftp, match.path, destination, { ...common, progress: options.progressFor(match.path) });
      }
    } catch (error) {
      transferFailed(error, options);
      ok = false;
    }
  }
  return ok;
}

/** throughlocal_sftp: a remote source copied to another remote through this host (scp -3). */
export async function throughLocalSftp(from: SftpClient, to: SftpClient, source: string, targetSpec: string, options: ScpSftpOptions): Promise<boolean> {
  const pattern = prepareRemotePath(from, source, options);
  const target = prepareRemotePath(to, targetSpec, options);
  if (pattern === undefined || target === undefined) throw new FatalScpError();
  const targetIsDirectory = await remoteIsDirectory(to, target);
  if (!targetIsDirectory && options.targetShouldBeDirectory) {
    options.error(`${targetSpec}: destination is not a directory`);
    return false;
  }
  const result = await remoteSources(from, source, pattern, options);
  if (result === undefined) return false;
  let ok = true;
  for (const match of result.matches) {
    const destination = targetIsDirectory ? pathAppend(target, baseName(match.path)) : target;
    if (match.path.endsWith('/') && options.recursive) {
      if (!(await crossloadTree(from, to, match.path.replace(/\/$/, ''), destination, options, 0))) ok = false;
    } else if (!(await crossload(from, to, match.path, destination, undefined, options))) {
      ok = false;
    }
  }
  return ok;
}

/** do_crossload: one file from one server to the other, streamed with requests in flight on both. */
async function crossload(from: SftpClient, to: SftpClient, source: string, destination: string, known: SftpAttributes | undefined, options: ScpSftpOptions): Promise<boolean> {
  let attrs = known;
  try {
    attrs ??= await from.stat(source);
  } catch (error) {
    if (!(error instanceof SftpStatusError)) throw error;
    options.error(`stat remote: ${error.message}`);
    return false;
  }
  if (attrs.permissions !== undefined && !isRegularFile(attrs)) {
    options.error(`download "${source}": not a regular file`);
    return false;
  }
  const target: SftpAttributes = { permissions: (attrs.permissions ?? 0o666) & 0o777 };
  if (options.preserve && attrs.mtime !== undefined) Object.assign(target, { atime: attrs.atime, mtime: attrs.mtime });
  let position = 0;
  const progress = options.progressFor(source);
  progress?.start(attrs.size ?? 0, () => position);
  // do_crossload's messages say which side failed and at which step: the origin is opened first, then the
  // destination (not created when the origin cannot be read), then reads and writes.
  let step = `origin open "${source}"`;
  try {
    const reader = createReadStream(from, source);
    await ready(reader);
    step = `dest open "${destination}"`;
    const writer = createWriteStream(to, destination, { mode: target.permissions });
    await ready(writer).catch((error: unknown) => {
      reader.destroy();
      throw error;
    });
    reader.once('error', () => (step = `read origin "${source}"`));
    writer.once('error', () => (step = `write dest "${destination}"`));
    reader.on('data', (chunk: Buffer) => (position += chunk.length));
    await pipeline(reader, writer);
    if (options.preserve) await to.setstat(destination, target);
    return true;
  } catch (error) {
    if (!(error instanceof SftpStatusError)) throw error;
    options.error(`${step}: ${error.message}`);
    return false;
  } finally {
    progress?.stop();
  }
}

/**
 * Resolves once a stream from createReadStream / createWriteStream has its handle (its construct() is done;
 * an empty write waits for it), or rejects with the open's error.
 */
function ready(stream: Readable | Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream instanceof Writable) {
      stream.once('error', reject);
      stream.write(Buffer.alloc(0), (error) => (error ? reject(error) : (stream.off('error', reject), resolve())));
      return;
    }
    const onReadable = () => settle();
    const settle = (error?: Error) => {
      stream.off('readable', onReadable).off('error', settle);
      if (error) reject(error);
      else resolve();
    };
    stream.once('readable', onReadable).once('error', settle);
  });
}

async function crossloadTree(from: SftpClient, to: SftpClient, source: string, destination: string, options: ScpSftpOptions, depth: number): Promise<boolean> {
  if (depth >= 64) {
    options.error(`Maximum directory depth exceeded: ${depth} levels`);
    return false;
  }
  let entries;
  let attrs: SftpAttributes;
  try {
    attrs = await from.stat(source);
    await to.mkdir(destination, { permissions: ((attrs.permissions ?? 0o777) & 0o1777) | 0o700 }).catch(() => {});
    entries = await from.readdir(source);
  } catch (error) {
    if (!(error instanceof SftpStatusError)) throw error;
    options.error(`remote readdir "${source}" failed`);
    return false;
  }
  let ok = true;
  for (const entry of entries) {
    if (entry.filename === '.' || entry.filename === '..') continue;
    const from1 = pathAppend(source, entry.filename);
    const to1 = pathAppend(destination, entry.filename);
    if (isDirectory(entry.attrs)) {
      if (!(await crossloadTree(from, to, from1, to1, options, depth + 1))) ok = false;
    } else if (!(await crossload(from, to, from1, to1, isRegularFile(entry.attrs) ? entry.attrs : undefined, options))) {
      ok = false;
    }
  }
  // The directory's own mode, and with -p its times, once its contents are in (crossload_dir).
  const finished: SftpAttributes = { permissions: (attrs.permissions ?? 0o777) & 0o1777 };
  if (options.preserve && attrs.mtime !== undefined) Object.assign(finished, { atime: attrs.atime, mtime: attrs.mtime });
  await to.setstat(destination, finished).catch((error: unknown) => {
    if (!(error instanceof SftpStatusError)) throw error;
  });
  return ok;
}

/** scp stops altogether (cleanup_exit(255)) after some failures. */
export class FatalScpError extends Error {
  override readonly name = 'FatalScpError';
  constructor() {
    super('fatal');
  }
}
