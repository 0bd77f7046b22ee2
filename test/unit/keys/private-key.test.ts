import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { Reader, Writer } from '../../../src/wire/index.ts';
import { KeyFormatError, PassphraseRequiredError, WrongPassphraseError } from '../../../src/keys/types.ts';
import { checkKeySize, generatePrivateKey, KeyGenerationError } from '../../../src/keys/private-key.ts';
import { serializePrivateKey } from '../../../src/keys/openssh-key-format.ts';
import { isPrivateKeyEncrypted, parsePrivateKey } from '../../../src/keys/parse-private-key.ts';
import { decodePrivateKeyFields, encodePrivateKeyFields } from '../../../src/keys/private-key-fields.ts';
import { unarmor } from '../../../src/keys/armor.ts';

const message = Buffer.from('sign me');

/** Rebuilds an unencrypted openssh-key-v1 file around an arbitrary private section. */
function opensshFile(publicBlob: Buffer, section: Buffer): string {
  const file = new Writer()
    .raw(Buffer.from('openssh-key-v1\0', 'latin1'))
    .string('none')
    .string('none')
    .string('')
    .uint32(1)
    .string(publicBlob)
    .string(section)
    .finish();
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${file.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

describe('generatePrivateKey', () => {
  it('creates keys of each type and size', () => {
    assert.equal(generatePrivateKey('ed25519').publicKey.type, 'ssh-ed25519');
    assert.equal(generatePrivateKey('ecdsa').publicKey.type, 'ecdsa-sha2-nistp256');
    assert.equal(generatePrivateKey('ecdsa', 384).publicKey.type, 'ecdsa-sha2-nistp384');
    assert.equal(generatePrivateKey('ecdsa', 521).publicKey.bits, 521);
    assert.equal(generatePrivateKey('rsa', 2048, 'c').publicKey.bits, 2048);
    assert.equal(generatePrivateKey('rsa', 2048, 'c').comment, 'c');
  });

  it('refuses sizes ssh-keygen refuses, with its messages', () => {
    assert.throws(() => generatePrivateKey('ecdsa', 300), {
      name: 'KeyGenerationError',
      message: 'Invalid ECDSA key length: valid lengths are 256, 384 or 521 bits',
    });
    assert.throws(() => checkKeySize('rsa', 1024), /minimum is 2048 bits/);
    assert.throws(() => checkKeySize('rsa', 20000), /maximum is 16384 bits/);
    assert.throws(() => generatePrivateKey('dsa' as 'rsa'), KeyGenerationError);
    checkKeySize('ed25519', 12345);
  });
});

describe('openssh-key-v1 files', () => {
  const keys = [
    generatePrivateKey('ed25519', undefined, 'ed'),
    generatePrivateKey('ecdsa', 256, 'p256'),
    generatePrivateKey('ecdsa', 384, 'p384'),
    generatePrivateKey('ecdsa', 521, 'p521'),
    generatePrivateKey('rsa', 2048, 'rsa'),
  ];

  it('round-trips every key type unencrypted, keeping the comment and the ability to sign', () => {
    for (const key of keys) {
      const text = serializePrivateKey(key);
      assert.match(text, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
      assert.ok(text.split('\n').every((line) => line.length <= 70));
      assert.equal(isPrivateKeyEncrypted(text), false);
      const again = parsePrivateKey(text);
      assert.ok(again.publicKey.equals(key.publicKey));
      assert.equal(again.comment, key.comment);
      assert.ok(key.publicKey.verify(message, again.sign(message)));
    }
  });

  it('encrypts with bcrypt + aes256-ctr and needs the right passphrase', () => {
    const key = keys[0]!;
    const text = serializePrivateKey(key, { passphrase: 'correct horse', rounds: 2 });
    const binary = unarmor(text, 'OPENSSH PRIVATE KEY');
    const reader = new Reader(binary, 15);
    assert.equal(reader.text(), 'aes256-ctr');
    assert.equal(reader.text(), 'bcrypt');
    const kdf = new Reader(reader.string());
    assert.equal(kdf.string().length, 16);
    assert.equal(kdf.uint32(), 2);
    assert.equal(isPrivateKeyEncrypted(text), true);
    assert.ok(parsePrivateKey(text, 'correct horse').publicKey.equals(key.publicKey));
    assert.throws(() => parsePrivateKey(text), PassphraseRequiredError);
    assert.throws(() => parsePrivateKey(text, 'wrong'), WrongPassphraseError);
  });

  it('supports the other key file ciphers, including AES-GCM with its trailing tag', () => {
    for (const cipher of ['aes128-ctr', 'aes256-cbc', 'aes256-gcm@openssh.com']) {
      const text = serializePrivateKey(keys[1]!, { passphrase: 'pw', rounds: 1, cipher });
      assert.ok(parsePrivateKey(text, 'pw').publicKey.equals(keys[1]!.publicKey), cipher);
      assert.throws(() => parsePrivateKey(text, 'nope'), WrongPassphraseError, cipher);
    }
  });

  it('rejects truncated files, bad padding, a mismatched public key and unknown key types', () => {
    const text = serializePrivateKey(keys[0]!);
    const binary = unarmor(text, 'OPENSSH PRIVATE KEY');
    const truncated = `-----BEGIN OPENSSH PRIVATE KEY-----\n${binary.subarray(0, 120).toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
    assert.throws(() => parsePrivateKey(truncated), KeyFormatError);
    assert.throws(() => parsePrivateKey(text.slice(0, 200)), KeyFormatError);
    assert.throws(() => parsePrivateKey('hello'), { name: 'KeyFormatError', message: 'invalid format' });

    const section = new Writer().uint32(7).uint32(7);
    section.raw(encodePrivateKeyFields(keys[0]!));
    const fields = Buffer.from(section.finish());
    const pad = (bytes: Buffer, fill: (i: number) => number) => {
      const padding = Buffer.alloc((8 - (bytes.length % 8)) % 8).map((_, i) => fill(i));
      return Buffer.concat([bytes, padding]);
    };
    assert.ok(parsePrivateKey(opensshFile(keys[0]!.publicKey.blob, pad(fields, (i) => i + 1))));
    assert.throws(() => parsePrivateKey(opensshFile(keys[0]!.publicKey.blob, pad(fields, () => 0xee))), KeyFormatError);
    assert.throws(() => parsePrivateKey(opensshFile(keys[2]!.publicKey.blob, pad(fields, (i) => i + 1))), /does not match/);

    const unknown = new Writer().uint32(1).uint32(1).string('ssh-foo').string(Buffer.alloc(32)).string('c');
    assert.throws(() => parsePrivateKey(opensshFile(Buffer.alloc(8), pad(Buffer.from(unknown.finish()), (i) => i + 1))), {
      name: 'KeyFormatError',
      message: 'unknown or unsupported key type',
    });
    const checkMismatch = Buffer.from(section.finish());
    checkMismatch.writeUInt32BE(8, 4);
    assert.throws(() => parsePrivateKey(opensshFile(keys[0]!.publicKey.blob, pad(checkMismatch, (i) => i + 1))), KeyFormatError);
  });
});

describe('agent private key fields (draft-miller-ssh-agent §4.2.3)', () => {
  it('round-trips each key type and leaves the reader after the comment', () => {
    for (const key of [generatePrivateKey('ed25519', undefined, 'a'), generatePrivateKey('ecdsa', 384, 'b'), generatePrivateKey('rsa', 2048, 'c')]) {
      const encoded = Buffer.concat([encodePrivateKeyFields(key), Buffer.of(0xaa)]);
      const reader = new Reader(encoded);
      const decoded = decodePrivateKeyFields(reader);
      assert.equal(reader.byte(), 0xaa);
      assert.ok(decoded.publicKey.equals(key.publicKey));
      assert.equal(decoded.comment, key.comment);
      assert.ok(key.publicKey.verify(message, decoded.sign(message)));
    }
  });

  it('lays RSA out as n, e, d, iqmp, p, q', () => {
    const key = generatePrivateKey('rsa', 2048);
    const jwk = key.exportJwk();
    const reader = new Reader(encodePrivateKeyFields(key));
    assert.equal(reader.text(), 'ssh-rsa');
    const [n, e, d, iqmp, p, q] = [reader.mpint(), reader.mpint(), reader.mpint(), reader.mpint(), reader.mpint(), reader.mpint()];
    assert.deepEqual(n, Buffer.from(jwk.n!, 'base64url'));
    assert.deepEqual(e, Buffer.from(jwk.e!, 'base64url'));
    assert.deepEqual(d, Buffer.from(jwk.d!, 'base64url'));
    assert.deepEqual(iqmp, Buffer.from(jwk.qi!, 'base64url'));
    assert.deepEqual(p, Buffer.from(jwk.p!, 'base64url'));
    assert.deepEqual(q, Buffer.from(jwk.q!, 'base64url'));
  });
});

describe('PEM private keys', () => {
  it('reads PKCS#1, SEC1 and PKCS#8, plain and encrypted', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const ed = generateKeyPairSync('ed25519');
    const cases: [string, string | undefined][] = [
      [rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string, undefined],
      [ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string, undefined],
      [ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, undefined],
      [rsa.privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'pw' }) as string, 'pw'],
      [ec.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string, 'pw'],
    ];
    for (const [pem, passphrase] of cases) {
      assert.equal(isPrivateKeyEncrypted(pem), passphrase !== undefined);
      const key = parsePrivateKey(pem, passphrase);
      assert.ok(key.publicKey.verify(message, key.sign(message)));
      if (passphrase) {
        assert.throws(() => parsePrivateKey(pem), PassphraseRequiredError);
        assert.throws(() => parsePrivateKey(pem, 'wrong'), WrongPassphraseError);
      }
    }
  });

  it('refuses key types we do not support', () => {
    const x25519 = generateKeyPairSync('x25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    assert.throws(() => parsePrivateKey(x25519), /unknown or unsupported key type/);
  });
});
