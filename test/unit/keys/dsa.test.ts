import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reader, Writer } from '../../../src/wire/index.ts';
import { readDerElement } from '../../../src/wire/der.ts';
import { KeyFormatError } from '../../../src/keys/types.ts';
import { parsePublicKeyBlob, parsePublicKeyLine } from '../../../src/keys/public-key.ts';
import { fingerprint, keyTypeLabel } from '../../../src/keys/fingerprint.ts';
import { parsePrivateKey } from '../../../src/keys/parse-private-key.ts';
import { decodePrivateKeyFields } from '../../../src/keys/private-key-fields.ts';
import { certificateKeyTypes, isKeyType, keyTypes, signatureAlgorithmNames } from '../../../src/keys/algorithms/index.ts';
import { unarmor } from '../../../src/keys/armor.ts';
import { isKeyRevokedByFile } from '../../../src/keys/revoked-keys.ts';

// A key made by OpenSSH 9.2 `ssh-keygen -t dsa -C me`, with the fingerprints `ssh-keygen -l` printed for it.
const DSA_LINE =
  'ssh-dss AAAAB3NzaC1kc3MAAACBAKAkLQ3p6/TaSZqGiDG70kLAGsQ8jVPjqXafXFaG788ok09cL/YsjclPsG+PCHGXC6r7Zrn48ta/UrxtzOEZuPrqRW1qyx8EFQg6a0CZWYhHyp9WuCCtoOCwH6j1kP/8HWV/dAr6pqWi/ESPQ4bHItxwiAuw4YjX2ZZyH8Hq/pJBAAAAFQCKBPpwcYtB+O7ImawHpUMDxnBTbQAAAIBZARxc1VFBYZpMtgHE3n2mHKfH8CRHyb/zFKIbmIA6NOXDI0DldsoyWrLszEUw5RgcrRrdgWoA7aD1gvTq6GF7xwykzyPs1TlpMrcTwx4G+y2NHwzgdxsvf+Gtyr60S0G7f6j+tGSPbAVrrytsn2PtFTc+tgpEeVJsFZESCS3R9gAAAIAfNJWl+6gWfBQGUq9Ou/RTwDsOTXW5rJMX+HenAPR7xCmnf802gJ73UC+Z3eM4UiCF95fX6kSUHByiWhyQEpeoITacvzodPH89NFW4Cv78KaqlvWK3EV/WNqKHno3p5C5KbLJCbl0giRTeeWQ4sFU0SjszHN798xojYwEul8r+Yw== me';
const DSA_SHA256 = 'SHA256:uAOrENRCKxMMOAY474qcsPI0uHURD/7RvX+wJrKY7Cs';
const DSA_MD5 = 'MD5:ba:b5:ea:df:48:6f:b5:cd:ef:57:8e:e2:77:db:85:87';
// `echo hello | ssh-keygen -Y sign -f that-key -n file`: an SSHSIG (PROTOCOL.sshsig) whose inner signature
// is a real OpenSSH ssh-dss signature.
const SSHSIG = `-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAAbEAAAAHc3NoLWRzcwAAAIEAoCQtDenr9NpJmoaIMbvSQsAaxDyNU+
Opdp9cVobvzyiTT1wv9iyNyU+wb48IcZcLqvtmufjy1r9SvG3M4Rm4+upFbWrLHwQVCDpr
QJlZiEfKn1a4IK2g4LAfqPWQ//wdZX90CvqmpaL8RI9Dhsci3HCIC7DhiNfZlnIfwer+kk
EAAAAVAIoE+nBxi0H47siZrAelQwPGcFNtAAAAgFkBHFzVUUFhmky2AcTefaYcp8fwJEfJ
v/MUohuYgDo05cMjQOV2yjJasuzMRTDlGBytGt2BagDtoPWC9OroYXvHDKTPI+zVOWkytx
PDHgb7LY0fDOB3Gy9/4a3KvrRLQbt/qP60ZI9sBWuvK2yfY+0VNz62CkR5UmwVkRIJLdH2
AAAAgB80laX7qBZ8FAZSr0679FPAOw5Ndbmskxf4d6cA9HvEKad/zTaAnvdQL5nd4zhSII
X3l9fqRJQcHKJaHJASl6ghNpy/Oh08fz00VbgK/vwpqqW9YrcRX9Y2ooeejenkLkpsskJu
XSCJFN55ZDiwVTRKOzMc3v3zGiNjAS6Xyv5jAAAABGZpbGUAAAAAAAAABnNoYTUxMgAAAD
cAAAAHc3NoLWRzcwAAACh+EJT0g//66StStvdVkiD0os0KhWWWb3KEVejW8wbqAnTVuxgS
LDDS
-----END SSH SIGNATURE-----
`;

