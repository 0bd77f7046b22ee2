/**
 * A bounded log of one output stream, addressed by absolute offset (docs/PROTOCOL.sessions §1: bytes since
 * the session was created). It keeps the last `capacity` bytes in a ring; a reader asks for bytes from an
 * offset and learns when the log no longer reaches back that far (the "output lost" case).
 */
export interface LogRead {
  /** Offset of the first byte returned: the asked-for one, or the oldest held when that was overwritten. */
  offset: number;
  data: Buffer;
}

/** A view handed to a write that completes later; release() once the write is done. */
export type ReleasePin = () => void;

export class OutputLog {
  /** Grows up to `capacity` as output arrives, so an idle session with little output costs little. */
  private ring: Buffer;
  /** Offset one past the last byte written. */
  private endOffset = 0;
  /**
   * The first offsets of views of the current ring still held by writes in flight (see view()). An append
   * that would overwrite one of them moves to a copy of the ring instead, so that queued bytes never change.
   */
  private pins = new Set<{ from: number }>();

  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`log capacity ${capacity}`);
    this.ring = Buffer.alloc(Math.min(capacity, 4096));
  }

  /** Offset one past the newest byte: the total written since creation. */
  get end(): number {
    return this.endOffset;
  }

  /** Offset of the oldest byte the ring still holds. */
  get start(): number {
    return Math.max(0, this.endOffset - this.capacity);
  }

  append(data: Buffer): void {
    if (this.ring.length < this.capacity && this.endOffset + data.length > this.ring.length) {
      // Not yet wrapped: offsets are positions, so growing is a copy of what is there. Views of the old ring
      // stay as they are: nothing writes it any more.
      const grown = Buffer.alloc(Math.min(this.capacity, Math.max(this.ring.length * 2, this.endOffset + data.length)));
      this.ring.copy(grown, 0, 0, this.endOffset);
      this.ring = grown;
      this.pins = new Set();
    }
    if (this.pins.size > 0) {
      // Bytes before `dropped` are overwritten by this append. Flow control keeps them unpinned while an
      // attachment is there (its pins count as needed); a detached terminal's log reads on regardless.
      const dropped = this.endOffset + data.length - this.capacity;
      for (const pin of this.pins) {
        if (pin.from < dropped) {
          this.ring = Buffer.from(this.ring);
          this.pins = new Set();
          break;
        }
      }
    }
    // Only the last `capacity` bytes of an oversized write can survive it.
    const kept = data.length > this.capacity ? data.subarray(data.length - this.capacity) : data;
    const skipped = data.length - kept.length;
    let at = (this.endOffset + skipped) % this.capacity;
    let from = 0;
    while (from < kept.length) {
      const n = Math.min(kept.length - from, this.capacity - at);
      kept.copy(this.ring, at, from, from + n);
      from += n;
      at = (at + n) % this.capacity;
    }
    this.endOffset += data.length;
  }

  /** Clamps an offset a reader asked for to what the log holds: [start, end]. */
  clamp(offset: number): number {
    return Math.min(Math.max(offset, this.start), this.endOffset);
  }

  /**
   * Up to `max` bytes from `offset` (clamped) without a copy: a view of the ring, ending at its wrap (so it
   * may hold fewer than asked while more follow). It stays valid until the next append unless pinned: pin it
   * for a write that may complete later, and release the pin when it has.
   */
  view(offset: number, max: number): LogRead {
    const from = this.clamp(offset);
    const at = from % this.capacity;
    const length = Math.min(max, this.endOffset - from, this.ring.length - at);
    return { offset: from, data: this.ring.subarray(at, at + length) };
  }

  /** Keeps the bytes of the current ring from `from` on unchanged until the returned function is called. */
  pin(from: number): ReleasePin {
    const pins = this.pins;
    const record = { from };
    pins.add(record);
    return () => pins.delete(record);
  }

  /** Up to `max` bytes from `offset` (clamped), copied out so later writes cannot change them. */
  read(offset: number, max: number): LogRead {
    const from = this.clamp(offset);
    const length = Math.min(max, this.endOffset - from);
    const data = Buffer.allocUnsafe(length);
    let at = from % this.capacity;
    let copied = 0;
    while (copied < length) {
      const n = Math.min(length - copied, this.capacity - at);
      this.ring.copy(data, copied, at, at + n);
      copied += n;
      at = (at + n) % this.capacity;
    }
    return { offset: from, data };
  }
}
