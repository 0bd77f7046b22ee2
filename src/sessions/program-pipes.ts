/**
 * A session program's stdin and stdout on pipe(2)s of our own (native/fdpass) rather than Node's child pipes,
 * which are Unix socketpairs (issue 17). Its output is read into one buffer reused for every read: Node reads
 * a socketpair into a new ArrayBuffer each time, and at bulk rates those buffers were most of the server's
 * garbage collection. A pipe also takes a write for less than a socket does. Both get a larger capacity, so
 * the program writes on while the server seals (and the server writes on while the program reads), and reads
 * come back fuller: fewer, larger packets. Without the addon (no compiler at install time) callers keep
 * Node's pipes.
 */
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { BorrowedReads } from '../connection/borrowed-reads.ts';
import { findNativeAddon, requireNativeAddon } from '../crypto/native-addon.ts';

/** Asked of the kernel (F_SETPIPE_SZ); an unprivileged process may go up to /proc/sys/fs/pipe-max-size (1 MiB). */
const PIPE_CAPACITY = 256 * 1024;
const READ_BUFFER_SIZE = 128 * 1024;

interface PipeAddon {
  /** [read end, write end], both close-on-exec and blocking (libuv makes the end it opens non-blocking). */
  pipe(capacity: number): [number, number];
}

let addon: PipeAddon | null | undefined;

function pipeAddon(): PipeAddon | null {
  if (addon === undefined) {
    const path = findNativeAddon('fdpass', 'fdpass.node', dirname(fileURLToPath(import.meta.url)));
    addon = path ? requireNativeAddon<PipeAddon>(path) : null;
  }
  return addon;
}

export class OutputPipe {
  /** A pipe, or undefined when the addon is not built. Throws (EMFILE, ENFILE) when no pipe can be made. */
  static open(): OutputPipe | undefined {
    const native = pipeAddon();
    if (!native) return undefined;
    const [readEnd, writeEnd] = native.pipe(PIPE_CAPACITY);
    return new OutputPipe(readEnd, writeEnd);
  }

  /** Resolves once the read end is closed: the output ended or was abandoned. */
  readonly closed: Promise<void>;
  private markClosed!: () => void;
  private socket: Socket | undefined;
  private readEnd: number;
  private writeEnd: number;

  private constructor(readEnd: number, writeEnd: number) {
    this.readEnd = readEnd;
    this.writeEnd = writeEnd;
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
  }

  /** The end spawn(2) gives the program as its stdout. */
  get childEnd(): number {
    return this.writeEnd;
  }

  /** The program has its copy of the write end: ours goes, so its exit is our end of file. */
  spawned(): void {
    closeSync(this.writeEnd);
    this.writeEnd = -1;
  }

  /** The output as a plain stream, for consumers that keep what they read. */
  get stream(): Readable {
    return this.socket ?? this.open(undefined);
  }

  readonly borrowed: BorrowedReads = {
    start: (take, end) => {
      const socket = this.open({ buffer: Buffer.allocUnsafe(READ_BUFFER_SIZE), callback: (length, buffer) => take(buffer.subarray(0, length)) });
      // 'close' alone when the pipe failed or was destroyed before its end.
      let ended = false;
      const finish = () => {
        if (ended) return;
        ended = true;
        end();
      };
      socket.once('end', finish);
      socket.once('close', finish);
    },
    pause: () => this.socket?.pause(),
    resume: () => this.socket?.resume(),
  };

  /** Nothing more is read: the program meets EPIPE on its next write. */
  destroy(): void {
    if (this.writeEnd >= 0) this.spawned();
    if (this.socket) this.socket.destroy();
    else if (this.readEnd >= 0) {
      closeSync(this.readEnd);
      this.readEnd = -1;
      this.markClosed();
    }
  }

  private open(onread: { buffer: Buffer; callback: (length: number, buffer: Buffer) => boolean } | undefined): Socket {
    if (this.socket || this.readEnd < 0) throw new Error('the output pipe is already being read');
    const socket = new Socket({ fd: this.readEnd, readable: true, writable: false, ...(onread ? { onread } : {}) });
    this.readEnd = -1;
    this.socket = socket;
    socket.on('error', () => {});
    socket.once('close', () => this.markClosed());
    return socket;
  }
}

/** The program's stdin: it reads the pipe, we write its other end. */
export class InputPipe {
  /** A pipe, or undefined when the addon is not built. Throws (EMFILE, ENFILE) when no pipe can be made. */
  static open(): InputPipe | undefined {
    const native = pipeAddon();
    if (!native) return undefined;
    const [readEnd, writeEnd] = native.pipe(PIPE_CAPACITY);
    return new InputPipe(readEnd, writeEnd);
  }

  private readEnd: number;
  private writeEnd: number;
  private socket: Socket | undefined;

  private constructor(readEnd: number, writeEnd: number) {
    this.readEnd = readEnd;
    this.writeEnd = writeEnd;
  }

  /** The end spawn(2) gives the program as its stdin. */
  get childEnd(): number {
    return this.readEnd;
  }

  /** The program has its copy of the read end; ours goes, so that its exit makes our writes fail (EPIPE). */
  spawned(): void {
    closeSync(this.readEnd);
    this.readEnd = -1;
  }

  /** Ending it closes the pipe: the program reads end of file. */
  get stream(): Writable {
    if (!this.socket) {
      this.socket = new Socket({ fd: this.writeEnd, readable: false, writable: true });
      this.writeEnd = -1;
    }
    return this.socket;
  }

  destroy(): void {
    if (this.readEnd >= 0) this.spawned();
    if (this.socket) this.socket.destroy();
    else if (this.writeEnd >= 0) {
      closeSync(this.writeEnd);
      this.writeEnd = -1;
    }
  }
}
