/**
 * Streamlined NTRU Prime sntrup761: the NIST known-answer tests (byte-exact keys, ciphertexts and secrets,
 * against the digests PQClean and liboqs publish), round trips, implicit rejection of a tampered ciphertext,
 * length checks, and the ring arithmetic and encodings on their own.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  SNTRUP761_CIPHERTEXT_BYTES,
  SNTRUP761_PUBLIC_KEY_BYTES,
  SNTRUP761_SECRET_KEY_BYTES,
  sntrup761Decapsulate,
  sntrup761Encapsulate,
  sntrup761KeyPair,
} from '../../../src/crypto/kex/sntrup761.ts';
import { ENCODED_SIZES, P, Q12, decodeRq, decodeRounded, encodeRounded, encodeRq } from '../../../src/crypto/kex/sntrup761-encoding.ts';
import { W, r3Multiply, rqMultiplySmall, rqReciprocal3, rqTimes3, shortFromList, smallFromList } from '../../../src/crypto/kex/sntrup761-poly.ts';
import { r3Reciprocal } from '../../../src/crypto/kex/sntrup761-r3.ts';
import { ProtocolError } from '../../../src/wire/errors.ts';

interface KatFile {
  published: Record<string, string>;
  oneShotCounts: { count: number; seed: string; pkSha256: string; skSha256: string; ctSha256: string; ss: string }[];
  submissionCount0Ss: string;
}

function fixture(): KatFile {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'test', 'fixtures', 'sntrup761', 'kat.json');
    if (existsSync(candidate) && !dir.endsWith('/dist')) return JSON.parse(readFileSync(candidate, 'utf8')) as KatFile;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('test/fixtures/sntrup761/kat.json not found');
    dir = parent;
  }
}

/**
 * The NIST PQC AES-256-CTR DRBG (rng.c of the KAT generator): Update(data) encrypts V+1..V+3 into a new
 * Key ‖ V; randombytes(n) encrypts V+1.. for the output and then runs Update with no data.
 */
class NistDrbg {
  private key = Buffer.alloc(32);
  private v = Buffer.alloc(16);
  constructor(seed: Buffer) {
    this.update(seed);
  }
  private blocks(count: number): Buffer {
    const counters = Buffer.alloc(16 * count);
    for (let i = 0; i < count; i++) {
      for (let j = 15; j >= 0; j--) {
        this.v[j] = (this.v[j] + 1) & 0xff;
        if (this.v[j] !== 0) break;
      }
      this.v.copy(counters, 16 * i);
    }
    const aes = createCipheriv('aes-256-ecb', this.key, null).setAutoPadding(false);
    return aes.update(counters);
  }
  private update(data?: Buffer): void {
    const t = this.blocks(3);
    if (data) for (let i = 0; i < 48; i++) t[i] ^= data[i];
    this.key = Buffer.from(t.subarray(0, 32));
    this.v = Buffer.from(t.subarray(32, 48));
  }
  readonly randomBytes = (n: number): Buffer => {
    const out = Buffer.from(this.blocks(Math.ceil(n / 16)).subarray(0, n));
    this.update();
    return out;
  };
}

type CallPattern = 'oneShot' | 'submission';
const WORDS_BYTES = 4 * P;

/** The implementation asks for each random polynomial's 3044 bytes at once; the submission drew 4 at a time. */
function katRandom(drbg: NistDrbg, pattern: CallPattern): (n: number) => Buffer {
  if (pattern === 'oneShot') return drbg.randomBytes;
  return (n) => (n === WORDS_BYTES ? Buffer.concat(Array.from({ length: P }, () => drbg.randomBytes(4))) : drbg.randomBytes(n));
}

const hex = (b: Buffer): string => b.toString('hex').toUpperCase();
const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

