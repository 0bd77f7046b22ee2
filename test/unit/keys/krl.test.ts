import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writer } from '../../../src/wire/index.ts';
import { generatePrivateKey } from '../../../src/keys/private-key.ts';
import { parsePublicKeyLine } from '../../../src/keys/public-key.ts';
import { isKrl, KrlError, parseKrl } from '../../../src/keys/krl.ts';
import { isKeyRevokedByFile, RevokedKeysFileError } from '../../../src/keys/revoked-keys.ts';
import type { PrivateKey } from '../../../src/keys/types.ts';

// Written by OpenSSH 9.2 `ssh-keygen -k -f krl -s ca.pub -z 7 spec` from a spec revoking k1 by key, k2 by
// SHA1, k3 by SHA256, and certificates of `ca` by serials 5, 10-20, 100, 102, 104 and key ID "bad-id".
const OPENSSH_KRL = Buffer.from(
  'U1NIS1JMCgAAAAABAAAAAAAAAAcAAAAAaw6ekAAAAAAAAAAAAAAAAAAAAAABAAAAcAAAADMAAAALc3NoLWVkMjU1MTkAAAAg1cqnbVlJuXRGbGSvASE/f96xub6Lvr4I3O9Bp7MgEdAAAAAAIgAAAA8AAAAAAAAABQAAAAMA/+EiAAAADQAAAAAAAABkAAAAARUjAAAACgAAAAZiYWQtaWQCAAAANwAAADMAAAALc3NoLWVkMjU1MTkAAAAgYaL+qNBmjSYhNcil8Fs+jr4v4e4kXXTcpb75VgPWmLIDAAAAGAAAABSAItDWxnY/VBY26tcfD8GJsK096QUAAAAkAAAAIBQswEiMcVxonVa/GNABpA3f0eEzI8uKpafOeuSOmBsn',
  'base64',
);
const key = (line: string) => parsePublicKeyLine(line).key;
const k1 = key('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGGi/qjQZo0mITXIpfBbPo6+L+HuJF103KW++VYD1piy k1');
const k2 = key('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO80E82Jo7W1YAHtV4ELXnQOD6LNAaJqiliESeLIWs2w k2');
const k3 = key('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0+OT/W/NG+3thRtRiH86XNcQNds4wgD//8r8jb1R/F k3');
const k4 = key('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL/vJ3KZFRaQMiRowlmNQSVwsYqyZ55ySjWC6xfQaa3A k4');
const ca = key('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINXKp21ZSbl0RmxkrwEhP3/esbm+i76+CNzvQaezIBHQ ca');

/** A KRL header (PROTOCOL.krl §1) followed by `sections` (type, body) and optional signers. */
function buildKrl(sections: Array<[number, Buffer]>, signers: PrivateKey[] = [], version = 1): Buffer {
  const writer = new Writer();
  writer.raw(Buffer.from('SSHKRL\n\0', 'latin1')).uint32(version).uint64(3n).uint64(1_700_000_000n).uint64(0n).string('').string('test');
  for (const [type, body] of sections) writer.byte(type).string(body);
  let krl = Buffer.from(writer.finish());
  for (const signer of signers) {
    const signed = Buffer.concat([krl, Buffer.from(new Writer().byte(4).string(signer.publicKey.blob).finish())]);
    krl = Buffer.concat([signed, Buffer.from(new Writer().string(signer.sign(signed)).finish())]);
  }
  return krl;
}

const strings = (...items: Buffer[]) => Buffer.from(items.reduce((w, item) => w.string(item), new Writer()).finish());

function assertKrlError(fn: () => unknown, code: KrlError['code']): void {
  assert.throws(fn, (error: unknown) => error instanceof KrlError && error.code === code);
}

