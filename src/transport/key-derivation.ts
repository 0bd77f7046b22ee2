/**
 * Exchange-hash helpers and key derivation (RFC 4253 §7.2).
 */
import { createHash } from 'node:crypto';
import { Writer } from '../wire/writer.ts';
import type { HashName, KexMethod } from '../crypto/kex/methods.ts';

export function hashOf(name: HashName, data: Buffer): Buffer {
  return createHash(name).update(data).digest();
}

/**
 * K in the form in which it enters the exchange hash and every key derivation: an mpint for DH and ECDH
 * (RFC 4253 §7.2, §8), a string for the hybrid methods, whose K is a hash output (methods.ts).
 */
export function encodeSharedSecret(secret: Buffer, encoding: KexMethod['secretEncoding']): Buffer {
  const writer = new Writer(secret.length + 8);
  return Buffer.from((encoding === 'string' ? writer.string(secret) : writer.mpint(secret)).finish());
}

/**
 * Derives `length` bytes of key material for `letter` ('A'…'F'):
 * K1 = HASH(K || H || letter || session_id), Kn = HASH(K || H || K1 || … || Kn-1).
 */
export function deriveKey(
  hash: HashName,
  encodedSecret: Buffer,
  exchangeHash: Buffer,
  letter: string,
  sessionId: Buffer,
  length: number,
): Buffer {
  if (length === 0) return Buffer.alloc(0);
  const blocks = [
    createHash(hash).update(encodedSecret).update(exchangeHash).update(letter, 'latin1').update(sessionId).digest(),
  ];
  let total = blocks[0]!.length;
  while (total < length) {
    const next = createHash(hash).update(encodedSecret).update(exchangeHash);
    for (const block of blocks) next.update(block);
    const digest = next.digest();
    blocks.push(digest);
    total += digest.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}
