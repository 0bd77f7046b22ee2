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
import type { Readable, Writable } from 'node:stream';
import { readsOnStart, SHARED_READ_SIZE, type BorrowedReads, type SocketOnRead } from '../transport/socket-reads.ts';
import { fdPassIfBuilt } from '../crypto/fdpass.ts';

/** Asked of the kernel (F_SETPIPE_SZ); an unprivileged process may go up to /proc/sys/fs/pipe-max-size (1 MiB). */
const PIPE_CAPACITY = 256 * 1024;
/** The most one read of a program's output brings (held-session.ts keeps this much room in its log). */
export const OUTPUT_READ_SIZE = SHARED_READ_SIZE;

/** Our end and the program's end of one pipe; the program's goes once it has its copy. */
abstract class ProgramPipe {
  protected ourEnd: number;
  private programEnd: number;
  protected socket: Socket | undefined;

  protected constructor(ourEnd: number, programEnd: number) {
    this.ourEnd = ourEnd;
    this.programEnd = programEnd;
  }

  /** The end spawn(2) gives the program. */
  get childEnd(): number {
    return this.programEnd;
  }

  /** The program has its copy: ours goes, so its exit is our end of file (or EPIPE). */
  spawned(): void {
    closeSync(this.programEnd);
    this.programEnd = -1;
  }

  destroy(): void {
    if (this.programEnd >= 0) this.spawned();
    if (this.socket) this.socket.destroy();
    else if (this.ourEnd >= 0) {
      closeSync(this.ourEnd);
      this.ourEnd = -1;
      this.closedUnread();
    }
  }

  /** Our end closed before anything was made of it. */
  protected closedUnread(): void {}

  /** [read end, write end], or undefined without the addon. Throws (EMFILE, ENFILE) when no pipe can be made. */
  protected static makePipe(): [number, number] | undefined {
    return fdPassIfBuilt()?.pipe(PIPE_CAPACITY);
  }
}

/** The program's stdout: it writes the pipe, we read its other end. */
export class OutputPipe extends ProgramPipe {
  static open(): OutputPipe | undefined {
    const ends = ProgramPipe.makePipe();
    return ends && new OutputPipe(ends[0], ends[1]);
  }

  /** Resolves once the read end is closed: the output ended or was abandoned. */
  readonly closed: Promise<void>;
  private markClosed!: () => void;

  private constructor(readEnd: number, writeEnd: number) {
    super(readEnd, writeEnd);
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
  }

  /** The output as a plain stream, for consumers that keep what they read. */
  get stream(): Readable {
    return this.socket ?? this.read(undefined);
  }

  readonly borrowed: BorrowedReads = readsOnStart((onread) => this.read(onread));

  protected override closedUnread(): void {
    this.markClosed();
  }

  private read(onread: SocketOnRead | undefined): Socket {
    if (this.socket || this.ourEnd < 0) throw new Error('the output pipe is already being read');
    const socket = new Socket({ fd: this.ourEnd, readable: true, writable: false, ...(onread ? { onread } : {}) });
    this.ourEnd = -1;
    this.socket = socket;
    socket.on('error', () => {});
    socket.once('close', () => this.markClosed());
    return socket;
  }
}

/** The program's stdin: it reads the pipe, we write its other end. */
export class InputPipe extends ProgramPipe {
  static open(): InputPipe | undefined {
    const ends = ProgramPipe.makePipe();
    return ends && new InputPipe(ends[1], ends[0]);
  }

  /** Ending it closes the pipe: the program reads end of file. */
  get stream(): Writable {
    if (!this.socket) {
      this.socket = new Socket({ fd: this.ourEnd, readable: false, writable: true });
      this.ourEnd = -1;
    }
    return this.socket;
  }
}
