/**
 * Byte encodings of Streamlined NTRU Prime sntrup761 ("NTRU Prime: round 3": its Encode/Decode and the
 * encodings of keys and ciphertexts), as the reference implementation and OpenSSH use them:
 *
 * - Small polynomials (coefficients in {-1,0,1}) take two bits each, coefficient + 1, four to a byte,
 *   little-end first: ⌈761/4⌉ = 191 bytes.
 * - Elements of Rq (coefficients in [-(q-1)/2, (q-1)/2]) are shifted to [0, q) and packed with the
 *   mixed-radix Encode: 1158 bytes. Rounded polynomials (multiples of 3) are divided by 3 after the shift,
 *   radix (q+2)/3 = 1531: 1007 bytes.
 *
 * Encode combines neighbouring values pairwise, r = r0 + r1·m0 with radix m = m0·m1, emitting the
 * low bytes of r while m ≥ 2^14, and recurses on the list of combined values until one remains, whose
 * bytes are emitted while m > 1. Decode reverses it; every radix is public (it depends only on the
 * parameter set), so the layout is computed once per radix and data-independent.
 */

export const P = 761;
export const Q = 4591;
/** (q - 1) / 2: the largest coefficient magnitude in Rq. */
export const Q12 = (Q - 1) / 2;
export const SMALL_BYTES = Math.ceil(P / 4);
export const RQ_BYTES = 1158;
export const ROUNDED_BYTES = 1007;

/** One combining level: the radix of every value at that level and how many bytes each pair emits. */
interface Level {
  readonly radix: Uint32Array;
  /** Bytes emitted for pair k (values 2k, 2k+1) while combining: 0, 1 or 2. */
  readonly pairBytes: Uint8Array;
}

interface Layout {
  readonly levels: Level[];
  /** Radix of the single value left after the last level. */
  readonly topRadix: number;
  readonly totalBytes: number;
}

const LIMIT = 16384;

/** The public structure of Encode for `count` values of radix `m`. */
function layoutFor(m: number, count: number): Layout {
  const levels: Level[] = [];
  let radix = new Uint32Array(count).fill(m);
  let totalBytes = 0;
  while (radix.length > 1) {
    const pairs = radix.length >> 1;
    const pairBytes = new Uint8Array(pairs);
    const next = new Uint32Array((radix.length + 1) >> 1);
    for (let k = 0; k < pairs; k++) {
      let combined = radix[2 * k] * radix[2 * k + 1];
      let bytes = 0;
      while (combined >= LIMIT) {
        combined = (combined + 255) >>> 8;
        bytes++;
      }
      pairBytes[k] = bytes;
      next[k] = combined;
      totalBytes += bytes;
    }
    if (radix.length & 1) next[pairs] = radix[radix.length - 1];
    levels.push({ radix, pairBytes });
    radix = next;
  }
  const topRadix = radix[0];
  for (let m = topRadix; m > 1; m = (m + 255) >>> 8) totalBytes++;
  return { levels, topRadix, totalBytes };
}

const RQ_LAYOUT = layoutFor(Q, P);
const ROUNDED_LAYOUT = layoutFor((Q + 2) / 3, P);

/** Encode values (each below the layout's radix) into `out`. */
function encode(values: Uint32Array, layout: Layout, out: Buffer): void {
  let pos = 0;
  let current = values;
  for (const level of layout.levels) {
    const { radix, pairBytes } = level;
    const next = new Uint32Array((current.length + 1) >> 1);
    const pairs = current.length >> 1;
    for (let k = 0; k < pairs; k++) {
      // r < 2^28: the product of two radices below 2^14.
      let r = current[2 * k] + current[2 * k + 1] * radix[2 * k];
      for (let b = pairBytes[k]; b > 0; b--) {
        out[pos++] = r & 0xff;
        r >>>= 8;
      }
      next[k] = r;
    }
    if (current.length & 1) next[pairs] = current[current.length - 1];
    current = next;
  }
  let r = current[0];
  for (let m = layout.topRadix; m > 1; m = (m + 255) >>> 8) {
    out[pos++] = r & 0xff;
    r >>>= 8;
  }
}