function katEntries(count: number, pattern: CallPattern): { entry: string; pk: Buffer; sk: Buffer; ct: Buffer; ss: Buffer }[] {
  const master = new NistDrbg(Buffer.from(Array.from({ length: 48 }, (_, i) => i)));
  const entries = [];
  for (let i = 0; i < count; i++) {
    const seed = master.randomBytes(48);
    const random = katRandom(new NistDrbg(seed), pattern);
    const { publicKey: pk, secretKey: sk } = sntrup761KeyPair(random);
    const { ciphertext: ct, sharedSecret: ss } = sntrup761Encapsulate(pk, random);
    assert.deepEqual(sntrup761Decapsulate(ct, sk), ss, `count ${i}: decapsulation recovers the secret`);
    const entry = `count = ${i}\nseed = ${hex(seed)}\npk = ${hex(pk)}\nsk = ${hex(sk)}\nct = ${hex(ct)}\nss = ${hex(ss)}\n`;
    entries.push({ entry, pk, sk, ct, ss });
  }
  return entries;
}

const hash0 = (prefix: number, ...parts: Buffer[]): Buffer =>
  createHash('sha512').update(Buffer.of(prefix)).update(Buffer.concat(parts)).digest().subarray(0, 32);

describe('sntrup761 known-answer tests', () => {
  const kat = fixture();

  it('has the sizes of the specification and of OpenSSH', () => {
    assert.equal(SNTRUP761_PUBLIC_KEY_BYTES, 1158);
    assert.equal(SNTRUP761_SECRET_KEY_BYTES, 1763);
    assert.equal(SNTRUP761_CIPHERTEXT_BYTES, 1039);
    assert.deepEqual(ENCODED_SIZES, { rq: 1158, rounded: 1007 });
  });

  it('matches count 0 in the round-3 submission\'s DRBG call pattern (that of OpenSSH\'s sntrup761.c)', () => {
    const [first] = katEntries(1, 'submission');
    assert.equal(first.ss.toString('hex'), kat.submissionCount0Ss);
    assert.equal(sha256(first.entry), kat.published.submissionCount0Sha256);
  });

  it('matches all 100 counts in the one-shot call pattern, byte for byte', () => {
    const entries = katEntries(100, 'oneShot');
    for (const expected of kat.oneShotCounts) {
      const got = entries[expected.count];
      assert.equal(sha256(got.pk), expected.pkSha256, `count ${expected.count} pk`);
      assert.equal(sha256(got.sk), expected.skSha256, `count ${expected.count} sk`);
      assert.equal(sha256(got.ct), expected.ctSha256, `count ${expected.count} ct`);
      assert.equal(got.ss.toString('hex'), expected.ss, `count ${expected.count} ss`);
    }
    assert.equal(sha256(entries[0].entry), kat.published.oneShotCount0Sha256, 'PQClean / liboqs count 0');
    assert.equal(sha256(entries.map((e) => e.entry).join('\n')), kat.published.oneShotAll100Sha256, 'liboqs, all 100');
  });
});

