/**
 * Payload compression (RFC 4253 §6.2): "zlib" and OpenSSH's delayed "zlib@openssh.com" (PROTOCOL §1.3 —
 * same stream format, only switched on after user authentication, which is the transport's decision).
 *
 * Each direction is ONE zlib stream for the life of the keys: every payload is deflated and then flushed
 * with Z_PARTIAL_FLUSH so the peer can inflate it at once, and the dictionary carries over between packets
 * (RFC 4253 §6.2: "the compression context MUST be continued"). Compression is applied before sealing and
 * undone after opening, both synchronously.
 */
import type { Deflate, Inflate } from 'node:zlib';
import { DecodeError } from '../wire/errors.ts';

/** node:zlib loads once compression is negotiated (off by default), not with every connection (issue 17: start-up time). */
const zlib = () => process.getBuiltinModule('node:zlib');

export interface Compressor {
  /** Deflates one payload and flushes it (Z_PARTIAL_FLUSH), continuing the stream. */
  compress(payload: Buffer): Buffer;
  /** Frees the native zlib state. */
  close(): void;
}

export interface Decompressor {
  /** Inflates one payload; throws DecodeError on corrupt data or output over MAX_DECOMPRESSED_PAYLOAD. */
  decompress(payload: Buffer): Buffer;
  /** Frees the native zlib state. */
  close(): void;
}

/** Compression names we can negotiate, OpenSSH server default order. */
export const COMPRESSIONS: readonly string[] = Object.freeze(['none', 'zlib@openssh.com', 'zlib']);

/**
 * Upper bound on one inflated payload. OpenSSH's packet limit is 256 KiB, so no honest peer exceeds it,
 * and the bound is enforced while inflating so a compression bomb never gets to allocate more.
 */
export const MAX_DECOMPRESSED_PAYLOAD = 256 * 1024;

/** OpenSSH compresses at zlib level 6 (packet.c start_compression_out). */
const COMPRESSION_LEVEL = 6;

export function createCompressor(name: string): Compressor | null {
  if (name === 'none') return null;
  requireZlibName(name);
  const { createDeflate, constants } = zlib();
  const stream = new SyncZlibStream(createDeflate({ level: COMPRESSION_LEVEL }), 'compression');
  return {
    compress: (payload) => stream.process(payload, constants.Z_PARTIAL_FLUSH, Number.POSITIVE_INFINITY),
    close: () => stream.close(),
  };
}

export function createDecompressor(name: string): Decompressor | null {
  if (name === 'none') return null;
  requireZlibName(name);
  const { createInflate, constants } = zlib();
  const stream = new SyncZlibStream(createInflate(), 'decompression');
  return {
    decompress: (payload) => stream.process(payload, constants.Z_SYNC_FLUSH, MAX_DECOMPRESSED_PAYLOAD),
    close: () => stream.close(),
  };
}

function requireZlibName(name: string): void {
  if (name !== 'zlib' && name !== 'zlib@openssh.com') throw new RangeError(`unsupported compression ${name}`);
}

/**
 * The slice of Node's zlib engine internals we drive. Node offers no synchronous *streaming* zlib API:
 * deflateSync()/inflateSync() start a fresh stream per call, and the engines' `_processChunk()` (what they
 * use inside) closes the native handle after a single call. Yet the transport must compress packet by
 * packet, in order, without yielding. So we make the very call Node's own processChunkSync() makes —
 * `_handle.writeSync(flush, in, inOff, inLen, out, outOff, outLen)`, which runs deflate()/inflate() once and
 * leaves avail_out and avail_in in `_writeState[0]` and `[1]` — and simply never close the handle. Checked
 * against Node 26 (lib/zlib.js); the constructor fails loudly if these internals ever move.
 */
interface NativeZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inputOffset: number,
    inputLength: number,
    output: Uint8Array,
    outputOffset: number,
    outputLength: number,
  ): void;
}
interface ZlibEngineInternals {
  _handle: NativeZlibHandle | null;
  _writeState: Uint32Array;
}

const OUTPUT_CHUNK = 64 * 1024;

class SyncZlibStream {
  private readonly engine: Deflate | Inflate;
  private readonly internals: ZlibEngineInternals;
  private readonly what: string;
  private readonly output = Buffer.allocUnsafe(OUTPUT_CHUNK);

  constructor(engine: Deflate | Inflate, what: string) {
    this.engine = engine;
    this.what = what;
    this.internals = engine as unknown as ZlibEngineInternals;
    if (typeof this.internals._handle?.writeSync !== 'function' || !(this.internals._writeState instanceof Uint32Array)) {
      throw new Error(`this Node.js version's zlib internals changed; synchronous ${what} is unavailable`);
    }
    // zlib reports errors by destroying the stream, which emits 'error' on the next tick; we report them
    // synchronously instead (below), so the event must not go unhandled and crash the process.
    engine.on('error', () => {});
  }

  /** Runs `input` through the stream with `flush`, returning everything produced, at most `limit` bytes. */
  process(input: Buffer, flush: number, limit: number): Buffer {
    const handle = this.internals._handle;
    if (handle === null) throw new DecodeError(`${this.what} stream is closed after an earlier failure`);
    const state = this.internals._writeState;
    const chunks: Buffer[] = [];
    let total = 0;
    let inputOffset = 0;
    let inputLeft = input.length;
    for (;;) {
      handle.writeSync(flush, input, inputOffset, inputLeft, this.output, 0, OUTPUT_CHUNK);
      if (this.engine.errored !== null || this.internals._handle === null) {
        throw new DecodeError(`${this.what} failed: corrupt zlib data`);
      }
      const outputLeft = state[0]!;
      const produced = OUTPUT_CHUNK - outputLeft;
      total += produced;
      if (total > limit) {
        this.close();
        throw new DecodeError(`${this.what} produced more than ${limit} bytes from one packet`);
      }
      if (produced > 0) chunks.push(Buffer.from(this.output.subarray(0, produced)));
      inputOffset += inputLeft - state[1]!;
      inputLeft = state[1]!;
      // zlib stops early only when the output buffer is full; with room left it consumed and flushed all.
      if (outputLeft !== 0) break;
    }
    if (chunks.length === 1) return chunks[0]!;
    return Buffer.concat(chunks, total);
  }

  close(): void {
    this.engine.close();
  }
}
