/**
 * A FIFO of received bytes that hands out contiguous slices. Socket chunks and packet boundaries rarely line
 * up: a slice inside one chunk is a view of it (no copy), and one that spans chunks is copied together,
 * into a buffer the caller reuses when it gives one (the packet layer's, issue 17) or a new one otherwise.
 * The chunks themselves are never modified: views handed out earlier stay valid.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  /** Index of the first chunk not yet consumed: consumed ones are dropped in batches, not one shift each. */
  private first = 0;
  /** Offset of the first unconsumed byte in chunks[first]. */
  private head = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  /** How many of the first bytes lie in one chunk: take() of up to this many is a view, not a copy. */
  get contiguous(): number {
    return this.total === 0 ? 0 : this.chunks[this.first]!.length - this.head;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /**
   * The first `count` bytes, without consuming them. When they span chunks they are copied into `scratch`
   * (when it is large enough; the result is then a view of it, valid until the caller reuses it).
   */
  peek(count: number, scratch?: Buffer): Buffer {
    if (count > this.total) throw new RangeError(`ByteQueue: ${count} bytes requested, ${this.total} buffered`);
    const chunk = this.chunks[this.first]!;
    if (chunk.length - this.head >= count) return chunk.subarray(this.head, this.head + count);
    return this.copyOut(count, scratch);
  }

  /** Removes and returns the first `count` bytes; `scratch` as for peek(). */
  take(count: number, scratch?: Buffer): Buffer {
    const slice = this.peek(count, scratch);
    this.skip(count);
    return slice;
  }

  /**
   * Makes the queue independent of `chunk`, the last one pushed, which its owner is about to reuse (a
   * borrowed read): what is still queued of it is copied, into `spare` when nothing else is queued and it
   * is large enough (the queue then refers to `spare` until those bytes are taken), into a new buffer of
   * their size otherwise. When they were all that is queued, returns the buffer they now lie in (`spare` or
   * the new one), which the caller may give as `spare` next time, once those bytes are taken.
   */
  own(chunk: Buffer, spare?: Buffer): Buffer | undefined {
    const last = this.chunks.length - 1;
    if (last < this.first || this.chunks[last] !== chunk) return undefined;
    const alone = last === this.first;
    const start = alone ? this.head : 0;
    const count = chunk.length - start;
    const reuse = alone && spare !== undefined && spare.length >= count;
    const target = reuse ? spare : Buffer.allocUnsafe(count);
    chunk.copy(target, 0, start);
    this.chunks[last] = target.subarray(0, count);
    if (!alone) return undefined;
    this.head = 0;
    return target;
  }

  /** Removes and returns everything. */
  drain(): Buffer {
    return this.total === 0 ? Buffer.alloc(0) : this.take(this.total);
  }

  /** Copies the first `count` bytes (which span chunks) into `scratch` or a new buffer. */
  private copyOut(count: number, scratch: Buffer | undefined): Buffer {
    const target = scratch !== undefined && scratch.length >= count ? scratch.subarray(0, count) : Buffer.allocUnsafe(count);
    let filled = 0;
    let offset = this.head;
    for (let index = this.first; filled < count; index++) {
      const chunk = this.chunks[index]!;
      const piece = Math.min(chunk.length - offset, count - filled);
      chunk.copy(target, filled, offset, offset + piece);
      filled += piece;
      offset = 0;
    }
    return target;
  }

  private skip(count: number): void {
    this.total -= count;
    let remaining = count;
    while (remaining > 0) {
      const available = this.chunks[this.first]!.length - this.head;
      if (remaining < available) {
        this.head += remaining;
        return;
      }
      remaining -= available;
      this.chunks[this.first++] = EMPTY;
      this.head = 0;
    }
    if (this.first === this.chunks.length) {
      this.chunks.length = 0;
      this.first = 0;
    } else if (this.first >= 64) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }
}

const EMPTY = Buffer.alloc(0);
