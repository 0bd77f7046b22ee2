/**
 * Polynomial arithmetic for Streamlined NTRU Prime sntrup761 ("NTRU Prime: round 3"): the rings
 * R3 = Z3[x]/(x^p - x - 1) and Rq = Zq[x]/(x^p - x - 1) with p = 761, q = 4591.
 *
 * Every polynomial is an Int16Array of p coefficients in a centred range: {-1, 0, 1} for R3 and small
 * polynomials, [-(q-1)/2, (q-1)/2] for Rq. Everything that touches secret data runs in time independent of
 * it: loops have public bounds, choices are made with arithmetic masks, and reduction uses floating-point
 * multiply and floor (constant-time instructions) instead of division or branches.
 */
import { P, Q, Q12 } from './sntrup761-encoding.ts';

export const W = 286;

const INV_Q = 1 / Q;
const INV_3 = 1 / 3;

/**
 * x mod q, centred into [-Q12, Q12]. For an integer x the quotient (x + Q12 + 1/2) / q sits at least
 * 1/(2q) away from an integer, far more than the rounding error of the product, so floor is exact.
 */
function freezeQ(x: number): number {
  return x - Q * Math.floor((x + Q12 + 0.5) * INV_Q);
}

/** x mod 3, centred into {-1, 0, 1}; exact by the same argument as freezeQ. */
function freeze3(x: number): number {
  return x - 3 * Math.floor((x + 1.5) * INV_3);
}

/** -1 when x ≠ 0, else 0 (|x| < 2^31). */
export function nonzeroMask(x: number): number {
  return (x | -x) >> 31;
}

/** -1 when x < 0, else 0 (|x| < 2^31). */
export function negativeMask(x: number): number {
  return x >> 31;
}

/**
 * a·b reduced modulo x^p - x - 1 but not yet modulo q or 3. The coefficients of a have magnitude at most
 * Q12 and those of b at most 1, so every sum stays far inside the exact range of a double.
 */
function productModXp(a: Int16Array, b: Int16Array): Float64Array {
  const aF = Float64Array.from(a);
  const bReversed = new Float64Array(P);
  for (let j = 0; j < P; j++) bReversed[j] = b[P - 1 - j];
  // Coefficient k of the product is Σ a[i]·b[k-i] = Σ a[i]·bReversed[P-1-k+i]; summing into a local per
  // coefficient is markedly faster in V8 than scattering into the accumulator row by row.
  const acc = new Float64Array(2 * P - 1);
  for (let k = 0; k < 2 * P - 1; k++) {
    const lo = k < P ? 0 : k - P + 1;
    const hi = k < P ? k : P - 1;
    const offset = P - 1 - k;
    let sum = 0;
    for (let i = lo; i <= hi; i++) sum += aF[i] * bReversed[offset + i];
    acc[k] = sum;
  }
  // x^k = x^(k-p+1) + x^(k-p) for k ≥ p; top-down, since k - p + 1 < p no term is folded twice.
  for (let k = 2 * P - 2; k >= P; k--) {
    acc[k - P] += acc[k];
    acc[k - P + 1] += acc[k];
  }
  aF.fill(0);
  bReversed.fill(0);
  return acc;
}

/** f·g in Rq, for f in Rq and g small. */
export function rqMultiplySmall(f: Int16Array, g: Int16Array): Int16Array {
  const acc = productModXp(f, g);
  const out = new Int16Array(P);
  for (let i = 0; i < P; i++) out[i] = freezeQ(acc[i]);
  return out;
}

/** f·g in R3. */
export function r3Multiply(f: Int16Array, g: Int16Array): Int16Array {
  const acc = productModXp(f, g);
  const out = new Int16Array(P);
  for (let i = 0; i < P; i++) out[i] = freeze3(acc[i]);
  return out;
}

/** 3·f in Rq. */
export function rqTimes3(f: Int16Array): Int16Array {
  const out = new Int16Array(P);
  for (let i = 0; i < P; i++) out[i] = freezeQ(3 * f[i]);
  return out;
}

/** Each coefficient of an Rq element reduced into R3 (the lift of Zq to Z is the centred one). */
export function r3FromRq(f: Int16Array): Int16Array {
  const out = new Int16Array(P);
  for (let i = 0; i < P; i++) out[i] = freeze3(f[i]);
  return out;
}

/** Round(a): each coefficient to the nearest multiple of 3 (the specification's Round). */
export function round3(a: Int16Array): Int16Array {
  const out = new Int16Array(P);
  for (let i = 0; i < P; i++) out[i] = a[i] - freeze3(a[i]);
  return out;
}

/** 0 when r has exactly w nonzero coefficients, else -1. */
export function weightMask(r: Int16Array): number {
  let weight = 0;
  for (let i = 0; i < P; i++) weight += r[i] & 1;
  return nonzeroMask(weight - W);
}

/** a^(q-2) mod q, the inverse of a in Zq (0 for 0), centred; the exponent is public. */
function inverseModQ(a: number): number {
  let result = 1;
  let base = freezeQ(a);
  for (let e = Q - 2; e > 0; e = Math.floor(e / 2)) {
    if (e & 1) result = freezeQ(result * base);
    base = freezeQ(base * base);
  }
  return result;
}