describe('sntrup761 KEM', () => {
  it('round-trips with fresh randomness and lays out the secret key as the reference does', () => {
    for (let i = 0; i < 3; i++) {
      const { publicKey, secretKey } = sntrup761KeyPair();
      assert.equal(publicKey.length, SNTRUP761_PUBLIC_KEY_BYTES);
      assert.equal(secretKey.length, SNTRUP761_SECRET_KEY_BYTES);
      assert.deepEqual(secretKey.subarray(382, 382 + 1158), publicKey);
      assert.deepEqual(secretKey.subarray(1731), hash0(4, publicKey));
      const { ciphertext, sharedSecret } = sntrup761Encapsulate(publicKey);
      assert.equal(ciphertext.length, SNTRUP761_CIPHERTEXT_BYTES);
      assert.equal(sharedSecret.length, 32);
      assert.deepEqual(sntrup761Decapsulate(ciphertext, secretKey), sharedSecret);
    }
  });

  it('answers a tampered ciphertext with the implicit-rejection secret, not an exception', () => {
    const { publicKey, secretKey } = sntrup761KeyPair();
    const { ciphertext, sharedSecret } = sntrup761Encapsulate(publicKey);
    const rho = secretKey.subarray(382 + 1158, 382 + 1158 + 191);
    for (const position of [0, 500, 1006, 1007, 1038]) {
      const tampered = Buffer.from(ciphertext);
      tampered[position] ^= 0x01;
      const secret = sntrup761Decapsulate(tampered, secretKey);
      assert.equal(secret.length, 32);
      assert.notDeepEqual(secret, sharedSecret, `byte ${position}`);
      // Decap's rejection: Hash0(Hash3(rho) ‖ ciphertext), a function of the secret key and the ciphertext alone.
      assert.deepEqual(secret, hash0(0, hash0(3, rho), tampered), `byte ${position}`);
    }
    assert.deepEqual(sntrup761Decapsulate(Buffer.alloc(1039, 0xff), secretKey), hash0(0, hash0(3, rho), Buffer.alloc(1039, 0xff)));
  });

  it('encapsulates to any 1158-byte string, as the reference does (no public-key validation exists)', () => {
    const { ciphertext, sharedSecret } = sntrup761Encapsulate(Buffer.alloc(1158, 0xff));
    assert.equal(ciphertext.length, 1039);
    assert.equal(sharedSecret.length, 32);
  });

  it('refuses wrong lengths with a key-exchange-failed protocol error', () => {
    const { publicKey, secretKey } = sntrup761KeyPair();
    const { ciphertext } = sntrup761Encapsulate(publicKey);
    const kexFailed = (error: unknown): boolean => error instanceof ProtocolError && error.reason === 3;
    assert.throws(() => sntrup761Encapsulate(publicKey.subarray(1)), kexFailed);
    assert.throws(() => sntrup761Encapsulate(Buffer.concat([publicKey, Buffer.alloc(1)])), kexFailed);
    assert.throws(() => sntrup761Encapsulate(Buffer.alloc(0)), kexFailed);
    assert.throws(() => sntrup761Decapsulate(ciphertext.subarray(1), secretKey), kexFailed);
    assert.throws(() => sntrup761Decapsulate(Buffer.concat([ciphertext, Buffer.alloc(1)]), secretKey), kexFailed);
    assert.throws(() => sntrup761Decapsulate(ciphertext, secretKey.subarray(1)), kexFailed);
    assert.throws(() => sntrup761KeyPair(() => Buffer.alloc(3)), RangeError);
  });
});

describe('sntrup761 arithmetic and encodings', () => {
  const words = (): Uint32Array => new Uint32Array(randomBytes(4 * P).buffer.slice(0, 4 * P));
  const one = (): Int16Array => {
    const x = new Int16Array(P);
    x[0] = 1;
    return x;
  };

  it('inverts in R3 and reports a non-invertible element', () => {
    for (let i = 0; i < 3; i++) {
      const g = smallFromList(words());
      const { inverse, failMask } = r3Reciprocal(g);
      if (failMask === 0) assert.deepEqual(r3Multiply(g, inverse), one());
    }
    assert.equal(r3Reciprocal(new Int16Array(P)).failMask, -1);
    const { inverse, failMask } = r3Reciprocal(one());
    assert.equal(failMask, 0);
    assert.deepEqual(inverse, one());
  });

  it('finds 1/(3f) in Rq for a short f', () => {
    const f = shortFromList(words());
    let weight = 0;
    for (const c of f) weight += Math.abs(c);
    assert.equal(weight, W);
    assert.deepEqual(rqTimes3(rqMultiplySmall(rqReciprocal3(f), f)), one());
  });

  it('decodes what it encodes, and decodes any bytes to in-range coefficients', () => {
    const poly = new Int16Array(P);
    for (let i = 0; i < P; i++) poly[i] = (i * 977) % (2 * Q12 + 1) - Q12;
    poly[0] = -Q12;
    poly[1] = Q12;
    assert.deepEqual(decodeRq(encodeRq(poly)), poly);
    const rounded = poly.map((c) => c - ((((c + 1) % 3) + 3) % 3) + 1); // c minus its centred residue mod 3
    for (const c of rounded) assert.equal(Math.abs(c) <= Q12 && c % 3 === 0, true);
    assert.deepEqual(decodeRounded(encodeRounded(rounded)), rounded);
    for (const c of decodeRq(Buffer.alloc(1158, 0xff))) assert.ok(Math.abs(c) <= Q12);
    for (const c of decodeRounded(Buffer.alloc(1007, 0xff))) assert.ok(Math.abs(c) <= Q12 && c % 3 === 0);
  });
});
