/**
 * Decoder for the SSH data types of RFC 4251 §5. Every read is bounds-checked and throws DecodeError on
 * truncated or oversized input; nothing outside src/wire indexes message buffers by hand.
 */
import { DecodeError } from './errors.ts';

/** No single string field in any message we accept may exceed this (packets are capped lower still). */
const MAX_FIELD_LENGTH = 16 * 1024 * 1024;

export class Reader {
  private offset: number;
  private readonly buffer: Buffer;

  constructor(buffer: Buffer, start = 0) {
    this.buffer = buffer;
    this.offset = start;
  }

  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  get position(): number {
    return this.offset;
  }

  private need(count: number, what: string): void {
    if (count > this.remaining) {
      throw new DecodeError(`truncated ${what}: need ${count} bytes, have ${this.remaining}`);
    }
  }

  byte(): number {
    this.need(1, 'byte');
    return this.buffer[this.offset++]!;
  }

  boolean(): boolean {
    return this.byte() !== 0;
  }

  uint32(): number {
    this.need(4, 'uint32');
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  uint64(): bigint {
    this.need(8, 'uint64');
    const value = this.buffer.readBigUInt64BE(this.offset);
    this.offset += 8;
    return value;
  }

  /** `string` as raw bytes (RFC 4251 §5). The result shares memory with the packet. */
  string(maxLength = MAX_FIELD_LENGTH): Buffer {
    const length = this.uint32();
    if (length > maxLength) throw new DecodeError(`string field of ${length} bytes exceeds limit ${maxLength}`);
    this.need(length, 'string');
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  /** `string` decoded as UTF-8 text. */
  text(maxLength = MAX_FIELD_LENGTH): string {
    return this.string(maxLength).toString('utf8');
  }

  /** `name-list` (RFC 4251 §5): comma-separated US-ASCII names. */
  nameList(): string[] {
    const raw = this.string(64 * 1024).toString('latin1');
    return raw.length === 0 ? [] : raw.split(',');
  }

  /**
   * `mpint` as the unsigned big-endian magnitude without leading zeros. Negative values are refused: no
   * field we read may be negative.
   */
  mpint(): Buffer {
    const bytes = this.string(16 * 1024);
    if (bytes.length > 0 && (bytes[0]! & 0x80) !== 0) throw new DecodeError('negative mpint');
    let start = 0;
    while (start < bytes.length && bytes[start] === 0) start++;
    return bytes.subarray(start);
  }

  /** `count` raw bytes. */
  raw(count: number): Buffer {
    this.need(count, 'bytes');
    const value = this.buffer.subarray(this.offset, this.offset + count);
    this.offset += count;
    return value;
  }

  /** Everything not yet read. */
  rest(): Buffer {
    const value = this.buffer.subarray(this.offset);
    this.offset = this.buffer.length;
    return value;
  }

  /** Asserts the message has been consumed entirely (trailing garbage is a decode error). */
  end(what = 'message'): void {
    if (this.remaining !== 0) throw new DecodeError(`${this.remaining} unexpected trailing bytes in ${what}`);
  }
}
