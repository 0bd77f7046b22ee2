/**
 * chacha20-poly1305@openssh.com against an independent model written from PROTOCOL.chacha20poly1305 with a
 * plain-TypeScript ChaCha20 in DJB's original layout (64-bit counter, 64-bit nonce), itself checked against
 * RFC 8439 vectors. This pins down the OpenSSL IV mapping the implementation relies on.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { createOpener, createSealer, MacError } from '../../../src/crypto/cipher/index.ts';
import { poly1305 } from '../../../src/crypto/cipher/poly1305.ts';
import { DecodeError } from '../../../src/wire/errors.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/[\s:]/g, ''), 'hex');

/** ChaCha20 keystream, original layout: words 12–13 = 64-bit block counter, 14–15 = 8 nonce bytes (LE words). */
function referenceKeystream(key: Buffer, nonce: Buffer, counter: bigint, length: number): Buffer {
  const out = Buffer.alloc(Math.ceil(length / 64) * 64);
  const rotl = (v: number, n: number): number => ((v << n) | (v >>> (32 - n))) >>> 0;
  for (let block = 0; block * 64 < length; block++) {
    const count = counter + BigInt(block);
    const state = [
      0x61707865, 0x3320646e, 0x79622d32, 0x6b206574,
      ...Array.from({ length: 8 }, (_, i) => key.readUInt32LE(4 * i)),
      Number(count & 0xffffffffn), Number((count >> 32n) & 0xffffffffn),
      nonce.readUInt32LE(0), nonce.readUInt32LE(4),
    ];
    const x = [...state];
    const quarter = (a: number, b: number, c: number, d: number): void => {
      x[a] = (x[a]! + x[b]!) >>> 0; x[d] = rotl(x[d]! ^ x[a]!, 16);
      x[c] = (x[c]! + x[d]!) >>> 0; x[b] = rotl(x[b]! ^ x[c]!, 12);
      x[a] = (x[a]! + x[b]!) >>> 0; x[d] = rotl(x[d]! ^ x[a]!, 8);
      x[c] = (x[c]! + x[d]!) >>> 0; x[b] = rotl(x[b]! ^ x[c]!, 7);
    };
    for (let round = 0; round < 10; round++) {
      quarter(0, 4, 8, 12); quarter(1, 5, 9, 13); quarter(2, 6, 10, 14); quarter(3, 7, 11, 15);
      quarter(0, 5, 10, 15); quarter(1, 6, 11, 12); quarter(2, 7, 8, 13); quarter(3, 4, 9, 14);
    }
    for (let i = 0; i < 16; i++) out.writeUInt32LE((x[i]! + state[i]!) >>> 0, block * 64 + 4 * i);
  }
  return out.subarray(0, length);
}

const xor = (data: Buffer, stream: Buffer): Buffer => Buffer.from(data.map((byte, i) => byte ^ stream[i]!));
const seqNonce = (sequence: number): Buffer => {
  const nonce = Buffer.alloc(8);
  nonce.writeBigUInt64BE(BigInt(sequence));
  return nonce;
};

/** Builds a packet exactly as PROTOCOL.chacha20poly1305 describes, from the independent model. */
function modelSeal(key: Buffer, sequence: number, payload: Buffer, padding: number): Buffer {
  const [k2, k1] = [key.subarray(0, 32), key.subarray(32)];
  const plain = Buffer.alloc(4 + 1 + payload.length + padding, 0x5a);
  plain.writeUInt32BE(1 + payload.length + padding, 0);
  plain[4] = padding;
  payload.copy(plain, 5);
  const nonce = seqNonce(sequence);
  const encryptedLength = xor(plain.subarray(0, 4), referenceKeystream(k1, nonce, 0n, 4));
  const encryptedBody = xor(plain.subarray(4), referenceKeystream(k2, nonce, 1n, plain.length - 4));
  const polyKey = referenceKeystream(k2, nonce, 0n, 32);
  const body = Buffer.concat([encryptedLength, encryptedBody]);
  return Buffer.concat([body, poly1305(polyKey, body)]);
}

