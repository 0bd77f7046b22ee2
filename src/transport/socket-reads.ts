/**
 * Reads that land in one buffer the reader reuses (a net.Socket's onread), each taken (sent on, decoded or
 * copied) before the next read overwrites it (issue 17): bulk input then costs no allocation per read. The
 * transport reads its own socket this way when the socket was made with SocketReads, and channels send from
 * sockets and pipes this way (connection/borrowed-reads.ts).
 */
import type { Socket } from 'node:net';

export interface BorrowedReads {
  /**
   * Starts reading: `take` sees each read and must send or copy the bytes before it returns; false stops
   * reading until resume(). `end` runs once, at the end of the input or when it fails. `room`, when given,
   * says how much the consumer can send at once: reads are made no larger, so that they need no copy.
   */
  start(take: (bytes: Buffer) => boolean, end: () => void, room?: () => number): void;
  pause(): void;
  resume(): void;
}

/**
 * One read buffer for every borrowing reader in the process: a read is taken (sent or copied) before its
 * callback returns, and libuv reads one handle at a time, so no two reads ever need it at once. A buffer per
 * socket would cost its size for every idle forward or session.
 */
export const SHARED_READ_SIZE = 128 * 1024;
let sharedBuffer: Buffer | undefined;

export function sharedReadBuffer(): Buffer {
  sharedBuffer ??= Buffer.allocUnsafeSlow(SHARED_READ_SIZE);
  return sharedBuffer;
}

/**
 * The onread option of net.Socket and net.connect: each read goes into what `buffer` returns (asked again
 * after every read); false from `callback` pauses.
 */
export interface SocketOnRead {
  buffer: () => Buffer;
  callback: (length: number, buffer: Buffer) => boolean;
}

/**
 * The shared buffer cut to `room()` bytes. With no room the reader is about to pause, and it resumes when
 * there is room again (a window adjust, a drained transport): the whole buffer then.
 */
function readInto(room: (() => number) | undefined): () => Buffer {
  return () => {
    const buffer = sharedReadBuffer();
    const bytes = room?.() ?? buffer.length;
    return bytes > 0 && bytes < buffer.length ? buffer.subarray(0, bytes) : buffer;
  };
}

/** Runs `end` once, at the socket's end of input or its close (which alone comes when it failed first). */
export function whenEnded(socket: Socket, end: () => void): void {
  let ended = false;
  const finish = () => {
    if (ended) return;
    ended = true;
    end();
  };
  socket.once('end', finish);
  socket.once('close', finish);
}

/** Reads from a socket that `open` makes, with the onread option it is given, once reading starts. */
export function readsOnStart(open: (onread: SocketOnRead) => Socket): BorrowedReads {
  let socket: Socket | undefined;
  return {
    start(take, end, room) {
      socket = open({ buffer: readInto(room), callback: (length, buffer) => take(buffer.subarray(0, length)) });
      whenEnded(socket, end);
    },
    pause: () => socket?.pause(),
    resume: () => socket?.resume(),
  };
}

/** The SocketReads each socket was made with, so that whoever reads the socket later finds them. */
const readsOfSocket = new WeakMap<Socket, SocketReads>();

/**
 * The onread option of a socket (net.connect) that is read later: by bridge(), joined to a channel, or by the
 * transport that runs over it. Reads land in one reused buffer; until start() the socket may already be read
 * (a server that speaks first), so that read is copied and reading waits. Such a socket emits no 'data'.
 */
export class SocketReads implements BorrowedReads {
  /** The reads `socket` was made with, if it was made with SocketReads' onread. */
  static of(socket: unknown): SocketReads | undefined {
    return readsOfSocket.get(socket as Socket);
  }

  readonly onread: SocketOnRead = { buffer: readInto(() => this.room?.() ?? SHARED_READ_SIZE), callback: (length, buffer) => this.received(buffer.subarray(0, length)) };
  private room: (() => number) | undefined;
  private socket: Socket | undefined;
  private take: ((bytes: Buffer) => boolean) | undefined;
  private readonly early: Buffer[] = [];
  private ended = false;
  private onEnd: (() => void) | undefined;

  /** The socket made with `onread`, as soon as it exists. */
  bind(socket: Socket): Socket {
    this.socket = socket;
    readsOfSocket.set(socket, this);
    whenEnded(socket, () => {
      this.ended = true;
      this.onEnd?.();
    });
    return socket;
  }

  start(take: (bytes: Buffer) => boolean, end: () => void, room?: () => number): void {
    this.room = room;
    let keepReading = true;
    for (const chunk of this.early.splice(0)) keepReading = take(chunk) && keepReading;
    this.take = take;
    this.onEnd = end;
    if (this.ended) end();
    else if (keepReading) this.socket?.resume();
  }

  pause(): void {
    this.socket?.pause();
  }

  resume(): void {
    this.socket?.resume();
  }

  private received(bytes: Buffer): boolean {
    if (this.take) return this.take(bytes);
    this.early.push(Buffer.from(bytes));
    return false;
  }
}
