/**
 * The input a resumable session has sent but the server has not yet acknowledged (docs/PROTOCOL.sessions §1,
 * §7), addressed by absolute offsets, so that after a resume exactly the bytes after the server's input offset
 * are sent again. Bounded: `full` tells the writer to wait for an acknowledgement before taking more.
 */
const FIRST_CAPACITY = 64 * 1024;

export class InputLog {
  /**
   * The kept bytes, in one ring buffer copied into as input comes (issue 17): a pipe's reads arrive in reused
   * memory (cli/borrowed-stdin.ts) and a ring costs no allocation per write. Bytes are overwritten only once
   * acknowledged, so views of them handed to a channel stay valid until it has sent them.
   */
  private ring = Buffer.alloc(0);
  /** Where startOffset's byte lies in the ring. */
  private head = 0;
  /** Offset of the first byte kept (everything before it was acknowledged). */
  private startOffset = 0;
  /** Offset just past the last byte kept. */
  private endOffset = 0;
  readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  get start(): number {
    return this.startOffset;
  }

  get end(): number {
    return this.endOffset;
  }

  /** Bytes kept, waiting for an acknowledgement. */
  get size(): number {
    return this.endOffset - this.startOffset;
  }

  get full(): boolean {
    return this.size >= this.limit;
  }

  /** Copies `chunk` in; the caller may reuse its memory at once. */
  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.makeRoom(chunk.length);
    const capacity = this.ring.length;
    const at = (this.head + this.size) % capacity;
    const first = Math.min(chunk.length, capacity - at);
    chunk.copy(this.ring, at, 0, first);
    if (first < chunk.length) chunk.copy(this.ring, 0, first);
    this.endOffset += chunk.length;
  }

  /**
   * A larger ring when `more` bytes do not fit: the kept bytes are moved to its start. The old ring is not
   * written again, so views of it a channel still holds stay as they were.
   */
  private makeRoom(more: number): void {
    const needed = this.size + more;
    if (needed <= this.ring.length) return;
    // Doubling, but not far past the limit: a writer waits at the limit, so the ring settles at about it.
    const capacity = Math.max(needed, Math.min(Math.max(FIRST_CAPACITY, this.ring.length * 2), this.limit + FIRST_CAPACITY));
    const ring = Buffer.allocUnsafe(capacity);
    let at = 0;
    for (const view of this.views(this.startOffset)) at += view.copy(ring, at);
    this.ring = ring;
    this.head = 0;
  }

  /**
   * Moves the log to `offset` before anything was sent (a reattach: the program has already had `offset` bytes
   * from other clients, and what we hold follows them).
   */
  rebase(offset: number): void {
    this.startOffset += offset;
    this.endOffset += offset;
  }

  /** Forgets what the server has acknowledged; offsets outside what we kept are ignored. */
  trimTo(offset: number): void {
    if (offset <= this.startOffset || offset > this.endOffset) return;
    this.head = (this.head + (offset - this.startOffset)) % this.ring.length;
    this.startOffset = offset;
    if (this.size === 0) this.head = 0;
  }

  /** The bytes from `offset` to the end, as views of the ring (no copy): valid until acknowledged. */
  from(offset: number): Buffer[] {
    return this.views(Math.max(offset, this.startOffset));
  }

  private views(offset: number): Buffer[] {
    const length = this.endOffset - offset;
    if (length <= 0) return [];
    const capacity = this.ring.length;
    const at = (this.head + (offset - this.startOffset)) % capacity;
    const first = Math.min(length, capacity - at);
    const result = [this.ring.subarray(at, at + first)];
    if (first < length) result.push(this.ring.subarray(0, length - first));
    return result;
  }
}