describe('ChaCha20 model (test oracle)', () => {
  it('matches RFC 8439 §2.6.2 and A.4 Poly1305 key generation (counter 0)', () => {
    const cases = [
      { key: Buffer.alloc(32), nonce: Buffer.alloc(12), otk: '76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7' },
      {
        key: hex('00'.repeat(31) + '01'),
        nonce: hex('00'.repeat(11) + '02'),
        otk: 'ecfa254f845f647473d3cb140da9e87606cb33066c447b87bc2666dde3fbb739',
      },
      {
        key: hex('1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0'),
        nonce: hex('00'.repeat(11) + '02'),
        otk: '965e3bc6f9ec7ed9560808f4d229f94b137ff275ca9b3fcbdd59deaad23310ae',
      },
      {
        key: hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f'),
        nonce: hex('000000000001020304050607'),
        otk: '8ad5a08b905f81cc815040274ab29471a833b637e3fd0da508dbb8e2fdd1a646',
      },
    ];
    for (const { key, nonce, otk } of cases) {
      // The 12-byte IETF nonce's first word is the high half of the original layout's 64-bit counter.
      const counter = BigInt(nonce.readUInt32LE(0)) << 32n;
      assert.equal(referenceKeystream(key, nonce.subarray(4), counter, 32).toString('hex'), otk);
      // ...and OpenSSL's chacha20 with IV = counter(LE 8) || nonce(8) produces the same bytes.
      const iv = Buffer.concat([Buffer.alloc(4), nonce]);
      assert.equal(createCipheriv('chacha20', key, iv).update(Buffer.alloc(32)).toString('hex'), otk);
    }
  });

  it('matches the RFC 8439 §2.8.2 keystream from block counter 1', () => {
    const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const expected = hex(
      '9f7be95d01fd40ba15e28ffb36810aaec1c0883f09016ededd8ad087558203a54e9ecb38ac8e5e2bb8dab20ffadb52e8' +
        '7504b26ebe696d4f60a485cf11b81b59fcb1c45f4219eeacec6adec34e6669788edb41c49ca301e127e0acab3b44b9cf' +
        '5c86bb95e06b0df2901ab645e4abe6221538',
    );
    // Nonce 07 00 00 00 || 40..47: word 13 = 7 is the counter's high half in the original layout.
    const keystream = referenceKeystream(key, hex('4041424344454647'), (7n << 32n) + 1n, expected.length);
    assert.deepEqual(keystream, expected);
  });
});

