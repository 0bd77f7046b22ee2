/**
 * The ChaCha20 block function (RFC 8439 §2.3) for one 64-byte block, in TypeScript.
 *
 * chacha20-poly1305@openssh.com needs per packet only keystream block 0 of K_1 (4 bytes encrypt the
 * packet_length) and block 0 of K_2 (its first 32 bytes are the Poly1305 key); node:crypto would need a
 * fresh cipher context for each (a few microseconds apiece, measured in bench/packet-path.ts), while one
 * block here costs a fraction of that and allocates nothing. A large body is encrypted by OpenSSL from
 * block 1 on; a small one here too (xorFromBlockOne).
 *
 * The state uses DJB's original layout, as OpenSSH does (PROTOCOL.chacha20poly1305): words 12–13 a 64-bit
 * block counter and words 14–15 a 64-bit nonce, here the uint64 sequence number in big-endian bytes, loaded
 * as little-endian words like every other word.
 */

/** "expand 32-byte k" as four little-endian words (RFC 8439 §2.3). */
const SIGMA: readonly number[] = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574];

export class ChachaBlock {
  private readonly key = new Int32Array(8);
  /** The 16 output words of the last block, as int32 bit patterns. */
  readonly words = new Int32Array(16);

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new RangeError('ChaCha20 needs a 32-byte key');
    for (let i = 0; i < 8; i++) this.key[i] = readLE32(key, 4 * i);
  }

  /** Computes keystream block 0 for `sequence` (uint32) into `words`. */
  blockZero(sequence: number): Int32Array {
    return this.block(sequence, 0);
  }

  /**
   * XORs `length` bytes of `from` (at `fromOffset`) with the keystream for `sequence` from block 1 on (the
   * packet body of chacha20-poly1305@openssh.com) into `to` at `toOffset`. For small bodies only: OpenSSL
   * is far faster per byte, but a cipher context costs more than several blocks here (an acknowledgement,
   * a window adjust, a keystroke).
   */
  xorFromBlockOne(sequence: number, from: Uint8Array, fromOffset: number, to: Uint8Array, toOffset: number, length: number): void {
    const words = this.words;
    for (let done = 0, counter = 1; done < length; counter++) {
      this.block(sequence, counter);
      const n = Math.min(64, length - done);
      for (let i = 0; i < n; i++) {
        to[toOffset + done + i] = from[fromOffset + done + i]! ^ ((words[i >>> 2]! >>> ((i & 3) << 3)) & 0xff);
      }
      done += n;
    }
  }

  /** Computes keystream block `counter` (below 2^32) for `sequence` (uint32) into `words`. */
  private block(sequence: number, counter: number): Int32Array {
    const k = this.key;
    // Nonce bytes 00 00 00 00 || uint32 sequence big-endian: word 14 is zero, word 15 the byte-swapped number.
    const nonceLow = byteSwap32(sequence >>> 0);
    let x0 = SIGMA[0]!, x1 = SIGMA[1]!, x2 = SIGMA[2]!, x3 = SIGMA[3]!;
    let x4 = k[0]!, x5 = k[1]!, x6 = k[2]!, x7 = k[3]!, x8 = k[4]!, x9 = k[5]!, x10 = k[6]!, x11 = k[7]!;
    const counterLow = counter | 0;
    let x12 = counterLow, x13 = 0, x14 = 0, x15 = nonceLow;
    for (let round = 0; round < 10; round++) {
      // Column round, then diagonal round (RFC 8439 §2.3), each quarter round as in §2.1.
      x0 = (x0 + x4) | 0; x12 = rotl(x12 ^ x0, 16); x8 = (x8 + x12) | 0; x4 = rotl(x4 ^ x8, 12);
      x0 = (x0 + x4) | 0; x12 = rotl(x12 ^ x0, 8); x8 = (x8 + x12) | 0; x4 = rotl(x4 ^ x8, 7);
      x1 = (x1 + x5) | 0; x13 = rotl(x13 ^ x1, 16); x9 = (x9 + x13) | 0; x5 = rotl(x5 ^ x9, 12);
      x1 = (x1 + x5) | 0; x13 = rotl(x13 ^ x1, 8); x9 = (x9 + x13) | 0; x5 = rotl(x5 ^ x9, 7);
      x2 = (x2 + x6) | 0; x14 = rotl(x14 ^ x2, 16); x10 = (x10 + x14) | 0; x6 = rotl(x6 ^ x10, 12);
      x2 = (x2 + x6) | 0; x14 = rotl(x14 ^ x2, 8); x10 = (x10 + x14) | 0; x6 = rotl(x6 ^ x10, 7);
      x3 = (x3 + x7) | 0; x15 = rotl(x15 ^ x3, 16); x11 = (x11 + x15) | 0; x7 = rotl(x7 ^ x11, 12);
      x3 = (x3 + x7) | 0; x15 = rotl(x15 ^ x3, 8); x11 = (x11 + x15) | 0; x7 = rotl(x7 ^ x11, 7);
      x0 = (x0 + x5) | 0; x15 = rotl(x15 ^ x0, 16); x10 = (x10 + x15) | 0; x5 = rotl(x5 ^ x10, 12);
      x0 = (x0 + x5) | 0; x15 = rotl(x15 ^ x0, 8); x10 = (x10 + x15) | 0; x5 = rotl(x5 ^ x10, 7);
      x1 = (x1 + x6) | 0; x12 = rotl(x12 ^ x1, 16); x11 = (x11 + x12) | 0; x6 = rotl(x6 ^ x11, 12);
      x1 = (x1 + x6) | 0; x12 = rotl(x12 ^ x1, 8); x11 = (x11 + x12) | 0; x6 = rotl(x6 ^ x11, 7);
      x2 = (x2 + x7) | 0; x13 = rotl(x13 ^ x2, 16); x8 = (x8 + x13) | 0; x7 = rotl(x7 ^ x8, 12);
      x2 = (x2 + x7) | 0; x13 = rotl(x13 ^ x2, 8); x8 = (x8 + x13) | 0; x7 = rotl(x7 ^ x8, 7);
      x3 = (x3 + x4) | 0; x14 = rotl(x14 ^ x3, 16); x9 = (x9 + x14) | 0; x4 = rotl(x4 ^ x9, 12);
      x3 = (x3 + x4) | 0; x14 = rotl(x14 ^ x3, 8); x9 = (x9 + x14) | 0; x4 = rotl(x4 ^ x9, 7);
    }
    const out = this.words;
    out[0] = x0 + SIGMA[0]!; out[1] = x1 + SIGMA[1]!; out[2] = x2 + SIGMA[2]!; out[3] = x3 + SIGMA[3]!;
    out[4] = x4 + k[0]!; out[5] = x5 + k[1]!; out[6] = x6 + k[2]!; out[7] = x7 + k[3]!;
    out[8] = x8 + k[4]!; out[9] = x9 + k[5]!; out[10] = x10 + k[6]!; out[11] = x11 + k[7]!;
    out[12] = x12 + counterLow; out[13] = x13; out[14] = x14; out[15] = x15 + nonceLow;
    return out;
  }

  /** Writes the first `count` words of the last block, little-endian, into `target` at `offset`. */
  writeBytes(target: Uint8Array, offset: number, count: number): void {
    const words = this.words;
    for (let i = 0; i < count; i++) {
      const word = words[i]!;
      const at = offset + 4 * i;
      target[at] = word;
      target[at + 1] = word >>> 8;
      target[at + 2] = word >>> 16;
      target[at + 3] = word >>> 24;
    }
  }
}

function rotl(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

function byteSwap32(value: number): number {
  return ((value & 0xff) << 24) | ((value & 0xff00) << 8) | ((value >>> 8) & 0xff00) | (value >>> 24);
}

function readLE32(bytes: Uint8Array, at: number): number {
  return bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
}