describe('KRL decoding (PROTOCOL.krl)', () => {
  it('reads a KRL written by ssh-keygen: explicit key, SHA1 and SHA256 sections revoke; certificates are kept', () => {
    assert.ok(isKrl(OPENSSH_KRL));
    const krl = parseKrl(OPENSSH_KRL);
    assert.equal(krl.krlVersion, 7n);
    assert.equal(krl.comment, '');
    assert.deepEqual([k1, k2, k3, k4].map((k) => krl.revokesKey(k)), [true, true, true, false]);
    // Certificate sections concern certificates only: the CA's own key is not revoked by them.
    assert.equal(krl.revokesKey(ca), false);
    assert.equal(krl.certificates.length, 1);
    const [certs] = krl.certificates;
    assert.ok(certs!.caKey!.equals(ca.blob));
    assert.deepEqual(certs!.keyIds, ['bad-id']);
    const revokedSerials = [...Array(120).keys()].filter((serial) => krl.revokesCertificate({ caKey: ca.blob, serial: BigInt(serial), keyId: 'x' }));
    assert.deepEqual(revokedSerials, [5, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 100, 102, 104]);
    assert.equal(krl.revokesCertificate({ caKey: ca.blob, serial: 0n, keyId: 'bad-id' }), true);
    assert.equal(krl.revokesCertificate({ caKey: k4.blob, serial: 5n, keyId: 'bad-id' }), false);
  });

  it('verifies signatures and refuses a bad one, a duplicate signer, or sections after a signature', () => {
    const signer = generatePrivateKey('ed25519');
    const other = generatePrivateKey('ecdsa', 256);
    const target = generatePrivateKey('ed25519').publicKey;
    const body: Array<[number, Buffer]> = [[2, strings(target.blob)]];
    const signed = parseKrl(buildKrl(body, [signer, other]));
    assert.equal(signed.signers.length, 2);
    assert.ok(signed.revokesKey(target));

    const tampered = buildKrl(body, [signer]);
    tampered[tampered.length - 1]! ^= 1;
    assertKrlError(() => parseKrl(tampered), 'signature');
    assertKrlError(() => parseKrl(buildKrl(body, [signer, signer])), 'invalid-format');
    const trailing = Buffer.concat([buildKrl(body, [signer]), Buffer.from(new Writer().byte(2).string(strings(target.blob)).finish())]);
    assertKrlError(() => parseKrl(trailing), 'invalid-format');
    // A KRL revoking every key that signed it is taken as revoking (sshd: SSH_ERR_KEY_REVOKED).
    assertKrlError(() => parseKrl(buildKrl([[2, strings(signer.publicKey.blob)]], [signer])), 'revoked');
  });

  it('refuses malformed input with typed errors', () => {
    const target = generatePrivateKey('ed25519').publicKey;
    const sha256 = createHash('sha256').update(target.blob).digest();
    assertKrlError(() => parseKrl(Buffer.from('ssh-ed25519 AAAA')), 'bad-magic');
    assertKrlError(() => parseKrl(buildKrl([], [], 2)), 'invalid-format');
    assertKrlError(() => parseKrl(buildKrl([[5, strings(sha256)]]).subarray(0, -3)), 'incomplete');
    assertKrlError(() => parseKrl(buildKrl([[5, strings(sha256.subarray(1))]])), 'invalid-format');
    assertKrlError(() => parseKrl(buildKrl([[9, Buffer.alloc(0)]])), 'invalid-format');
    assertKrlError(() => parseKrl(buildKrl([[5, Buffer.concat([strings(sha256), Buffer.from([0, 0])])]])), 'incomplete');
    const certSection = (subType: number, sub: Buffer) =>
      Buffer.from(new Writer().string(Buffer.alloc(0)).string(Buffer.alloc(0)).byte(subType).string(sub).finish());
    assertKrlError(() => parseKrl(buildKrl([[1, certSection(0x29, Buffer.alloc(0))]])), 'invalid-format');
    assertKrlError(() => parseKrl(buildKrl([[1, certSection(0x21, Buffer.from(new Writer().uint64(5n).uint64(4n).finish()))]])), 'invalid-format');
    const hugeBitmap = Buffer.from(new Writer().uint64(0n).string(Buffer.alloc(4000, 1)).finish());
    assertKrlError(() => parseKrl(buildKrl([[1, certSection(0x22, hugeBitmap)]])), 'too-large');
    const wrapping = Buffer.from(new Writer().uint64((1n << 64n) - 2n).string(Buffer.from([0x0f])).finish());
    assertKrlError(() => parseKrl(buildKrl([[1, certSection(0x22, wrapping)]])), 'invalid-format');
    assertKrlError(() => parseKrl(buildKrl([[1, certSection(0x23, strings(Buffer.from('a\0b')))]])), 'invalid-format');
  });
});