/**
 * 1/(3·input) in Rq, by the constant-time "divstep" extended gcd of Bernstein and Yang that the
 * specification's reference uses: 2p - 1 iterations, each conditionally swapping (f, v) with (g, r) and
 * eliminating the constant term of g (g ← f0·g - g0·f, r ← f0·r - g0·v). f starts as the reversal of
 * x^p - x - 1, g as the reversal of input, r as 1/3; at the end v/f0, reversed, is the reciprocal. Every
 * short polynomial is invertible in Rq (x^p - x - 1 is irreducible mod q), so no failure flag is needed.
 *
 * v shifts up by one degree and g down by one every iteration, which we do by moving each array's window
 * over a longer buffer instead of copying.
 */
export function rqReciprocal3(input: Int16Array): Int16Array {
  const n = P + 1;
  const iterations = 2 * P - 1;
  // Doubles throughout: the selects below are multiplications by 0 or 1, which keeps the loop free of
  // int/double conversions (every value is an integer far below 2^53, so the arithmetic is exact).
  const f = new Float64Array(n);
  const r = new Float64Array(n);
  const gBuf = new Float64Array(n + iterations);
  const vBuf = new Float64Array(n + iterations);
  f[0] = 1;
  f[P - 1] = -1;
  f[P] = -1;
  for (let i = 0; i < P; i++) gBuf[P - 1 - i] = input[i];
  r[0] = inverseModQ(3);
  let delta = 1;

  for (let loop = 0; loop < iterations; loop++) {
    // v ← x·v: the window moves down and its new constant term is still zero. g's window moves up.
    const v = vBuf.subarray(iterations - 1 - loop);
    const g = gBuf.subarray(loop);
    const fLead = f[0];
    const gLead = g[0];
    const swapMask = negativeMask(-delta) & nonzeroMask(gLead);
    delta ^= swapMask & (delta ^ -delta);
    delta += 1;
    const swap = -swapMask; // 1 to swap, else 0
    const f0 = fLead + swap * (gLead - fLead);
    const g0 = gLead - swap * (gLead - fLead);
    eliminateQ(f, g, n, swap, f0, g0);
    // v and r are zero above degree loop + 1, so the rest of their work is skipped (a public bound).
    eliminateQ(v, r, Math.min(n, loop + 2), swap, f0, g0);
    // g ← g / x next time round: its constant term is now zero, and the new top, gBuf[loop + 1 + P],
    // was never written.
  }

  const vFinal = vBuf.subarray(0, n); // the window has reached the start of the buffer
  const scale = inverseModQ(f[0]);
  const inverse = new Int16Array(P);
  for (let i = 0; i < P; i++) inverse[i] = freezeQ(scale * vFinal[P - 1 - i]);
  return inverse;
}

/**
 * One divstep's update of a pair of arrays: (a, b) ← swap ? (b, a) : (a, b) for swap in {0, 1}, then
 * b ← f0·b - g0·a in Zq, with freezeQ written out so that it is inlined.
 */
function eliminateQ(a: Float64Array, b: Float64Array, count: number, swap: number, f0: number, g0: number): void {
  for (let i = 0; i < count; i++) {
    const ai = a[i];
    const bi = b[i];
    const d = swap * (bi - ai);
    const as = ai + d;
    const x = f0 * (bi - d) - g0 * as;
    a[i] = as;
    b[i] = x - Q * Math.floor((x + (Q12 + 0.5)) * INV_Q);
  }
}

/**
 * A short polynomial (exactly w coefficients ±1) from p random 32-bit words, as the specification's
 * Short_fromlist: the first w words are forced even (they become ±1), the rest ≡ 1 mod 4 (they become 0),
 * and sorting the words shuffles the coefficients. The sort is a fixed bitonic network with masked
 * compare-and-swap, so its memory accesses do not depend on the words.
 */
export function shortFromList(words: Uint32Array): Int16Array {
  const size = 1024; // the next power of two above p; the padding sorts to the end
  const list = new Uint32Array(size).fill(0xffffffff);
  for (let i = 0; i < W; i++) list[i] = words[i] & ~1;
  for (let i = W; i < P; i++) list[i] = (words[i] & ~3) | 1;
  for (let block = 2; block <= size; block *= 2) {
    for (let stride = block >> 1; stride > 0; stride >>= 1) {
      for (let i = 0; i < size; i++) {
        const j = i ^ stride;
        if (j <= i) continue;
        // Ascending in blocks with the `block` bit clear, descending in the others.
        const lo = (i & block) === 0 ? i : j;
        const hi = lo === i ? j : i;
        const a = list[lo];
        const b = list[hi];
        // -1 exactly when b < a: b - a lies in (-2^32, 2^32), so the scaled value's floor is 0 or -1.
        const swap = Math.floor((b - a) * 2 ** -32);
        const t = swap & (a ^ b);
        list[lo] = a ^ t;
        list[hi] = b ^ t;
      }
    }
  }
  const out = new Int16Array(P);
  for (let i = 0; i < P; i++) out[i] = (list[i] & 3) - 1;
  return out;
}

/** A uniformly random small polynomial from p random 32-bit words (the specification's Small_random). */
export function smallFromList(words: Uint32Array): Int16Array {
  const out = new Int16Array(P);
  // ((u mod 2^30)·3) / 2^30 is 0, 1 or 2 with nearly equal probability; the product is below 2^32.
  for (let i = 0; i < P; i++) out[i] = (((words[i] & 0x3fffffff) * 3) >>> 30) - 1;
  return out;
}
