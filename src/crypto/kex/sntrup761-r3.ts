/**
 * The reciprocal in R3 = Z3[x]/(x^p - x - 1) for sntrup761 key generation ("NTRU Prime: round 3",
 * KeyGen: g must be invertible in R3, and 1/g is part of the secret key).
 *
 * Same constant-time divstep algorithm as rqReciprocal3 in sntrup761-poly.ts, but bit-sliced: a
 * polynomial of p + 1 coefficients in {-1, 0, 1} is two bit planes (bit i of `plus` set when coefficient
 * i is 1, of `minus` when it is -1) of 24 32-bit words, so one word operation handles 32 coefficients and
 * the 2p - 1 iterations cost about a millisecond instead of tens.
 */
import { P } from './sntrup761-encoding.ts';
import { negativeMask, nonzeroMask } from './sntrup761-poly.ts';

const COEFFICIENTS = P + 1;
const WORDS = Math.ceil(COEFFICIENTS / 32);
/** The valid bits of the top word: coefficients at index p + 1 and beyond are dropped. */
const TOP_MASK = 2 ** (COEFFICIENTS - 32 * (WORDS - 1)) - 1;

interface Planes {
  readonly plus: Int32Array;
  readonly minus: Int32Array;
}

const planes = (): Planes => ({ plus: new Int32Array(WORDS), minus: new Int32Array(WORDS) });

/** Coefficient i as -1, 0 or 1. */
function coefficient(a: Planes, i: number): number {
  return ((a.plus[i >> 5] >>> (i & 31)) & 1) - ((a.minus[i >> 5] >>> (i & 31)) & 1);
}

/** Sets coefficient i, which must be zero, to c in {-1, 0, 1} without branching on c. */
function setCoefficient(a: Planes, i: number, c: number): void {
  a.plus[i >> 5] |= ((c + 1) >> 1) << (i & 31);
  a.minus[i >> 5] |= ((1 - c) >> 1) << (i & 31);
}

/** a ← x·a, dropping the coefficient that moves past index p. */
function shiftUp(words: Int32Array): void {
  for (let k = WORDS - 1; k > 0; k--) words[k] = (words[k] << 1) | (words[k - 1] >>> 31);
  words[0] <<= 1;
  words[WORDS - 1] &= TOP_MASK;
}

/** a ← a/x for an a whose constant term is zero. */
function shiftDown(words: Int32Array): void {
  for (let k = 0; k < WORDS - 1; k++) words[k] = (words[k] >>> 1) | (words[k + 1] << 31);
  words[WORDS - 1] >>>= 1;
}

/**
 * (a, b) ← swap ? (b, a) : (a, b), then b ← c1·b + c2·a over F3, for scalars c1, c2 in {-1, 0, 1}.
 * A scalar becomes two masks (all ones when it is 1, resp. -1); multiplying by -1 exchanges the planes.
 * Sum of s and u: 1 where exactly one is 1 and the other 0, or both are -1 (-2 ≡ 1); -1 symmetrically.
 */
function swapAndCombine(a: Planes, b: Planes, swap: number, c1: number, c2: number): void {
  const c1Plus = -((c1 + 1) >> 1);
  const c1Minus = -((1 - c1) >> 1);
  const c2Plus = -((c2 + 1) >> 1);
  const c2Minus = -((1 - c2) >> 1);
  for (let k = 0; k < WORDS; k++) {
    let ap = a.plus[k];
    let am = a.minus[k];
    let bp = b.plus[k];
    let bm = b.minus[k];
    let t = swap & (ap ^ bp);
    ap ^= t;
    bp ^= t;
    t = swap & (am ^ bm);
    am ^= t;
    bm ^= t;
    a.plus[k] = ap;
    a.minus[k] = am;
    const sp = (c1Plus & bp) | (c1Minus & bm);
    const sm = (c1Plus & bm) | (c1Minus & bp);
    const up = (c2Plus & ap) | (c2Minus & am);
    const um = (c2Plus & am) | (c2Minus & ap);
    const sZero = ~(sp | sm);
    const uZero = ~(up | um);
    b.plus[k] = (sp & uZero) | (up & sZero) | (sm & um);
    b.minus[k] = (sm & uZero) | (um & sZero) | (sp & up);
  }
}

/**
 * 1/input in R3 and 0, or an unspecified polynomial and -1 when input is not invertible. The divstep
 * update is g ← f0·g - g0·f (f0 = ±1 is its own inverse), and at the end the reciprocal is f0·v reversed.
 */
export function r3Reciprocal(input: Int16Array): { inverse: Int16Array; failMask: number } {
  const f = planes();
  const g = planes();
  const v = planes();
  const r = planes();
  // f is the reversal of x^p - x - 1, g the reversal of input, r = 1.
  setCoefficient(f, 0, 1);
  setCoefficient(f, P - 1, -1);
  setCoefficient(f, P, -1);
  for (let i = 0; i < P; i++) setCoefficient(g, P - 1 - i, input[i]);
  setCoefficient(r, 0, 1);
  let delta = 1;

  for (let loop = 0; loop < 2 * P - 1; loop++) {
    shiftUp(v.plus);
    shiftUp(v.minus);
    const fLead = coefficient(f, 0);
    const gLead = coefficient(g, 0);
    const swap = negativeMask(-delta) & nonzeroMask(gLead);
    delta ^= swap & (delta ^ -delta);
    delta += 1;
    const leadDiff = swap & (fLead ^ gLead);
    const f0 = fLead ^ leadDiff;
    const g0 = gLead ^ leadDiff;
    swapAndCombine(f, g, swap, f0, -g0);
    swapAndCombine(v, r, swap, f0, -g0);
    shiftDown(g.plus);
    shiftDown(g.minus);
  }

  const scale = coefficient(f, 0);
  const inverse = new Int16Array(P);
  for (let i = 0; i < P; i++) inverse[i] = scale * coefficient(v, P - 1 - i);
  return { inverse, failMask: nonzeroMask(delta) };
}
