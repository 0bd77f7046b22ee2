/**
 * The TypeScript ChaCha20 block that gives chacha20-poly1305@openssh.com its length keystream and Poly1305
 * key without an OpenSSL context per packet (issue 17): block 0 for the sequence number as nonce, compared
 * with OpenSSL's "chacha20" given the same key and the IV counter 0 || uint64 sequence big-endian.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { ChachaBlock } from '../../../src/crypto/cipher/chacha20-block.ts';

function openssl(key: Buffer, sequence: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(sequence, 12);
  return createCipheriv('chacha20', key, iv).update(Buffer.alloc(64));
}

describe('ChaCha20 block 0 (DJB layout, sequence number as nonce)', () => {
  it('matches OpenSSL for random keys and sequence numbers across the uint32 range', () => {
    const sequences = [0, 1, 2, 255, 256, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, ...Array.from({ length: 50 }, () => randomBytes(4).readUInt32BE(0))];
    for (const sequence of sequences) {
      const key = randomBytes(32);
      const block = new ChachaBlock(key);
      block.blockZero(sequence);
      const bytes = Buffer.alloc(64);
      block.writeBytes(bytes, 0, 16);
      assert.deepEqual(bytes, openssl(key, sequence), `sequence ${sequence}`);
    }
  });

  it('writes only the words asked for, where asked', () => {
    const key = randomBytes(32);
    const block = new ChachaBlock(key);
    block.blockZero(9);
    const target = Buffer.alloc(40, 0xee);
    block.writeBytes(target, 4, 8);
    assert.deepEqual(target.subarray(4, 36), openssl(key, 9).subarray(0, 32));
    assert.deepEqual(target.subarray(0, 4), Buffer.alloc(4, 0xee));
    assert.deepEqual(target.subarray(36), Buffer.alloc(4, 0xee));
  });

  it('refuses keys that are not 32 bytes', () => {
    assert.throws(() => new ChachaBlock(Buffer.alloc(31)), RangeError);
  });
});