/** The data an SSHSIG signature covers (PROTOCOL.sshsig §"Signed Data"), and the signature inside it. */
function sshsigParts(armored: string, message: Buffer): { publicKey: Buffer; signedData: Buffer; signature: Buffer } {
  const reader = new Reader(unarmor(armored, 'SSH SIGNATURE'));
  assert.equal(reader.raw(6).toString(), 'SSHSIG');
  assert.equal(reader.uint32(), 1);
  const publicKey = reader.string();
  const namespace = reader.string();
  const reserved = reader.string();
  const hashAlgorithm = reader.text(16);
  const signature = reader.string();
  const signedData = Buffer.concat([
    Buffer.from('SSHSIG'),
    new Writer().string(namespace).string(reserved).string(hashAlgorithm).string(createHash(hashAlgorithm).update(message).digest()).finish(),
  ]);
  return { publicKey, signedData, signature };
}

/** The SSH blob of a node:crypto DSA public key: its SPKI's Dss-Parms p, q, g and y (RFC 3279 §2.3.2). */
function sshBlobOf(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'spki' });
  const outer = readDerElement(der, 0);
  const algorithm = readDerElement(der, outer.start);
  const oid = readDerElement(der, algorithm.start);
  const parameters = readDerElement(der, oid.end);
  const integers: Buffer[] = [];
  for (let offset = parameters.start; offset < parameters.end; ) {
    const element = readDerElement(der, offset);
    integers.push(der.subarray(element.start, element.end));
    offset = element.end;
  }
  const bitString = readDerElement(der, algorithm.end);
  const y = readDerElement(der, bitString.start + 1);
  const writer = new Writer().string('ssh-dss');
  for (const value of [...integers, der.subarray(y.start, y.end)]) writer.mpint(value);
  return Buffer.from(writer.finish());
}

function sshSignature(blob: Buffer, algorithm = 'ssh-dss'): Buffer {
  return Buffer.from(new Writer().string(algorithm).string(blob).finish());
}

/** An odd number of exactly `bits` bits. */
function mpint(bits: number): Buffer {
  const hex = ((1n << BigInt(bits - 1)) | 1n).toString(16);
  return Buffer.from(hex.length % 2 === 0 ? hex : '0' + hex, 'hex');
}

function dsaBlob(p: Buffer, q: Buffer, g: Buffer, y: Buffer): Buffer {
  return Buffer.from(new Writer().string('ssh-dss').mpint(p).mpint(q).mpint(g).mpint(y).finish());
}

