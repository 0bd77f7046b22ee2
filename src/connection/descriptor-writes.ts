/**
 * A channel's data written to a pipe or socket straight from the buffer it was decrypted in (issue 17): no
 * copy and no allocation while the descriptor has room. write(2) takes what fits at once; the rest is copied
 * to the descriptor's own Node stream, which waits for it to drain and reports its errors (EPIPE and the
 * like), and nothing is written directly while that stream holds any, so the order stays. A stream's own
 * writes would not do: libuv keeps a reference to what it could not write at once, and the buffer is reused.
 */
import type { Writable } from 'node:stream';
import { fdPassIfBuilt, type FdPassAddon } from '../crypto/fdpass.ts';
import type { Channel, ChannelDataConsumer } from './channel.ts';

class DescriptorWrites implements ChannelDataConsumer {
  private readonly stream: Writable;
  private readonly fd: number;
  private readonly addon: FdPassAddon;

  constructor(stream: Writable, fd: number, addon: FdPassAddon) {
    this.stream = stream;
    this.fd = fd;
    this.addon = addon;
  }

  take(data: Buffer, borrowed: boolean): boolean {
    const stream = this.stream;
    // The reader went away (reported once, by the stream's 'error'): the rest is discarded.
    if (stream.destroyed || stream.writableEnded) return true;
    if (stream.writableLength === 0) {
      let written = -1;
      try {
        written = this.addon.write(this.fd, data);
      } catch {
        // The stream meets the same error below, and reports it.
      }
      if (written === data.length) return true;
      if (written > 0) data = data.subarray(written);
    }
    return stream.write(borrowed ? Buffer.from(data) : data);
  }
}

/** The descriptor of a net.Socket (TCP, Unix or pipe) once it has one; undefined otherwise. */
export function descriptorOf(stream: Writable): number | undefined {
  const fd = (stream as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * A consumer that writes to `fd` (the descriptor under `stream`) first, or undefined when the addon that
 * writes descriptors is not built.
 */
export function descriptorWrites(stream: Writable, fd: number): ChannelDataConsumer | undefined {
  const addon = fdPassIfBuilt();
  if (!addon) return undefined;
  // A blocking descriptor would stop the whole process while its reader lags. libuv's streams are
  // non-blocking already; this makes sure of it.
  try {
    addon.setBlocking(fd, false);
  } catch {
    return undefined;
  }
  return new DescriptorWrites(stream, fd, addon);
}

/**
 * channel.pipe(stream, { end }) for a stream with a descriptor: the channel's data goes to the descriptor as
 * it arrives (Channel.consume), the channel's window waits for the stream to drain, and with `end` the
 * channel's EOF ends the stream after the last byte. False, and nothing done, when that cannot be.
 */
export function consumeInto(channel: Channel, stream: Writable, end: boolean): boolean {
  const fd = descriptorOf(stream);
  const consumer = fd === undefined ? undefined : descriptorWrites(stream, fd);
  if (!consumer) return false;
  channel.consume(consumer);
  stream.on('drain', () => channel.consumerDrained());
  if (end) channel.once('end', () => stream.end());
  return true;
}
