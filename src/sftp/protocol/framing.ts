/** Packet framing (draft-02 §3): the length field written and read, and a stream split into packets. */
import { Writer } from '../../wire/writer.ts';
import { DecodeError } from '../../wire/errors.ts';
import { SFTP_MAX_PACKET_LENGTH } from './constants.ts';
import type { PacketBufferPool } from './buffer-pool.ts';

/** A Writer with room for the length field, which finishPacket fills in. */
export function startPacket(type: number, capacity = 64): Writer {
  return new Writer(capacity).uint32(0).byte(type);
}

export function finishPacket(writer: Writer): Buffer {
  const packet = writer.finish();
  packet.writeUInt32BE(packet.length - 4, 0);
  return packet;
}

/** Packets at least this long are assembled in a pooled buffer (when there is a pool): data, not listings. */
const POOLED_FROM = 16 * 1024;

/**
 * Splits a byte stream into SFTP packets (payloads without the length field). A length of zero or beyond
 * the limit is a DecodeError: the stream cannot be resynchronised, so the caller ends the subsystem.
 *
 * Each byte is copied at most once: a packet inside one chunk is a view of it, and one that spans chunks
 * (every 255 KiB READ reply or WRITE arrives in eight 32 KiB channel packets) is copied into a buffer of its
 * exact size, allocated when its length field is read. Joining the pending chunks again on every push, as
 * this did before, copied a 255 KiB packet ~9 times and drove the GC (issue 20, "Speed").
 */
export class SftpPacketParser {
  /** The packet being assembled across chunks (its exact size), and how much of it has arrived. */
  private partial: Buffer | undefined;
  private filled = 0;
  /** A length field split across chunks: its first bytes. */
  private readonly lengthBytes = Buffer.alloc(4);
  private lengthFilled = 0;
  private readonly maxPacketLength: number;
  private readonly pool: PacketBufferPool | undefined;

  /** `pool`: where assembled packets' buffers come from (their consumer gives them back). */
  constructor(maxPacketLength = SFTP_MAX_PACKET_LENGTH, pool?: PacketBufferPool) {
    this.maxPacketLength = maxPacketLength;
    this.pool = pool;
  }

  /** Bytes received that do not yet form a whole packet. */
  get buffered(): number {
    return this.partial ? 4 + this.filled : this.lengthFilled;
  }

  /**
   * Feeds bytes; returns every packet they complete, in order. Payloads may share memory with the input,
   * unless it is `borrowed` (reused once this returns, as a channel consumer's data is): then a packet that
   * lies whole in the chunk is copied out too, so each byte is still copied once.
   */
  push(chunk: Buffer, borrowed = false): Buffer[] {
    const packets: Buffer[] = [];
    let offset = 0;
    if (this.lengthFilled > 0) {
      const piece = Math.min(4 - this.lengthFilled, chunk.length);
      chunk.copy(this.lengthBytes, this.lengthFilled, 0, piece);
      this.lengthFilled += piece;
      offset = piece;
      if (this.lengthFilled < 4) return packets;
      this.lengthFilled = 0;
      this.partial = this.allocate(this.checkedLength(this.lengthBytes.readUInt32BE(0)));
      this.filled = 0;
    }
    if (this.partial) {
      const partial = this.partial;
      const piece = Math.min(partial.length - this.filled, chunk.length - offset);
      chunk.copy(partial, this.filled, offset, offset + piece);
      this.filled += piece;
      offset += piece;
      if (this.filled < partial.length) return packets;
      packets.push(partial);
      this.partial = undefined;
    }
    while (chunk.length - offset >= 4) {
      const length = this.checkedLength(chunk.readUInt32BE(offset));
      const start = offset + 4;
      if (chunk.length - start >= length) {
        const inChunk = chunk.subarray(start, start + length);
        packets.push(borrowed ? this.copied(inChunk) : inChunk);
        offset = start + length;
        continue;
      }
      // Spans into the next chunks: its own buffer, filled as they come.
      this.partial = this.allocate(length);
      this.filled = chunk.copy(this.partial, 0, start);
      return packets;
    }
    if (offset < chunk.length) this.lengthFilled = chunk.copy(this.lengthBytes, 0, offset);
    return packets;
  }

  private copied(view: Buffer): Buffer {
    const packet = this.allocate(view.length);
    view.copy(packet);
    return packet;
  }

  private allocate(length: number): Buffer {
    return this.pool && length >= POOLED_FROM ? this.pool.take(length) : Buffer.allocUnsafe(length);
  }

  private checkedLength(length: number): number {
    if (length === 0 || length > this.maxPacketLength) throw new DecodeError(`SFTP packet of ${length} bytes (limit ${this.maxPacketLength})`);
    return length;
  }
}
