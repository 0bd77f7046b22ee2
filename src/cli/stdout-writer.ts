/**
 * The client's standard output for a session's data (issue 17): asynchronous and back-pressured whatever
 * fd 1 is, and flushable before the process ends with _exit(2) (exit.ts), which drops whatever is queued.
 *
 * A pipe or socket is written by process.stdout itself: libuv keeps it non-blocking, writes what the pipe
 * takes at once and queues the rest until it drains, and pipe() stops reading the channel meanwhile. Channel
 * data goes to it with write(2) first, from where it was decrypted (connection/descriptor-writes.ts). (Thread-
 * pool writes, below, measured no better there: 3.8 vs 3.9 CPU s/GiB, the same wall time, on a quiet 2-core
 * machine; the kernel's copy into the pipe is paid either way.) A terminal or a file is different: Node
 * writes those synchronously, so a terminal that is slow to draw stops the whole client (keystrokes such as
 * ~. and ^C included). Those get a DescriptorWriter: writes run on libuv's thread pool, one at a time, each
 * taking everything queued meanwhile (writev), while the main thread goes on.
 *
 * Either way the queue is bounded by the stream's high-water mark: a channel piped into it stops being read,
 * and so stops granting window to the peer (RFC 4254 §5.2), while the reader lags.
 */
import { fstatSync, writev } from 'node:fs';
import { Writable } from 'node:stream';
import { drained } from './exit.ts';
import { widenPipe, widenSendBuffer } from '../crypto/fdpass.ts';

/**
 * The capacity asked for a pipe on the client's stdin or stdout: Linux's fs.pipe-max-size by default, up to
 * which an unprivileged process may go. Measured (1 GiB aes128-gcm, tether ssh -> sshd into `wc -c`):
 * 590 -> 760 MB/s, the client's CPU 0.96 -> 0.70 s/GiB, against the 64 KiB a shell's pipe has.
 */
export const CLIENT_PIPE_CAPACITY = 1024 * 1024;
/**
 * The send buffer asked for a socket on stdout (a socketpair, as Node's child_process makes): 4 MiB, capped
 * by net.core.wmem_max. Measured as above: 636-668 -> 788-814 MB/s, the client 0.79-0.86 -> 0.61-0.66 s/GiB.
 */
const STDOUT_SEND_BUFFER = 4 * 1024 * 1024;

/** Bytes queued before write() returns false: a few packets' worth, so a write always has a batch ready. */
const HIGH_WATER = 256 * 1024;
/** Buffers per writev(2): Linux's IOV_MAX is 1024. */
const MAX_BUFFERS = 1024;
/** How long to wait before retrying a write that a non-blocking descriptor refused (EAGAIN). */
const RETRY_MS = 2;

/** Writes to a file descriptor from the thread pool, in order, never more than one write at a time. */
export class DescriptorWriter extends Writable {
  readonly fd: number;

  constructor(fd: number, highWaterMark = HIGH_WATER) {
    // The descriptor is not ours to close: stdout outlives the stream.
    super({ highWaterMark, autoDestroy: true, emitClose: true });
    this.fd = fd;
  }

  /**
   * Writes made in one turn of the event loop (the packets of one batch of socket reads) are held until it
   * ends and leave in one writev: a thread-pool round trip per 32 KiB packet would cost more CPU than the
   * write itself.
   */
  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    if (!this.batching && !this.destroyed) {
      this.batching = true;
      this.cork();
      setImmediate(() => {
        this.batching = false;
        this.uncork();
      });
    }
    return super.write(chunk, encoding as BufferEncoding, callback as (error?: Error | null) => void);
  }

  private batching = false;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeAll([chunk], callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.writeAll(
      chunks.map((entry) => entry.chunk),
      callback,
    );
  }

  /** Writes every byte of `buffers`, continuing after partial writes (terminals, signals, full pipes). */
  private writeAll(buffers: Buffer[], callback: (error?: Error | null) => void): void {
    let pending = buffers.filter((buffer) => buffer.length > 0);
    const next = (): void => {
      if (pending.length === 0) return callback();
      const batch = pending.length > MAX_BUFFERS ? pending.slice(0, MAX_BUFFERS) : pending;
      writev(this.fd, batch, (error, written) => {
        if (error) {
          if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return void setTimeout(next, RETRY_MS);
          return callback(error);
        }
        pending = skipWritten(pending, written);
        next();
      });
    };
    next();
  }

  /** Resolves once everything written so far has reached the descriptor, or the stream has failed. */
  flushed(): Promise<void> {
    if (this.destroyed || this.writableFinished) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.off('error', done);
        this.off('close', done);
        resolve();
      };
      this.once('error', done);
      this.once('close', done);
      // The callback of an empty write runs after every write queued before it.
      this.write(Buffer.alloc(0), done);
    });
  }
}

/** What remains of `buffers` once their first `written` bytes are gone. */
function skipWritten(buffers: Buffer[], written: number): Buffer[] {
  let index = 0;
  let remaining = written;
  while (index < buffers.length && remaining >= buffers[index]!.length) remaining -= buffers[index++]!.length;
  const rest = buffers.slice(index);
  if (remaining > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(remaining);
  return rest;
}

interface BlockingHandle {
  setBlocking?(blocking: boolean): number;
}

/** Where a session's output goes, and how to wait until all of it has left the process. */
export interface StdoutSink {
  stream: Writable;
  flushed(): Promise<void>;
}

/** process.stdout for a pipe or socket on fd 1, a DescriptorWriter on fd 1 for anything else (see above). */
export function createStdoutSink(): StdoutSink {
  let pipe = false;
  try {
    const stat = fstatSync(1);
    pipe = stat.isFIFO() || stat.isSocket();
    if (stat.isFIFO()) widenPipe(1, CLIENT_PIPE_CAPACITY);
    else if (stat.isSocket()) widenSendBuffer(1, STDOUT_SEND_BUFFER);
  } catch {
    // A closed fd 1: the writer reports EBADF on its first write, as process.stdout would.
  }
  if (pipe) return { stream: process.stdout, flushed: () => drained(process.stdout) };
  // Terminals are blocking already (Node sets them so); this covers a descriptor inherited non-blocking.
  (process.stdout as unknown as { _handle?: BlockingHandle })._handle?.setBlocking?.(true);
  const writer = new DescriptorWriter(1);
  return { stream: writer, flushed: () => writer.flushed() };
}
