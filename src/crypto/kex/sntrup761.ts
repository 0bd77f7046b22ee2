/**
 * Streamlined NTRU Prime sntrup761, the KEM half of OpenSSH's sntrup761x25519-sha512 key exchange
 * (draft-josefsson-ntruprime-ssh; "NTRU Prime: round 3", parameters p = 761, q = 4591, w = 286).
 * Keys, ciphertexts and secrets are byte-for-byte those of the reference implementation (checked against
 * the published NIST known-answer tests), so they interoperate with OpenSSH.
 *
 * Secret key layout: f (small, 191 bytes) ‖ 1/g in R3 (small, 191) ‖ public key (1158) ‖ rho (191 random
 * bytes for implicit rejection) ‖ Hash4(public key) (32). Ciphertext: Rounded(h·r) (1007) ‖ confirmation
 * hash (32). HashN(x) is the first 32 bytes of SHA-512(N ‖ x).
 */
import { createHash, randomBytes } from 'node:crypto';
import { ProtocolError } from '../../wire/errors.ts';
import {
  P,
  ROUNDED_BYTES,
  RQ_BYTES,
  SMALL_BYTES,
  decodeRounded,
  decodeRq,
  decodeSmall,
  encodeRounded,
  encodeRq,
  encodeSmall,
} from './sntrup761-encoding.ts';
import {
  W,
  r3FromRq,
  r3Multiply,
  rqReciprocal3,
  round3,
  rqMultiplySmall,
  rqTimes3,
  shortFromList,
  smallFromList,
  weightMask,
} from './sntrup761-poly.ts';
import { r3Reciprocal } from './sntrup761-r3.ts';

export interface Sntrup761KeyPair {
  readonly publicKey: Buffer;
  readonly secretKey: Buffer;
}

const HASH_BYTES = 32;
export const SNTRUP761_PUBLIC_KEY_BYTES = RQ_BYTES;
export const SNTRUP761_CIPHERTEXT_BYTES = ROUNDED_BYTES + HASH_BYTES;
export const SNTRUP761_SECRET_KEY_BYTES = 2 * SMALL_BYTES + RQ_BYTES + SMALL_BYTES + HASH_BYTES;
export const SNTRUP761_SHARED_SECRET_BYTES = HASH_BYTES;

const KEX_FAILED = 3;

/**
 * A source of n random bytes (crypto.randomBytes by default; the known-answer tests pass a DRBG). The
 * buffers it returns are consumed: they are zeroed once used.
 */
type Random = (n: number) => Buffer;

/** HashN(x): the first 32 bytes of SHA-512 of the prefix byte N followed by the parts (the spec's Hash). */
function hashPrefix(prefix: number, ...parts: Buffer[]): Buffer {
  const hash = createHash('sha512').update(Buffer.of(prefix));
  for (const part of parts) hash.update(part);
  return hash.digest().subarray(0, HASH_BYTES);
}

/**
 * p little-endian 32-bit words from one 4p-byte draw. (The round-3 submission's reference drew each word
 * separately; the values are the same, only the known-answer tests' DRBG call pattern differs.)
 */
function randomWords(random: Random): Uint32Array {
  const bytes = draw(random, 4 * P);
  const words = new Uint32Array(P);
  for (let i = 0; i < P; i++) words[i] = bytes.readUInt32LE(4 * i);
  bytes.fill(0);
  return words;
}

function draw(random: Random, n: number): Buffer {
  const bytes = random(n);
  if (!Buffer.isBuffer(bytes) || bytes.length !== n) throw new RangeError('sntrup761: short read from the random source');
  return bytes;
}

function checkLength(value: Buffer, expected: number, what: string): void {
  if (!Buffer.isBuffer(value) || value.length !== expected) {
    throw new ProtocolError(`invalid sntrup761 ${what} length`, KEX_FAILED);
  }
}

/**
 * A fresh key pair: KeyGen (g random small and invertible in R3, f short, public h = g / (3f) in Rq), then
 * the secret key extended with the public key, rho and Hash4(pk), as the reference's KEM keypair does.
 */
export function sntrup761KeyPair(random: Random = randomBytes): Sntrup761KeyPair {
  let g: Int16Array;
  let gInverse: Int16Array;
  for (;;) {
    // Retrying depends only on whether g is invertible, which reveals nothing about the kept g.
    g = smallFromList(randomWords(random));
    const { inverse, failMask } = r3Reciprocal(g);
    gInverse = inverse;
    if (failMask === 0) break;
  }
  const f = shortFromList(randomWords(random));
  const fInverse3 = rqReciprocal3(f); // 1/(3f)
  const publicKey = encodeRq(rqMultiplySmall(fInverse3, g));

  const secretKey = Buffer.alloc(SNTRUP761_SECRET_KEY_BYTES);
  encodeSmall(f, secretKey, 0);
  encodeSmall(gInverse, secretKey, SMALL_BYTES);
  publicKey.copy(secretKey, 2 * SMALL_BYTES);
  const rho = draw(random, SMALL_BYTES);
  rho.copy(secretKey, 2 * SMALL_BYTES + RQ_BYTES);
  rho.fill(0);
  hashPrefix(4, publicKey).copy(secretKey, 2 * SMALL_BYTES + RQ_BYTES + SMALL_BYTES);
  return { publicKey, secretKey };
}