describe('RevokedKeys files (KRL or a plain list of keys)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-krl-'));
  const file = (name: string, content: string | Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const revoked = generatePrivateKey('ed25519').publicKey;
  const rsa = generatePrivateKey('rsa', 2048).publicKey;
  const other = generatePrivateKey('ecdsa', 256).publicKey;

  it('a plain list revokes the keys it names, with comments and blank lines', async () => {
    const path = file('list', `# revoked\n\n  ${revoked.toLine()} old laptop\n${rsa.toLine()}\n`);
    assert.equal(await isKeyRevokedByFile(revoked, path), true);
    assert.equal(await isKeyRevokedByFile(rsa, path), true);
    assert.equal(await isKeyRevokedByFile(other, path), false);
    assert.equal(await isKeyRevokedByFile(k1, file('krl', OPENSSH_KRL)), true);
    assert.equal(await isKeyRevokedByFile(k4, join(dir, 'krl')), false);
  });

  it('a certificate line in a plain list revokes its key (sshkey_equal_public)', async () => {
    const nonce = Buffer.alloc(32, 7);
    const cert = Buffer.from(
      new Writer().string('ssh-ed25519-cert-v01@openssh.com').string(nonce).string(revoked.blob.subarray(19)).uint64(1n).finish(),
    );
    const path = file('certs', `ssh-ed25519-cert-v01@openssh.com ${cert.toString('base64')} cert\n`);
    assert.equal(await isKeyRevokedByFile(revoked, path), true);
    assert.equal(await isKeyRevokedByFile(other, path), false);
  });

  it('a file that cannot be read or parsed is an error (sshd then refuses every key)', async () => {
    const rejects = (path: string, message: RegExp) =>
      assert.rejects(isKeyRevokedByFile(other, path), (error: unknown) => error instanceof RevokedKeysFileError && message.test(error.message));
    await rejects(join(dir, 'missing'), /^No such file or directory$/);
    mkdirSync(join(dir, 'a-directory'));
    await rejects(join(dir, 'a-directory'), /^Is a directory$/);
    await rejects(file('options', `restrict ${revoked.toLine()}\n`), /^invalid format$/);
    await rejects(file('garbage', 'not a key at all\n'), /^invalid format$/);
    await rejects(file('mismatch', `ssh-rsa ${revoked.blob.toString('base64')}\n`), /^key type does not match$/);
    await rejects(file('bad-krl', Buffer.concat([OPENSSH_KRL.subarray(0, 12), Buffer.from([0, 0, 0, 9])])), /^incomplete message$/);
  });

  it('keys OpenSSH knows but Tether does not are compared, not errors', async () => {
    const dss = Buffer.from(new Writer().string('ssh-dss').string(Buffer.from([1])).string(Buffer.from([2])).string(Buffer.from([3])).string(Buffer.from([4])).finish());
    const path = file('dss', `ssh-dss ${dss.toString('base64')}\n${revoked.toLine()}\n`);
    assert.equal(await isKeyRevokedByFile(revoked, path), true);
    assert.equal(await isKeyRevokedByFile(other, path), false);
  });

  it('cleans up', () => {
    rmSync(dir, { recursive: true, force: true });
  });
});
