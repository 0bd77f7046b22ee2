/**
 * Reused memory for the wire bytes of large outgoing packets (issue 17). A bulk transfer seals a 32 KiB
 * packet every few microseconds; a fresh buffer for each is a gigabyte of ArrayBuffers per gigabyte sent,
 * and V8 answers that much external memory with a full mark-compact every few dozen megabytes (57 per GiB
 * measured on the server, a tenth of its CPU time). Instead a sealer that writes a packet into one buffer
 * (native-packet-crypto.ts) takes a block from here, and the block comes back once the stream's write callback says
 * the kernel has the bytes: a stream completes its writes in order, so each connection keeps its blocks in
 * flight as a queue.
 *
 * The free blocks are shared by every connection (sealing is synchronous, one packet at a time), bounded,
 * and dropped once no large packet has been sealed for a while, so an idle server keeps none.
 */
import type { SealedOutput } from '../crypto/cipher/types.ts';

/** A sealed 32 KiB CHANNEL_DATA packet (the usual maximum packet, RFC 4254 §5.1) with room to spare. */
const BLOCK_SIZE = 40 * 1024;
/** Smaller packets come from Node's own pool for small buffers, which costs less than a block. */
const SMALLEST = 4 * 1024;
/** Free blocks kept for the next packets: enough for a few connections' socket backlogs. */
const KEPT_BLOCKS = 64;
/** Free blocks are released this long after the last large packet was sealed. */
const IDLE_MS = 2000;

const freeBlocks: Buffer[] = [];
let lastTake = 0;
let trimArmed = false;

function trimWhenIdle(): void {
  if (trimArmed || freeBlocks.length === 0) return;
  trimArmed = true;
  setTimeout(() => {
    trimArmed = false;
    if (performance.now() - lastTake >= IDLE_MS) freeBlocks.length = 0;
    else trimWhenIdle();
  }, IDLE_MS).unref();
}

/** One connection's view: the blocks its stream has not finished writing, oldest first. */
export class SentBlocks implements SealedOutput {
  private readonly inFlight: Buffer[] = [];
  private taken: Buffer | undefined;

  take(length: number): Buffer | undefined {
    if (length < SMALLEST || length > BLOCK_SIZE) return undefined;
    lastTake = performance.now();
    this.taken = freeBlocks.pop() ?? Buffer.allocUnsafeSlow(BLOCK_SIZE);
    return this.taken.subarray(0, length);
  }

  /**
   * Called once the packet sealed last has been handed to the stream: whether it used a block, in which case
   * the stream's write callback must be `written`.
   */
  claim(): boolean {
    if (this.taken === undefined) return false;
    this.inFlight.push(this.taken);
    this.taken = undefined;
    return true;
  }

  /** The stream's callback for a write of a claimed block: the oldest block in flight is free again. */
  readonly written = (error?: Error | null): void => {
    const block = this.inFlight.shift();
    // After an error the stream is gone; its blocks are left to the garbage collector rather than reused.
    if (block === undefined || error) return;
    if (freeBlocks.length < KEPT_BLOCKS) freeBlocks.push(block);
    trimWhenIdle();
  };
}