/**
 * Hide: the ciphertext for short r under the public key, with r's encoding, which the session hash
 * covers. `pkHash` is Hash4(public key).
 */
function hide(r: Int16Array, publicKey: Buffer, pkHash: Buffer): { ciphertext: Buffer; rEncoded: Buffer } {
  const rEncoded = Buffer.alloc(SMALL_BYTES);
  encodeSmall(r, rEncoded, 0);
  const h = decodeRq(publicKey);
  const ciphertext = Buffer.alloc(SNTRUP761_CIPHERTEXT_BYTES);
  encodeRounded(round3(rqMultiplySmall(h, r))).copy(ciphertext, 0);
  // Confirm = Hash2(Hash3(r) ‖ Hash4(pk)).
  hashPrefix(2, hashPrefix(3, rEncoded), pkHash).copy(ciphertext, ROUNDED_BYTES);
  return { ciphertext, rEncoded };
}

/** Session key: Hash1(Hash3(r) ‖ ciphertext) on success, Hash0(Hash3(rho) ‖ ciphertext) on rejection. */
function sessionKey(prefix: number, rEncoded: Buffer, ciphertext: Buffer): Buffer {
  return Buffer.from(hashPrefix(prefix, hashPrefix(3, rEncoded), ciphertext));
}

/** Encap: a random short r hidden under the public key; throws ProtocolError on a wrong-length key. */
export function sntrup761Encapsulate(
  publicKey: Buffer,
  random: Random = randomBytes,
): { ciphertext: Buffer; sharedSecret: Buffer } {
  checkLength(publicKey, SNTRUP761_PUBLIC_KEY_BYTES, 'public key');
  const pkHash = hashPrefix(4, publicKey);
  const r = shortFromList(randomWords(random));
  const { ciphertext, rEncoded } = hide(r, publicKey, pkHash);
  const sharedSecret = sessionKey(1, rEncoded, ciphertext);
  rEncoded.fill(0);
  r.fill(0);
  return { ciphertext, sharedSecret };
}

/**
 * Decap with implicit rejection: a ciphertext that does not re-encrypt to itself yields a secret derived
 * from rho instead of an error, chosen by mask so timing does not tell the two apart. Only a wrong length
 * throws (ProtocolError, reason KEY_EXCHANGE_FAILED).
 */
export function sntrup761Decapsulate(ciphertext: Buffer, secretKey: Buffer): Buffer {
  checkLength(ciphertext, SNTRUP761_CIPHERTEXT_BYTES, 'ciphertext');
  checkLength(secretKey, SNTRUP761_SECRET_KEY_BYTES, 'secret key');
  const f = decodeSmall(secretKey, 0);
  const gInverse = decodeSmall(secretKey, SMALL_BYTES);
  const publicKey = secretKey.subarray(2 * SMALL_BYTES, 2 * SMALL_BYTES + RQ_BYTES);
  const rho = secretKey.subarray(2 * SMALL_BYTES + RQ_BYTES, 2 * SMALL_BYTES + RQ_BYTES + SMALL_BYTES);
  const pkHash = secretKey.subarray(2 * SMALL_BYTES + RQ_BYTES + SMALL_BYTES);

  // Decrypt: e = 3·f·c in R3, r = e / g; a result of the wrong weight becomes a fixed short r.
  const c = decodeRounded(ciphertext.subarray(0, ROUNDED_BYTES));
  const e = r3FromRq(rqTimes3(rqMultiplySmall(c, f)));
  const ev = r3Multiply(e, gInverse);
  const wrong = weightMask(ev);
  const r = new Int16Array(P);
  for (let i = 0; i < W; i++) r[i] = ((ev[i] ^ 1) & ~wrong) ^ 1;
  for (let i = W; i < P; i++) r[i] = ev[i] & ~wrong;

  const { ciphertext: again, rEncoded } = hide(r, publicKey, pkHash);
  let difference = 0;
  for (let i = 0; i < SNTRUP761_CIPHERTEXT_BYTES; i++) difference |= ciphertext[i] ^ again[i];
  // mask = 0 when the ciphertexts match, -1 otherwise (difference is a byte, so difference - 1 < 0 iff 0).
  const mask = ~((difference - 1) >> 31);
  for (let i = 0; i < SMALL_BYTES; i++) rEncoded[i] ^= mask & (rEncoded[i] ^ rho[i]);
  const sharedSecret = sessionKey(1 + mask, rEncoded, ciphertext);
  rEncoded.fill(0);
  f.fill(0);
  gInverse.fill(0);
  r.fill(0);
  ev.fill(0);
  e.fill(0);
  return sharedSecret;
}