/**
 * Decode `layout.totalBytes` bytes. Each value is reduced modulo its radix, so any input (a peer's
 * malformed key or ciphertext) decodes to in-range values, as the reference does.
 */
function decode(bytes: Buffer, layout: Layout): Uint32Array {
  // Bytes are laid out level by level: first every pair's bytes of level 0, then level 1, ... then the top.
  const starts: number[] = [];
  let pos = 0;
  for (const level of layout.levels) {
    starts.push(pos);
    for (const b of level.pairBytes) pos += b;
  }
  let top = 0;
  for (let m = layout.topRadix, shift = 1; m > 1; m = (m + 255) >>> 8, shift *= 256) top += bytes[pos++] * shift;
  let current = new Uint32Array([layout.topRadix > 1 ? top % layout.topRadix : 0]);
  for (let l = layout.levels.length - 1; l >= 0; l--) {
    const { radix, pairBytes } = layout.levels[l];
    const values = new Uint32Array(radix.length);
    let at = starts[l];
    const pairs = radix.length >> 1;
    for (let k = 0; k < pairs; k++) {
      let low = 0;
      let scale = 1;
      for (let b = pairBytes[k]; b > 0; b--, scale *= 256) low += bytes[at++] * scale;
      const r = low + scale * current[k];
      const m0 = radix[2 * k];
      values[2 * k] = r % m0;
      values[2 * k + 1] = Math.floor(r / m0) % radix[2 * k + 1];
    }
    if (radix.length & 1) values[radix.length - 1] = current[pairs];
    current = values;
  }
  return current;
}

/** Rq element (coefficients in [-Q12, Q12]) → 1158 bytes. */
export function encodeRq(poly: Int16Array): Buffer {
  const shifted = new Uint32Array(P);
  for (let i = 0; i < P; i++) shifted[i] = poly[i] + Q12;
  const out = Buffer.alloc(RQ_BYTES);
  encode(shifted, RQ_LAYOUT, out);
  return out;
}

export function decodeRq(bytes: Buffer): Int16Array {
  const values = decode(bytes, RQ_LAYOUT);
  const poly = new Int16Array(P);
  for (let i = 0; i < P; i++) poly[i] = values[i] - Q12;
  return poly;
}

/** Rounded polynomial (coefficients multiples of 3 in [-Q12, Q12]) → 1007 bytes. */
export function encodeRounded(poly: Int16Array): Buffer {
  const shifted = new Uint32Array(P);
  // (c + Q12) / 3 exactly, by multiply-and-shift rather than a division (10923 = ⌈2^15 / 3⌉).
  for (let i = 0; i < P; i++) shifted[i] = ((poly[i] + Q12) * 10923) >>> 15;
  const out = Buffer.alloc(ROUNDED_BYTES);
  encode(shifted, ROUNDED_LAYOUT, out);
  return out;
}

export function decodeRounded(bytes: Buffer): Int16Array {
  const values = decode(bytes, ROUNDED_LAYOUT);
  const poly = new Int16Array(P);
  for (let i = 0; i < P; i++) poly[i] = values[i] * 3 - Q12;
  return poly;
}

/** Small polynomial → 191 bytes: coefficient + 1 in two bits, four per byte, first in the low bits. */
export function encodeSmall(poly: Int16Array, out: Buffer, offset: number): void {
  for (let i = 0; i < SMALL_BYTES; i++) {
    let byte = 0;
    for (let j = 0; j < 4; j++) {
      const k = 4 * i + j;
      if (k < P) byte |= (poly[k] + 1) << (2 * j);
    }
    out[offset + i] = byte;
  }
}

/** The inverse of encodeSmall; the pattern 3 decodes to 2 as in the reference (only a corrupt key has it). */
export function decodeSmall(bytes: Buffer, offset: number): Int16Array {
  const poly = new Int16Array(P);
  for (let k = 0; k < P; k++) poly[k] = ((bytes[offset + (k >> 2)] >> (2 * (k & 3))) & 3) - 1;
  return poly;
}

/** Layout sizes, exported for the tests' sanity checks. */
export const ENCODED_SIZES = { rq: RQ_LAYOUT.totalBytes, rounded: ROUNDED_LAYOUT.totalBytes } as const;
