/**
 * One file each way with many requests in flight, as OpenSSH's sftp-client.c moves files (do_download,
 * do_upload): downloads start with one READ and add one per reply up to the client's limit, re-ask for the
 * rest of a short read and shrink their request size to it; uploads keep that many WRITEs unanswered.
 * Resume continues from the local file's size (get) or the remote one's (put, in append mode); after an
 * error or an interruption a file is cut back to the last byte known to be contiguous, so a resume never
 * leaves a hole. Failures are TransferError, worded as OpenSSH's messages.
 */
import { constants } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { SftpStatusError, SSH_FXF, SFTP_EXTENSION, writeDataOffset, type SftpAttributes } from '../protocol.ts';
import type { SftpClient } from './sftp-client.ts';
import { isRegularFile } from './file-type.ts';
import { localErrorText } from './local-errors.ts';
import { RateLimiter } from './rate-limiter.ts';

/** A transfer failed; the message is what OpenSSH prints for it. */
export class TransferError extends Error {
  override readonly name: string = 'TransferError';
}

/** The transfer was stopped by its AbortSignal (sftp's Ctrl-C); the partial file is kept, cut to what is whole. */
export class TransferInterruptedError extends TransferError {
  override readonly name = 'TransferInterruptedError';
  constructor() {
    super('Interrupted');
  }
}

export interface TransferProgress {
  /** Called when the transfer starts; `position` reads how many bytes of the file are done (resumed ones too). */
  start(size: number, position: () => number): void;
  stop(): void;
}

export interface TransferOptions {
  /** Continue a partial copy (sftp reget/reput, -a). */
  resume?: boolean;
  /** Copy permissions and times (sftp -p). */
  preserve?: boolean;
  /** fsync the copy when done (sftp -f). */
  fsync?: boolean;
  /** The remote file's attributes when already known (from readdir), saving a stat. */
  attrs?: SftpAttributes;
  progress?: TransferProgress;
  /** Bandwidth limit in bytes per second (sftp -l, scp -l). */
  limitBytesPerSecond?: number;
  signal?: AbortSignal;
  /** Messages that do not fail the transfer (a chmod that did not take), as OpenSSH reports them. */
  report?: (level: 'error' | 'info', message: string) => void;
}

/** The smallest READ we shrink to after short replies (sftp-client.c MIN_READ_SIZE). */
const MIN_READ_SIZE = 512;

/** Replies of requests in flight, taken in the order they arrive. */
class Completions<T> {
  private readonly items: T[] = [];
  private waiter: ((item: T) => void) | undefined;

  push(item: T): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) waiter(item);
    else this.items.push(item);
  }

  next(): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift()!);
    return new Promise((resolve) => (this.waiter = resolve));
  }
}

/** An SftpStatusError becomes a TransferError with OpenSSH's prefix; connection failures pass through. */
function worded(prefix: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof SftpStatusError) throw new TransferError(`${prefix}: ${error.message}`);
    throw error;
  };
}

