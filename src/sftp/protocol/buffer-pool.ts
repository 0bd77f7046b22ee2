/**
 * Packet-sized buffers that a bulk transfer hands back once it is done with them, so that one large file
 * moves through the same few dozen buffers instead of a fresh 255 KiB one per READ reply or WRITE (issue
 * 20, "Speed"). A fresh one costs an mmap(2), page faults as it is first filled and a munmap(2), and counts
 * as external memory to V8, every 64 MB of which sets off a full mark-compact of the heap. Only the code
 * that knows a buffer's last use gives it back (a transfer, after its file write; a server, after its reply
 * is written); a buffer nobody gives back is simply collected. The free list holds as many as a transfer
 * keeps in flight (64 requests) and is cut back by trim() once the transfer is over.
 *
 * release() of anything this pool has not lent (a view of a socket chunk, a reply built on its own) does
 * nothing, and so does a second release before the buffer is lent again: the free list never holds one
 * buffer twice. A view kept from an earlier loan would release the current one, so each loan is released
 * once, by the code that knows its last use, and no view of it is kept past that.
 */

export class PacketBufferPool {
  /** The size of every pooled buffer; longer requests get a buffer of their own, never pooled. */
  readonly size: number;
  private readonly maxFree: number;
  private readonly free: Buffer[] = [];
  /** Backing stores out on loan: the only ones release() accepts. */
  private readonly lent = new WeakSet<ArrayBufferLike>();

  constructor(size: number, maxFree: number) {
    this.size = size;
    this.maxFree = maxFree;
  }

  /** A buffer of exactly `length` bytes (a view of a pooled one when it fits). */
  take(length: number): Buffer {
    if (length > this.size) return Buffer.allocUnsafe(length);
    // allocUnsafeSlow: a backing store of its own, never a slice of Node's shared pool.
    const buffer = this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
    this.lent.add(buffer.buffer);
    return buffer.subarray(0, length);
  }

  /** Whether `view` lies in a buffer this pool has lent and not yet had back. */
  owns(view: Uint8Array): boolean {
    return this.lent.has(view.buffer);
  }

  /** Keeps at most `keep` free buffers (a transfer has ended: what it kept in flight is not needed now). */
  trim(keep = 0): void {
    if (this.free.length > keep) this.free.length = keep;
  }

  /** Takes back the buffer `view` lies in; the caller must hold no view of it any more. */
  release(view: Uint8Array): void {
    const store = view.buffer;
    if (!this.lent.has(store)) return;
    this.lent.delete(store);
    if (this.free.length < this.maxFree) this.free.push(Buffer.from(store, 0, this.size));
  }
}
