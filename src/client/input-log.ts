/**
 * The input a resumable session has sent but the server has not yet acknowledged (docs/PROTOCOL.sessions §1,
 * §7), addressed by absolute offsets, so that after a resume exactly the bytes after the server's input offset
 * are sent again. Bounded: `full` tells the writer to wait for an acknowledgement before taking more.
 */
export class InputLog {
  private chunks: Buffer[] = [];
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

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.endOffset += chunk.length;
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
    let drop = offset - this.startOffset;
    while (drop > 0) {
      const first = this.chunks[0]!;
      if (first.length <= drop) {
        this.chunks.shift();
        drop -= first.length;
      } else {
        this.chunks[0] = first.subarray(drop);
        drop = 0;
      }
    }
    this.startOffset = offset;
  }

  /** The bytes from `offset` to the end, as slices of what was kept (no copy). */
  from(offset: number): Buffer[] {
    const result: Buffer[] = [];
    let position = this.startOffset;
    for (const chunk of this.chunks) {
      const next = position + chunk.length;
      if (next > offset) result.push(position >= offset ? chunk : chunk.subarray(offset - position));
      position = next;
    }
    return result;
  }
}
