/**
 * Turns the transport's pushed packets into an awaitable sequence, for the strictly sequential phases of a
 * connection (service request, user authentication) that read best as straight-line async code.
 */
import type { Transport } from './transport.ts';

export class PacketInbox {
  private readonly packets: Buffer[] = [];
  private waiter: { resolve: (payload: Buffer) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(transport: Transport) {
    transport.packetHandler = (payload) => this.push(payload);
    transport.closed.then((error) => this.fail(error ?? new Error('connection closed')));
  }

  private push(payload: Buffer): void {
    if (this.waiter) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve(payload);
    } else {
      this.packets.push(payload);
    }
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
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** Packets received but not yet consumed, for the layer that takes over next. */
  takeRemaining(): Buffer[] {
    return this.packets.splice(0);
  }
}
