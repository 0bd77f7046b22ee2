/**
 * Turns the transport's pushed packets into an awaitable sequence, for the strictly sequential phases of a
 * connection (service request, user authentication) that read best as straight-line async code.
 *
 * The queue is bounded: past INBOX_HIGH_WATER bytes not yet taken, the transport stops decoding (a packet
 * handler's promise pauses it) until the reader has taken it down to INBOX_LOW_WATER, so a peer that sends
 * faster than we consume (thousands of large banners while a prompt waits) is paused, not buffered for.
 */
import type { Transport } from './transport.ts';

export const INBOX_HIGH_WATER = 1024 * 1024;
const INBOX_LOW_WATER = 256 * 1024;

export class PacketInbox {
  private readonly packets: Buffer[] = [];
  private queuedBytes = 0;
  private waiter: { resolve: (payload: Buffer) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  private resumeInput: (() => void) | undefined;

  constructor(transport: Transport) {
    // Channel data here is out of place, but it is kept like any message: a borrowed one is copied.
    transport.packetHandler = (payload, borrowed) => this.push(borrowed ? Buffer.from(payload) : payload);
    transport.closed.then((error) => this.fail(error ?? new Error('connection closed')));
  }

  /** Bytes received but not yet taken by next(). */
  get queued(): number {
    return this.queuedBytes;
  }

  private push(payload: Buffer): void | Promise<void> {
    if (this.waiter) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve(payload);
      return;
    }
    this.packets.push(payload);
    this.queuedBytes += payload.length;
    if (this.queuedBytes <= INBOX_HIGH_WATER) return;
    return new Promise<void>((resolve) => (this.resumeInput = resolve));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(error);
  }

  /** The next packet, or the error that closed the transport. */
  next(): Promise<Buffer> {
    const queued = this.packets.shift();
    if (queued) {
      this.queuedBytes -= queued.length;
      if (this.resumeInput && this.queuedBytes <= INBOX_LOW_WATER) {
        const resume = this.resumeInput;
        this.resumeInput = undefined;
        resume();
      }
      return Promise.resolve(queued);
    }
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** Packets received but not yet consumed, for the layer that takes over next. */
  takeRemaining(): Buffer[] {
    this.queuedBytes = 0;
    // Input paused for this inbox resumes once the next layer has installed its handler, which it does in
    // the promise continuations that follow; until then decoding would hand packets to this inbox.
    const resume = this.resumeInput;
    this.resumeInput = undefined;
    if (resume) setImmediate(resume);
    return this.packets.splice(0);
  }
}
