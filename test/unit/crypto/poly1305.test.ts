import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { poly1305, poly1305PairInto } from '../../../src/crypto/cipher/poly1305.ts';
import { POLY1305_WASM_BASE64 } from '../../../src/crypto/cipher/poly1305-wasm-module.ts';
import { MODULE_PATH, WAT_PATH, assemble, moduleSource } from '../../../scripts/assemble-wasm.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/[\s:]/g, ''), 'hex');

const IETF_TEXT = Buffer.from(
  'Any submission to the IETF intended by the Contributor for publication as all or part of an IETF ' +
    'Internet-Draft or RFC and any statement made within the context of an IETF activity is considered an ' +
    '"IETF Contribution". Such statements include oral statements in IETF sessions, as well as written and ' +
    'electronic communications made at any time or place, which are addressed to',
);
const JABBERWOCKY = Buffer.from(
  "'Twas brillig, and the slithy toves\nDid gyre and gimble in the wabe:\nAll mimsy were the borogoves,\n" +
    'And the mome raths outgrabe.',
);

describe('Poly1305 (RFC 8439)', () => {
  it('matches the §2.5.2 example', () => {
    const key = hex('85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b');
    const tag = poly1305(key, Buffer.from('Cryptographic Forum Research Group'));
    assert.equal(tag.toString('hex'), 'a8061dc1305136c6c22b8baf0c0127a9');
  });

  // Appendix A.3; the key is r || s.
  const vectors: { name: string; r: string; s: string; data: Buffer; tag: string }[] = [
    { name: '#1 all zero', r: '00'.repeat(16), s: '00'.repeat(16), data: Buffer.alloc(64), tag: '00'.repeat(16) },
    { name: '#2 r = 0', r: '00'.repeat(16), s: '36e5f6b5c5e06070f0efca96227a863e', data: IETF_TEXT, tag: '36e5f6b5c5e06070f0efca96227a863e' },
    { name: '#3 s = 0', r: '36e5f6b5c5e06070f0efca96227a863e', s: '00'.repeat(16), data: IETF_TEXT, tag: 'f3477e7cd95417af89a6b8794c310cf0' },
    {
      name: '#4 jabberwocky',
      r: '1c9240a5eb55d38af333888604f6b5f0',
      s: '473917c1402b80099dca5cbc207075c0',
      data: JABBERWOCKY,
      tag: '4541669a7eaaee61e708dc7cbcc5eb62',
    },
    { name: '#5 partially reduced', r: '02' + '00'.repeat(15), s: '00'.repeat(16), data: hex('ff'.repeat(16)), tag: '03' + '00'.repeat(15) },
    { name: '#6 s overflow', r: '02' + '00'.repeat(15), s: 'ff'.repeat(16), data: hex('02' + '00'.repeat(15)), tag: '03' + '00'.repeat(15) },
    {
      name: '#7 carry from lower limb',
      r: '01' + '00'.repeat(15),
      s: '00'.repeat(16),
      data: hex('ff'.repeat(16) + 'f0' + 'ff'.repeat(15) + '11' + '00'.repeat(15)),
      tag: '05' + '00'.repeat(15),
    },
    {
      name: '#8 result exactly 2^130-5',
      r: '01' + '00'.repeat(15),
      s: '00'.repeat(16),
      data: hex('ff'.repeat(16) + 'fb' + 'fe'.repeat(15) + '01'.repeat(16)),
      tag: '00'.repeat(16),
    },
    { name: '#9 result 2^130-6', r: '02' + '00'.repeat(15), s: '00'.repeat(16), data: hex('fd' + 'ff'.repeat(15)), tag: 'fa' + 'ff'.repeat(15) },
    {
      name: '#10 131-bit intermediate',
      r: '0100000000000000' + '0400000000000000',
      s: '00'.repeat(16),
      data: hex(
        'e33594d7505e43b9' + '0000000000000000' + '3394d7505e4379cd' + '0100000000000000' + '00'.repeat(16) +
          '01' + '00'.repeat(15),
      ),
      tag: '1400000000000000' + '5500000000000000',
    },
    {
      name: '#11 131-bit final',
      r: '0100000000000000' + '0400000000000000',
      s: '00'.repeat(16),
      data: hex('e33594d7505e43b9' + '0000000000000000' + '3394d7505e4379cd' + '0100000000000000' + '00'.repeat(16)),
      tag: '13' + '00'.repeat(15),
    },
  ];
  for (const vector of vectors) {
    it(`matches appendix A.3 vector ${vector.name}`, () => {
      assert.equal(poly1305(hex(vector.r + vector.s), vector.data).toString('hex'), vector.tag);
    });
  }

  it('returns s for an empty message', () => {
    const key = randomBytes(32);
    assert.deepEqual(poly1305(key, Buffer.alloc(0)), key.subarray(16));
  });

  it('agrees with OpenSSL (via the RFC 8439 AEAD tag) for random keys and every length up to 300', () => {
    // OpenSSL's AEAD tag is Poly1305(otk, aad || pad16 || ciphertext || pad16 || le64 aad_len || le64 ct_len)
    // with otk = ChaCha20 block 0. Rebuilding that message lets OpenSSL's Poly1305 check ours.
    const lengths = [...Array.from({ length: 301 }, (_, i) => i), 1024, 4095, 32768 + 7];
    for (const length of lengths) {
      const key = randomBytes(32);
      const nonce = randomBytes(12);
      const aad = randomBytes(length % 23);
      const plaintext = randomBytes(length);
      const aead = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
      aead.setAAD(aad, { plaintextLength: plaintext.length });
      const ciphertext = aead.update(plaintext);
      aead.final();
      const expected = aead.getAuthTag();

      const oneTimeKey = createCipheriv('chacha20', key, Buffer.concat([Buffer.alloc(4), nonce]))
        .update(Buffer.alloc(32));
      const lengthsBlock = Buffer.alloc(16);
      lengthsBlock.writeUInt32LE(aad.length, 0);
      lengthsBlock.writeUInt32LE(ciphertext.length, 8);
      const message = Buffer.concat([
        aad,
        Buffer.alloc((16 - (aad.length % 16)) % 16),
        ciphertext,
        Buffer.alloc((16 - (ciphertext.length % 16)) % 16),
        lengthsBlock,
      ]);
      assert.deepEqual(poly1305(oneTimeKey, message), expected, `length ${length}`);
    }
  });

  it('stays exact at the extremes of the limb bounds (all-ones r and message)', () => {
    // Largest clamped r and all-0xff blocks maximise every limb product; a BigInt model is the reference.
    // The longest message spans more than one copy of the WebAssembly module's 64 KiB window.
    const reference = (key: Buffer, message: Buffer): Buffer => {
      const le = (bytes: Buffer): bigint => BigInt('0x' + (Buffer.from(bytes).reverse().toString('hex') || '0'));
      const p = (1n << 130n) - 5n;
      const r = le(key.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
      let h = 0n;
      for (let at = 0; at < message.length; at += 16) {
        const block = message.subarray(at, at + 16);
        h = ((h + le(block) + (1n << BigInt(8 * block.length))) * r) % p;
      }
      const tag = (h + le(key.subarray(16))) & ((1n << 128n) - 1n);
      return Buffer.from(tag.toString(16).padStart(32, '0'), 'hex').reverse();
    };
    for (const length of [16, 17, 31, 64, 1000, 4096, 65_536 + 16 * 3 + 5]) {
      for (const fill of [0xff, 0xfe, 0x00]) {
        const key = Buffer.alloc(32, 0xff);
        const message = Buffer.alloc(length, fill);
        assert.deepEqual(poly1305(key, message), reference(key, message), `length ${length} fill ${fill}`);
      }
      const key = randomBytes(32);
      const message = randomBytes(length);
      assert.deepEqual(poly1305(key, message), reference(key, message), `random, length ${length}`);
    }
  });

  it('authenticates two parts as their concatenation, at every split and across the 64 KiB window', () => {
    const key = randomBytes(32);
    const message = randomBytes(70_000);
    const tag = Buffer.alloc(16);
    for (const split of [0, 1, 4, 15, 16, 17, 4096, 65_535, 65_536, 65_537, 69_999, 70_000]) {
      poly1305PairInto(key, message.subarray(0, split), message.subarray(split), tag, 0);
      assert.deepEqual(tag, poly1305(key, message), `split at ${split}`);
    }
  });

  it('the committed WebAssembly module is what poly1305.wat assembles to', () => {
    const assembled = assemble(readFileSync(WAT_PATH, 'utf8'));
    assert.equal(Buffer.from(assembled).toString('base64'), POLY1305_WASM_BASE64);
    assert.equal(readFileSync(MODULE_PATH, 'utf8'), moduleSource(assembled), 'regenerate: node scripts/assemble-wasm.ts');
  });

  it('rejects keys that are not 32 bytes', () => {
    assert.throws(() => poly1305(Buffer.alloc(16), Buffer.alloc(1)), RangeError);
  });
});
