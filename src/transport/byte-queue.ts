/**
 * A FIFO of received bytes that hands out contiguous slices, copying only when a slice spans chunks. Socket
 * chunks and packet boundaries rarely line up, so this keeps the common case (packet inside one chunk)
 * copy-free.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** The first `count` bytes, without consuming them. */
  peek(count: number): Buffer {
    this.gather(count);
    return this.chunks[0]!.subarray(this.head, this.head + count);
  }

  /** Removes and returns the first `count` bytes. */
  take(count: number): Buffer {
    this.gather(count);
    const first = this.chunks[0]!;
    const slice = first.subarray(this.head, this.head + count);
    this.head += count;
    this.total -= count;
    if (this.head === first.length) {
      this.chunks.shift();
      this.head = 0;
    }
    return slice;
  }

  /** Removes and returns everything. */
  drain(): Buffer {
    return this.total === 0 ? Buffer.alloc(0) : this.take(this.total);
  }

  /** Makes the first chunk hold at least `count` bytes. */
  private gather(count: number): void {
    if (count > this.total) throw new RangeError(`ByteQueue: ${count} bytes requested, ${this.total} buffered`);
    const first = this.chunks[0]!;
    if (first.length - this.head >= count) return;
    const merged = Buffer.allocUnsafe(count);
    let filled = 0;
    let index = 0;
    let offset = this.head;
    while (filled < count) {
      const chunk = this.chunks[index]!;
      const piece = Math.min(chunk.length - offset, count - filled);
      chunk.copy(merged, filled, offset, offset + piece);
      filled += piece;
      if (offset + piece === chunk.length) {
        index++;
        offset = 0;
      } else {
        offset += piece;
      }
    }
    // Replace the consumed chunks by the merged prefix and the remainder of the last one touched.
    const remainder = index < this.chunks.length && offset > 0 ? [this.chunks[index]!.subarray(offset)] : [];
    this.chunks = [merged, ...remainder, ...this.chunks.slice(offset > 0 ? index + 1 : index)];
    this.head = 0;
  }
}