/** Downloads `remotePath` to `localPath` (sftp-client.c do_download). */
export async function fastGet(client: SftpClient, remotePath: string, localPath: string, options: TransferOptions = {}): Promise<void> {
  const report = options.report ?? (() => {});
  const attrs = options.attrs ?? (await client.stat(remotePath).catch(worded('stat remote')));
  // Set-id bits are not kept: ownership is not.
  const mode = attrs.permissions !== undefined ? attrs.permissions & 0o777 : 0o666;
  if (attrs.permissions !== undefined && !isRegularFile(attrs)) throw new TransferError(`download ${remotePath}: not a regular file`);
  const size = attrs.size ?? 0;
  const handle = await client.open(remotePath, SSH_FXF.READ).catch(worded(`remote open "${remotePath}"`));
  const closeRemote = () => client.close(handle).then(() => true, (error: unknown) => {
    if (!(error instanceof SftpStatusError)) throw error;
    report('error', `close remote: ${error.message}`);
    return false;
  });
  let file: FileHandle;
  try {
    file = await openFile(localPath, constants.O_WRONLY | constants.O_CREAT | (options.resume ? 0 : constants.O_TRUNC), mode | 0o200);
  } catch (error) {
    await closeRemote();
    throw new TransferError(`open local "${localPath}": ${localErrorText(error)}`);
  }
  try {
    let offset = 0;
    if (options.resume) {
      const local = await file.stat();
      if (local.size > size) {
        await closeRemote();
        throw new TransferError(`Unable to resume download of "${localPath}": local file is larger than remote`);
      }
      offset = local.size;
    }
    let highwater = offset;
    let position = offset;
    let requestSize = client.readSize;
    let maxRequests = 1;
    let inFlight = 0;
    let readError: SftpStatusError | undefined;
    let writeError: unknown;
    let connectionError: unknown;
    let reordered = false;
    let modified = false;
    const limiter = options.limitBytesPerSecond ? new RateLimiter(options.limitBytesPerSecond) : undefined;
    const completions = new Completions<{ offset: number; length: number; data?: Buffer; error?: unknown }>();
    const request = (at: number, length: number) => {
      inFlight++;
      client.read(handle, at, length).then(
        (data) => completions.push({ offset: at, length, data: data ?? Buffer.alloc(0) }),
        (error: unknown) => completions.push({ offset: at, length, error }),
      );
    };
    if (size !== 0) options.progress?.start(size, () => position);
    try {
      while (inFlight > 0 || maxRequests > 0) {
        // An interruption stops new requests and lets those in flight drain, as EOF would.
        if (options.signal?.aborted) {
          if (inFlight === 0) break;
          maxRequests = 0;
        }
        while (inFlight < maxRequests) {
          request(offset, requestSize);
          offset += requestSize;
        }
        const reply = await completions.next();
        inFlight--;
        if (reply.error !== undefined) {
          if (reply.error instanceof SftpStatusError) readError ??= reply.error;
          else connectionError ??= reply.error;
          maxRequests = 0;
          continue;
        }
        const data = reply.data!;
        if (data.length === 0) {
          maxRequests = 0;  // end of file
          continue;
        }
        modified = true;
        if (writeError === undefined) {
          try {
            await file.write(data, 0, data.length, reply.offset);
            if (!reordered && reply.offset <= highwater) highwater = reply.offset + data.length;
            else if (!reordered && reply.offset > highwater) reordered = true;
          } catch (error) {
            writeError = error;
            maxRequests = 0;
          }
        }
        position += data.length;
        if (data.length < reply.length) {
          // Ask again for what the short reply left out, and ask for less from now on.
          request(reply.offset + data.length, reply.length - data.length);
          if (data.length < requestSize) requestSize = Math.max(MIN_READ_SIZE, data.length);
        }
        // Nothing holds the reply any more: its buffer carries a later one.
        client.recycle(data);
        if (maxRequests > 0) {
          // Past the expected end, one request at a time until EOF.
          if (size > 0 && offset > size) maxRequests = 1;
          else if (maxRequests < client.maxRequests) maxRequests++;
        }
        // Draining after an interruption is not held back by the limit.
        if (!options.signal?.aborted) await limiter?.consume(data.length);
      }
    } finally {
      if (size !== 0) options.progress?.stop();
      client.transferDone();
    }
    if (connectionError !== undefined) throw connectionError;
    const interrupted = options.signal?.aborted === true;
    if (readError || writeError !== undefined || interrupted) {
      if (reordered && options.resume) report('error', `Unable to resume download of "${localPath}": server reordered requests`);
      try {
        await file.truncate(highwater);
      } catch (error) {
        report('error', `local ftruncate "${localPath}": ${localErrorText(error)}`);
      }
    }
    if (readError) {
      await closeRemote();
      throw new TransferError(`read remote "${remotePath}" : ${readError.message}`);
    }
    if (writeError !== undefined) {
      await closeRemote();
      throw new TransferError(`write local "${localPath}": ${localErrorText(writeError)}`);
    }
    const closedCleanly = await closeRemote();
    if (interrupted) throw new TransferInterruptedError();
    if (options.preserve) {
      await file.chmod(mode).catch((error: unknown) => report('error', `local chmod "${localPath}": ${localErrorText(error)}`));
      if (attrs.atime !== undefined && attrs.mtime !== undefined) {
        await file.utimes(attrs.atime, attrs.mtime).catch((error: unknown) => report('error', `local set times "${localPath}": ${localErrorText(error)}`));
      }
    }
    if (options.resume && !modified) report('info', `File "${localPath}" was not modified`);
    else if (options.fsync) await file.sync().catch((error: unknown) => report('error', `local sync "${localPath}": ${localErrorText(error)}`));
    if (!closedCleanly) throw new TransferError('');
  } finally {
    await file.close().catch(() => {});
  }
}