describe('chacha20-poly1305@openssh.com', () => {
  const cipher = 'chacha20-poly1305@openssh.com';
  const keysFor = (key: Buffer) => ({ cipher, mac: '', encryptionKey: key, iv: Buffer.alloc(0), integrityKey: Buffer.alloc(0) });
  const sequences = [0, 1, 2, 3, 255, 256, 0x01020304, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

  it('opens packets built by the PROTOCOL.chacha20poly1305 model, for many sequence numbers', () => {
    const key = randomBytes(64);
    for (const sequence of sequences) {
      const opener = createOpener(keysFor(key));
      const payload = randomBytes(sequence % 300);
      // The least padding >= 4 that aligns padding_length || payload || padding to 8 bytes.
      let padding = 4;
      while ((1 + payload.length + padding) % 8 !== 0) padding++;
      const wire = modelSeal(key, sequence, payload, padding);
      const length = opener.packetLength(sequence, wire.subarray(0, opener.headerLength));
      assert.equal(length + 4 + 16, wire.length);
      assert.deepEqual(opener.open(sequence, wire), payload, `sequence ${sequence}`);
    }
  });

  it('seals packets the model can decrypt and authenticate', () => {
    const key = randomBytes(64);
    const [k2, k1] = [key.subarray(0, 32), key.subarray(32)];
    const sealer = createSealer(keysFor(key));
    for (const sequence of sequences) {
      const payload = randomBytes((sequence * 7) % 200);
      const wire = sealer.seal(sequence, payload);
      const nonce = seqNonce(sequence);
      const length = xor(wire.subarray(0, 4), referenceKeystream(k1, nonce, 0n, 4)).readUInt32BE(0);
      assert.equal(wire.length, 4 + length + 16);
      assert.equal(length % 8, 0);
      const tag = poly1305(referenceKeystream(k2, nonce, 0n, 32), wire.subarray(0, 4 + length));
      assert.deepEqual(wire.subarray(4 + length), tag);
      const body = xor(wire.subarray(4, 4 + length), referenceKeystream(k2, nonce, 1n, length));
      const padding = body[0]!;
      assert.ok(padding >= 4);
      assert.deepEqual(body.subarray(1, length - padding), payload);
    }
  });

  it('bodies on both sides of the small-body threshold (TypeScript blocks / OpenSSL) match the model both ways', () => {
    const key = randomBytes(64);
    const [k2, k1] = [key.subarray(0, 32), key.subarray(32)];
    const sealer = createSealer(keysFor(key));
    const opener = createOpener(keysFor(key));
    for (const [index, size] of [0, 1, 59, 60, 63, 64, 123, 490, 500, 503, 504, 505, 511, 512, 513, 520, 1000, 4096, 32768].entries()) {
      const sequence = 0xfffffff0 + index;
      const payload = randomBytes(size);
      const wire = sealer.seal(sequence >>> 0, payload);
      const nonce = seqNonce(sequence >>> 0);
      const length = xor(wire.subarray(0, 4), referenceKeystream(k1, nonce, 0n, 4)).readUInt32BE(0);
      const body = xor(wire.subarray(4, 4 + length), referenceKeystream(k2, nonce, 1n, length));
      assert.deepEqual(body.subarray(1, length - body[0]!), payload, `sealed, payload ${size}`);
      let padding = 4;
      while ((1 + size + padding) % 8 !== 0) padding++;
      const modelled = modelSeal(key, sequence >>> 0, payload, padding);
      opener.packetLength(sequence >>> 0, modelled.subarray(0, 4));
      assert.deepEqual(opener.open(sequence >>> 0, modelled), payload, `opened, payload ${size}`);
    }
  });

  it('decrypts the length with K_1 only, before authenticating', () => {
    const key = randomBytes(64);
    const wire = createSealer(keysFor(key)).seal(9, Buffer.alloc(100));
    const opener = createOpener(keysFor(key));
    assert.equal(opener.headerLength, 4);
    assert.equal(opener.packetLength(9, wire.subarray(0, 4)), wire.length - 4 - 16);
  });

  it('rejects a wrong sequence number, and any flipped bit', () => {
    const key = randomBytes(64);
    const sealer = createSealer(keysFor(key));
    const wire = sealer.seal(5, randomBytes(40));
    // Wrong sequence number: the length decrypts to garbage (DecodeError) or the tag fails (MacError).
    const wrongSequence = createOpener(keysFor(key));
    assert.throws(() => {
      const length = wrongSequence.packetLength(6, wire.subarray(0, 4));
      wrongSequence.open(6, wire.subarray(0, 4 + length + 16));
    }, (error: unknown) => error instanceof MacError || error instanceof DecodeError);

    for (const bit of [4 * 8 + 3, 20 * 8, (wire.length - 17) * 8 + 7, (wire.length - 1) * 8]) {
      const tampered = Buffer.from(wire);
      tampered[bit >> 3]! ^= 1 << (bit & 7);
      const opener = createOpener(keysFor(key));
      opener.packetLength(5, tampered.subarray(0, 4));
      assert.throws(() => opener.open(5, tampered), MacError, `bit ${bit}`);
    }
  });
});
