/**
 * Remote files as Node streams. A read stream keeps several READs in flight and hands data on in file
 * order; a write stream sends each chunk as a WRITE at its offset and keeps several unanswered, calling
 * back once the window of outstanding writes has room (so a fast producer is held back, not buffered).
 */
import { Readable, Writable } from 'node:stream';
import { SSH_FXF } from '../protocol.ts';
import type { SftpClient } from './sftp-client.ts';

export interface ReadStreamOptions {
  /** Where to start (resume), in bytes. */
  start?: number;
  /** Last byte to read, inclusive, as fs.createReadStream counts it. */
  end?: number;
  /** READs in flight; the client's maxRequests unless told. */
  concurrency?: number;
}

export function createReadStream(client: SftpClient, path: string, options: ReadStreamOptions = {}): Readable {
  let handle: Buffer | undefined;
  let next = options.start ?? 0;
  const stop = options.end === undefined ? Infinity : options.end + 1;
  const concurrency = Math.max(1, options.concurrency ?? client.maxRequests);
  // Replies are delivered in offset order whatever order they come back in.
  const queue: Promise<Buffer | undefined>[] = [];
  let finished = false;
  const fill = () => {
    while (!finished && queue.length < concurrency && next < stop) {
      const length = Math.min(client.readSize, stop - next);
      queue.push(readFully(client, handle!, next, length));
      next += length;
    }
  };
  return new Readable({
    async construct(callback) {
      try {
        handle = await client.open(path, SSH_FXF.READ);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    async read() {
      fill();
      const head = queue.shift();
      if (head === undefined) {
        this.push(null);
        return;
      }
      try {
        const data = await head;
        if (data === undefined || data.length === 0) {
          finished = true;
          queue.length = 0;
          this.push(null);
          return;
        }
        this.push(data);
      } catch (error) {
        this.destroy(error as Error);
      }
    },
    destroy(error, callback) {
      finished = true;
      for (const pending of queue) pending.catch(() => {});
      queue.length = 0;
      if (handle === undefined) return callback(error);
      client.close(handle).then(() => callback(error), () => callback(error));
    },
  });
}

/** One range read in full: a short reply is followed by a READ for the rest, until EOF. */
async function readFully(client: SftpClient, handle: Buffer, offset: number, length: number): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let done = 0;
  while (done < length) {
    const data = await client.read(handle, offset + done, length - done);
    if (data === undefined || data.length === 0) break;
    parts.push(data);
    done += data.length;
  }
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : Buffer.concat(parts, done);
}

export interface WriteStreamOptions {
  /** Offset of the first byte written; with `append`, the file is opened in append mode too. */
  start?: number;
  append?: boolean;
  /** Permissions of a file the stream creates (the server applies its umask). */
  mode?: number;
  concurrency?: number;
}

export function createWriteStream(client: SftpClient, path: string, options: WriteStreamOptions = {}): Writable {
  let handle: Buffer | undefined;
  let offset = options.start ?? 0;
  const concurrency = Math.max(1, options.concurrency ?? client.maxRequests);
  const inFlight = new Set<Promise<void>>();
  let failure: Error | undefined;
  const send = (chunk: Buffer) => {
    for (let at = 0; at < chunk.length; at += client.writeSize) {
      const piece = chunk.subarray(at, at + client.writeSize);
      const write = client.write(handle!, offset, piece).catch((error: Error) => {
        failure ??= error;
      });
      offset += piece.length;
      inFlight.add(write);
      void write.finally(() => inFlight.delete(write));
    }
  };
  const drainTo = async (limit: number) => {
    while (inFlight.size > limit) await Promise.race(inFlight);
    if (failure) throw failure;
  };
  return new Writable({
    async construct(callback) {
      try {
        const pflags = SSH_FXF.WRITE | SSH_FXF.CREAT | (options.append ? SSH_FXF.APPEND : options.start ? 0 : SSH_FXF.TRUNC);
        handle = await client.open(path, pflags, options.mode === undefined ? {} : { permissions: options.mode });
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    async write(chunk: Buffer, _encoding, callback) {
      try {
        send(chunk);
        await drainTo(concurrency - 1);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    async final(callback) {
      try {
        await drainTo(0);
        await client.close(handle!);
        handle = undefined;
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    destroy(error, callback) {
      if (handle === undefined) return callback(error);
      client.close(handle).then(() => callback(error), () => callback(error));
    },
  });
}
