/**
 * Reads that land in one buffer the reader reuses (a net.Socket's onread), sent into a channel before the
 * next read overwrites them (issue 17): bulk data then costs no allocation per read. Channel.sendBorrowed
 * copies only what window or transport make wait, and reading pauses until that has gone.
 */
import type { Socket } from 'node:net';
import type { Channel } from './channel.ts';

export interface BorrowedReads {
  /**
   * Starts reading: `take` sees each read and must send or copy the bytes before it returns; false stops
   * reading until resume(). `end` runs once, at the end of the input or when it fails.
   */
  start(take: (bytes: Buffer) => boolean, end: () => void): void;
  pause(): void;
  resume(): void;
}

/**
 * Sends everything `source` reads into `channel` as data; resolves once the source has ended and all of it
 * has been handed to the channel (so an EOF sent afterwards follows the last byte).
 */
export function sendBorrowedReads(channel: Channel, source: BorrowedReads): Promise<void> {
  return new Promise((resolve) => {
    let ended = false;
    // A read can be taken in several pieces (frames); each that had to wait is counted until it has gone.
    let waiting = 0;
    source.start(
      (bytes) => {
        if (channel.isClosing) return true;
        if (channel.sendBorrowed(bytes, () => {
          if (--waiting > 0) return;
          if (ended) resolve();
          else source.resume();
        })) return waiting === 0;
        waiting++;
        return false;
      },
      () => {
        ended = true;
        if (waiting === 0) resolve();
      },
    );
  });
}

const SOCKET_READ_BUFFER = 64 * 1024;

/**
 * The onread option of a socket (net.connect) that bridge() will join to a channel. Reads land in one reused
 * buffer; until start() the socket may already be read (a server that speaks first), so that read is copied
 * and reading waits.
 */
export class SocketReads implements BorrowedReads {
  readonly onread = { buffer: Buffer.allocUnsafe(SOCKET_READ_BUFFER), callback: (length: number) => this.received(length) };
  private socket: Socket | undefined;
  private take: ((bytes: Buffer) => boolean) | undefined;
  private readonly early: Buffer[] = [];
  private ended = false;
  private onEnd: (() => void) | undefined;

  /** The socket made with `onread`, as soon as it exists. */
  bind(socket: Socket): Socket {
    this.socket = socket;
    const end = () => {
      if (this.ended) return;
      this.ended = true;
      this.onEnd?.();
    };
    socket.once('end', end);
    socket.once('close', end);
    return socket;
  }

  start(take: (bytes: Buffer) => boolean, end: () => void): void {
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

  private received(length: number): boolean {
    const bytes = this.onread.buffer.subarray(0, length);
    if (this.take) return this.take(bytes);
    this.early.push(Buffer.from(bytes));
    return false;
  }
}
