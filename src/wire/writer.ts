/**
 * Encoder for the SSH data types of RFC 4251 §5. Grows a single buffer geometrically so that building a
 * message costs one allocation in the common case.
 */
export class Writer {
  private buffer: Buffer;
  private length = 0;

  constructor(initialCapacity = 256) {
    this.buffer = Buffer.allocUnsafe(initialCapacity);
  }

  private reserve(count: number): void {
    const needed = this.length + count;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  byte(value: number): this {
    this.reserve(1);
    this.buffer[this.length++] = value & 0xff;
    return this;
  }

  boolean(value: boolean): this {
    return this.byte(value ? 1 : 0);
  }

  uint32(value: number): this {
    this.reserve(4);
    this.buffer.writeUInt32BE(value >>> 0, this.length);
    this.length += 4;
    return this;
  }

  uint64(value: bigint): this {
    this.reserve(8);
    this.buffer.writeBigUInt64BE(value, this.length);
    this.length += 8;
    return this;
  }

  /** `string` (RFC 4251 §5) from bytes or UTF-8 text. */
  string(value: Uint8Array | string): this {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    this.uint32(bytes.length);
    return this.raw(bytes);
  }

  /** `name-list` (RFC 4251 §5). */
  nameList(names: readonly string[]): this {
    return this.string(Buffer.from(names.join(','), 'latin1'));
  }

  /**
   * `mpint` from an unsigned big-endian magnitude (leading zeros allowed): leading zeros are stripped and a
   * zero byte is prepended when the top bit is set, so the value stays positive (RFC 4251 §5).
   */
  mpint(magnitude: Uint8Array): this {
    let start = 0;
    while (start < magnitude.length && magnitude[start] === 0) start++;
    const significant = magnitude.subarray(start);
    const pad = significant.length > 0 && (significant[0]! & 0x80) !== 0 ? 1 : 0;
    this.uint32(significant.length + pad);
    if (pad) this.byte(0);
    return this.raw(significant);
  }

  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  get size(): number {
    return this.length;
  }

  /** The encoded bytes (a view of the internal buffer; copy if the writer will be reused). */
  finish(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

/** Encodes `string` fields back to back: handy for signature and key blobs. */
export function encodeStrings(...fields: (Uint8Array | string)[]): Buffer {
  const writer = new Writer();
  for (const field of fields) writer.string(field);
  return writer.finish();
}
