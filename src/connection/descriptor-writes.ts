/**
 * A channel's data written to a pipe or socket straight from the buffer it was decrypted in (issue 17): no
 * copy and no allocation while the descriptor has room. write(2) takes what fits at once; the rest is copied
 * to the descriptor's own Node stream, which waits for it to drain and reports its errors (EPIPE and the
 * like), and nothing is written directly while that stream holds any, so the order stays. A stream's own
 * writes would not do: libuv keeps a reference to what it could not write at once, and the buffer is reused.
 */
import type { Writable } from 'node:stream';
import { descriptorOf, fdPassIfBuilt, MAX_WRITE_PARTS, type FdPassAddon } from '../crypto/fdpass.ts';
import { deferToReadEnd } from '../transport/read-batch.ts';
import type { ChannelDataConsumer, ConsumableSource } from './channel.ts';

/**
 * Data that goes to the descriptor in frames of a protocol of our own (the session holder's input frames):
 * each piece of at most `maxData` bytes behind the header made for its length, in the same writev(2).
 */
export interface DataFraming {
  maxData: number;
  header(length: number): Buffer;
}

class DescriptorWrites implements ChannelDataConsumer {
  private readonly stream: Writable;
  private readonly fd: number;
  private readonly addon: FdPassAddon;
  private readonly framing: DataFraming | undefined;
  /** This read's packets, written when it has been handled (see batched()). */
  private pending: Buffer[] = [];
  private flushScheduled = false;

  constructor(stream: Writable, fd: number, addon: FdPassAddon, framing: DataFraming | undefined) {
    this.stream = stream;
    this.fd = fd;
    this.addon = addon;
    this.framing = framing;
  }

  take(data: Buffer, borrowed: boolean): boolean {
    // The reader went away (reported once, by the stream's 'error'): the rest is discarded.
    if (this.stream.destroyed || this.stream.writableEnded) return true;
    const framing = this.framing;
    if (!framing) return this.batched(data) || this.write(data, undefined, borrowed);
    let more = true;
    for (let at = 0; at < data.length; at += framing.maxData) {
      const piece = data.subarray(at, Math.min(data.length, at + framing.maxData));
      const head = framing.header(piece.length);
      // A kept header is followed by its data, kept too or (once the stream holds output) queued after it.
      if (this.batched(head)) more = this.batched(piece) || this.write(piece, undefined, borrowed);
      else more = this.write(piece, head, borrowed);
    }
    return more;
  }

  /**
   * Keeps `data` to be written with the rest of this read's packets; false (nothing kept) when the stream
   * holds output already (order), the addon cannot writev, or no read is being handled.
   */
  private batched(data: Buffer): boolean {
    if (this.pending.length === 0) {
      if (this.stream.writableLength > 0 || !this.addon.writev) return false;
      if (!this.flushScheduled) {
        if (!deferToReadEnd(this.flushPending)) return false;
        this.flushScheduled = true;
      }
    }
    this.pending.push(data);
    if (this.pending.length === MAX_WRITE_PARTS) this.flush();
    return true;
  }

  private readonly flushPending = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  /** The kept packets in one writev(2); what the descriptor does not take is copied into the stream. */
  private flush(): void {
    const parts = this.pending;
    if (parts.length === 0) return;
    this.pending = [];
    const stream = this.stream;
    if (stream.destroyed || stream.writableEnded) return;
    let written = 0;
    try {
      written = Math.max(0, parts.length === 1 ? this.addon.write(this.fd, parts[0]!) : this.addon.writev!(this.fd, parts));
    } catch {
      // The stream meets the same error below, and reports it.
    }
    for (const part of parts) {
      if (written >= part.length) {
        written -= part.length;
        continue;
      }
      // The buffer is reused after this read: the stream gets a copy of what is left.
      stream.write(Buffer.from(part.subarray(written)));
      written = 0;
    }
  }

  /** `head` then `data`, written at once as far as the descriptor takes them, the rest queued in the stream. */
  private write(data: Buffer, head: Buffer | undefined, borrowed: boolean): boolean {
    const stream = this.stream;
    if (stream.writableLength === 0) {
      let written = -1;
      try {
        written = this.addon.write(this.fd, data, head);
      } catch {
        // The stream meets the same error below, and reports it.
      }
      const headLength = head?.length ?? 0;
      if (written === headLength + data.length) return true;
      if (written >= headLength) {
        head = undefined;
        data = data.subarray(written - headLength);
      } else if (written > 0) {
        head = head!.subarray(written);
      }
    }
    if (head) stream.write(head);
    return stream.write(borrowed ? Buffer.from(data) : data);
  }
}

/**
 * A consumer that writes to the descriptor under `stream` first, or undefined when `stream` has none (a
 * terminal's or a file's writer, a stream in the process) or the addon that writes descriptors is not built.
 */
function descriptorWrites(stream: Writable, framing: DataFraming | undefined): ChannelDataConsumer | undefined {
  const fd = descriptorOf(stream);
  const addon = fdPassIfBuilt();
  if (fd === undefined || !addon) return undefined;
  // A blocking descriptor would stop the whole process while its reader lags. libuv's streams are
  // non-blocking already; this makes sure of it.
  try {
    addon.setBlocking(fd, false);
  } catch {
    return undefined;
  }
  return new DescriptorWrites(stream, fd, addon, framing);
}

/**
 * source.pipe(stream) for a stream with a descriptor: the data goes to the descriptor as it arrives
 * (ConsumableSource.consume), and the source's window waits for the stream to drain. False, and nothing
 * done, when that cannot be: pipe() it then. With `framing`, each piece goes in a frame (DataFraming).
 * Ending the stream stays the caller's (after the source's EOF, every byte is already written or queued in it).
 */
export function consumeInto(source: ConsumableSource, stream: Writable, framing?: DataFraming): boolean {
  const consumer = descriptorWrites(stream, framing);
  if (!consumer) return false;
  source.consume(consumer);
  stream.on('drain', () => source.consumerDrained());
  return true;
}