/** Uploads `localPath` to `remotePath` (sftp-client.c do_upload). */
export async function fastPut(client: SftpClient, localPath: string, remotePath: string, options: TransferOptions = {}): Promise<void> {
  const report = options.report ?? (() => {});
  let file: FileHandle;
  try {
    file = await openFile(localPath, constants.O_RDONLY);
  } catch (error) {
    throw new TransferError(`open local "${localPath}": ${localErrorText(error)}`);
  }
  try {
    let local;
    try {
      local = await file.stat();
    } catch (error) {
      throw new TransferError(`fstat local "${localPath}": ${localErrorText(error)}`);
    }
    if (!local.isFile()) throw new TransferError(`local "${localPath}" is not a regular file`);
    const attrs: SftpAttributes = { permissions: local.mode & 0o777 };
    if (options.preserve) {
      attrs.atime = Math.floor(local.atimeMs / 1000);
      attrs.mtime = Math.floor(local.mtimeMs / 1000);
    }
    let offset = 0;
    if (options.resume) {
      const remote = await client.stat(remotePath).catch(worded('stat remote'));
      if ((remote.size ?? 0) >= local.size) throw new TransferError(`resume "${localPath}": destination file same size or larger`);
      offset = remote.size ?? 0;
    }
    const pflags = SSH_FXF.WRITE | SSH_FXF.CREAT | (options.resume ? SSH_FXF.APPEND : SSH_FXF.TRUNC);
    const handle = await client.open(remotePath, pflags, attrs).catch(worded(`dest open "${remotePath}"`));
    const dataOffset = writeDataOffset(handle);
    let position = offset;
    let highwater = offset;
    let reordered = false;
    let inFlight = 0;
    let endOfFile = false;
    let writeError: SftpStatusError | undefined;
    let connectionError: unknown;
    let readError: unknown;
    const limiter = options.limitBytesPerSecond ? new RateLimiter(options.limitBytesPerSecond) : undefined;
    const completions = new Completions<{ offset: number; length: number; error?: unknown }>();
    options.progress?.start(local.size, () => position);
    try {
      for (;;) {
        const stopping = endOfFile || writeError !== undefined || connectionError !== undefined || readError !== undefined || options.signal?.aborted;
        if (!stopping && inFlight < client.maxRequests) {
          // The file is read straight into the WRITE packet, after room for its header: no copy of the data.
          const packet = client.writeBuffer(handle, client.writeSize);
          let bytesRead = 0;
          try {
            ({ bytesRead } = await file.read(packet, dataOffset, client.writeSize, offset));
          } catch (error) {
            client.recycle(packet);
            readError = error;
            continue;
          }
          if (bytesRead === 0) {
            client.recycle(packet);
            endOfFile = true;
            continue;
          }
          const at = offset;
          inFlight++;
          client.writePacket(handle, at, packet, bytesRead).then(
            () => completions.push({ offset: at, length: bytesRead }),
            (error: unknown) => completions.push({ offset: at, length: bytesRead, error }),
          );
          offset += bytesRead;
          await limiter?.consume(bytesRead);
          continue;
        }
        if (inFlight === 0) break;
        const ack = await completions.next();
        inFlight--;
        if (ack.error !== undefined) {
          if (ack.error instanceof SftpStatusError) writeError ??= ack.error;
          else connectionError ??= ack.error;
          continue;
        }
        position += ack.length;
        if (!reordered && ack.offset <= highwater) highwater = ack.offset + ack.length;
        else if (!reordered && ack.offset > highwater) reordered = true;
      }
    } finally {
      options.progress?.stop();
      client.transferDone();
    }
    if (connectionError !== undefined) throw connectionError;
    const interrupted = options.signal?.aborted === true;
    const failures: string[] = [];
    if (readError !== undefined) failures.push(`read local "${localPath}": ${localErrorText(readError)}`);
    if (writeError) failures.push(`write remote "${remotePath}": ${writeError.message}`);
    const failed = failures.length > 0;
    // A resumed upload that stopped early is cut back to what arrived whole, so the next reput can continue.
    if (options.resume && (failed || interrupted)) await client.fsetstat(handle, { size: highwater }).catch(() => {});
    if (options.preserve) {
      await client.fsetstat(handle, attrs).catch((error: unknown) => {
        if (!(error instanceof SftpStatusError)) throw error;
        report('error', `remote fsetstat: ${error.message}`);
      });
    }
    if (options.fsync && client.supports(SFTP_EXTENSION.FSYNC, '1')) {
      await client.fsync(handle).catch((error: unknown) => {
        if (!(error instanceof SftpStatusError)) throw error;
        report('error', `remote fsync: ${error.message}`);
      });
    }
    let closeFailed = false;
    await client.close(handle).catch((error: unknown) => {
      if (!(error instanceof SftpStatusError)) throw error;
      report('error', `close remote: ${error.message}`);
      closeFailed = true;
    });
    if (failed) throw new TransferError(failures.join('\n'));
    if (interrupted) throw new TransferInterruptedError();
    if (closeFailed) throw new TransferError('');
  } finally {
    await file.close().catch(() => {});
  }
}