describe('ssh-dss public keys (verify-only)', () => {
  it('parses a key made by ssh-keygen and re-encodes it byte for byte, with its fingerprints', () => {
    const { key, comment } = parsePublicKeyLine(DSA_LINE);
    assert.equal(key.type, 'ssh-dss');
    assert.equal(key.bits, 1024);
    assert.equal(comment, 'me');
    assert.equal(`${key.toLine()} ${comment}`, DSA_LINE);
    assert.deepEqual(key.signatureAlgorithms, ['ssh-dss']);
    assert.equal(`${keyTypeLabel(key.type)} ${fingerprint(key.blob)}`, `DSA ${DSA_SHA256}`);
    assert.equal(fingerprint(key.blob, 'md5'), DSA_MD5);
  });

  it('verifies a signature OpenSSH made, and not over other data', () => {
    const { key } = parsePublicKeyLine(DSA_LINE);
    const { publicKey, signedData, signature } = sshsigParts(SSHSIG, Buffer.from('hello\n'));
    assert.ok(publicKey.equals(key.blob));
    assert.equal(key.verify(signedData, signature), true);
    assert.equal(key.verify(signedData, signature, ['ssh-dss']), true);
    assert.equal(key.verify(signedData, signature, ['ssh-ed25519', 'rsa-sha2-512']), false);
    const other = sshsigParts(SSHSIG, Buffer.from('hello!\n'));
    assert.equal(key.verify(other.signedData, signature), false);
  });

  it('verifies node:crypto DSA signatures in the r||s form and refuses malformed ones', () => {
    const pair = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 });
    const key = parsePublicKeyBlob(sshBlobOf(pair.publicKey));
    assert.equal(key.bits, 1024);
    const data = Buffer.from('session id and request');
    const rs = sign('sha1', data, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });
    assert.equal(rs.length, 40);
    assert.equal(key.verify(data, sshSignature(rs)), true);
    assert.equal(key.verify(Buffer.from('other data'), sshSignature(rs)), false);
    assert.equal(key.verify(data, sshSignature(rs, 'ssh-rsa')), false);
    assert.equal(key.verify(data, sshSignature(rs.subarray(1))), false, 'short blob');
    assert.equal(key.verify(data, sshSignature(Buffer.concat([rs, Buffer.of(0)]))), false, 'long blob');
    const der = sign('sha1', data, pair.privateKey);
    assert.equal(key.verify(data, sshSignature(der)), false, 'DER-encoded signature');
    const sha256 = sign('sha256', data, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });
    assert.equal(key.verify(data, sshSignature(sha256)), false, 'wrong hash');
  });

  it('bounds the domain parameters: p of at most 1024 bits, q of 160, 1 < g, y < p', () => {
    const { key } = parsePublicKeyLine(DSA_LINE);
    const fields = new Reader(key.blob);
    fields.string();
    const [p, q, g, y] = [fields.mpint(), fields.mpint(), fields.mpint(), fields.mpint()];
    assert.ok(parsePublicKeyBlob(dsaBlob(p, q, g, y)).equals(key));
    assert.throws(() => parsePublicKeyBlob(dsaBlob(mpint(1088), q, g, y)), KeyFormatError);
    assert.throws(() => parsePublicKeyBlob(dsaBlob(mpint(2048), mpint(256), g, y)), KeyFormatError);
    assert.throws(() => parsePublicKeyBlob(dsaBlob(p, mpint(159), g, y)), KeyFormatError);
    assert.throws(() => parsePublicKeyBlob(dsaBlob(p, mpint(224), g, y)), KeyFormatError);
    assert.throws(() => parsePublicKeyBlob(dsaBlob(p, q, Buffer.of(1), y)), KeyFormatError);
    assert.throws(() => parsePublicKeyBlob(dsaBlob(p, q, g, p)), KeyFormatError);
    assert.throws(() => parsePublicKeyBlob(key.blob.subarray(0, key.blob.length - 1)), KeyFormatError);
  });

  it('is found in a RevokedKeys list, which may hold DSA keys OpenSSH reads without checking them', async () => {
    const { key } = parsePublicKeyLine(DSA_LINE);
    const odd = dsaBlob(Buffer.of(1), Buffer.of(2), Buffer.of(3), Buffer.of(4));
    const dir = mkdtempSync(join(tmpdir(), 'tether-dsa-'));
    try {
      const list = join(dir, 'revoked');
      writeFileSync(list, `ssh-dss ${odd.toString('base64')}\n${DSA_LINE}\n`);
      assert.equal(await isKeyRevokedByFile(key, list), true);
      writeFileSync(list, `ssh-dss ${odd.toString('base64')}\n`);
      assert.equal(await isKeyRevokedByFile(key, list), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is not listed among the key and signature types (ssh -Q key, key-plain, sig, key-cert)', () => {
    assert.equal(isKeyType('ssh-dss'), true);
    assert.ok(!keyTypes().includes('ssh-dss'));
    assert.ok(!signatureAlgorithmNames().includes('ssh-dss'));
    assert.ok(!certificateKeyTypes().includes('ssh-dss-cert-v01@openssh.com'));
  });

  it('refuses DSA private keys: they would only be for signing', () => {
    const pair = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 });
    const pem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    assert.throws(() => parsePrivateKey(pem), { name: 'KeyFormatError', message: 'ssh-dss is not supported for signing' });
    const fields = new Reader(sshBlobOf(pair.publicKey));
    fields.string();
    const writer = new Writer().string('ssh-dss');
    for (let i = 0; i < 4; i++) writer.mpint(fields.mpint());
    writer.mpint(Buffer.alloc(20, 7)).string('comment');
    assert.throws(() => decodePrivateKeyFields(new Reader(Buffer.from(writer.finish()))), {
      name: 'KeyFormatError',
      message: 'ssh-dss is not supported for signing',
    });
  });
});
