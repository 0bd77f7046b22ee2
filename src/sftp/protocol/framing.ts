/** Packet framing (draft-02 §3): the length field written and read, and a stream split into packets. */
import { Writer } from '../../wire/writer.ts';
import { DecodeError } from '../../wire/errors.ts';
import { SFTP_MAX_PACKET_LENGTH } from './constants.ts';

/** A Writer with room for the length field, which finishPacket fills in. */
export function startPacket(type: number, capacity = 64): Writer {
  return new Writer(capacity).uint32(0).byte(type);
}

export function finishPacket(writer: Writer): Buffer {
  const packet = writer.finish();
  packet.writeUInt32BE(packet.length - 4, 0);
  return packet;
}

/**
 * Splits a byte stream into SFTP packets (payloads without the length field). A length of zero or beyond
 * the limit is a DecodeError: the stream cannot be resynchronised, so the caller ends the subsystem.
 */
export class SftpPacketParser {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private readonly maxPacketLength: number;

  constructor(maxPacketLength = SFTP_MAX_PACKET_LENGTH) {
    this.maxPacketLength = maxPacketLength;
  }

  /** Bytes received that do not yet form a whole packet. */
  get buffered(): number {
    return this.pendingLength;
  }

  /** Feeds bytes; returns every packet they complete, in order. Payloads share memory with the input. */
  push(chunk: Buffer): Buffer[] {
    let data = chunk;
    if (this.pendingLength > 0) {
      this.pending.push(chunk);
      data = Buffer.concat(this.pending, this.pendingLength + chunk.length);
      this.pending = [];
      this.pendingLength = 0;
    }
    const packets: Buffer[] = [];
    let offset = 0;
    while (data.length - offset >= 4) {
      const length = data.readUInt32BE(offset);
      if (length === 0 || length > this.maxPacketLength) {
        throw new DecodeError(`SFTP packet of ${length} bytes (limit ${this.maxPacketLength})`);
      }
      if (data.length - offset - 4 < length) break;
      packets.push(data.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    if (offset < data.length) {
      // Copy the tail so a small remainder does not pin a large chunk.
      const tail = Buffer.from(data.subarray(offset));
      this.pending.push(tail);
      this.pendingLength = tail.length;
    }
    return packets;
  }
}
