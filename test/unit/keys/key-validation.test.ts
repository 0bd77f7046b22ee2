/**
 * Private keys that ssh-keygen refuses, or that cannot sign, are refused on load (issue 21): RSA keys whose
 * private components disagree (OpenSSL's RSA_check_key checks, which node:crypto skips on import), in
 * openssh-key-v1 and PEM files and agent messages; a truncated encrypted PKCS#8 file is "invalid format", as
 * ssh-keygen says, not a wrong passphrase; a private section shorter than a cipher block is invalid. Each file
 * is also given to the real `ssh-keygen -y` to pin down where we agree with it and where we are stricter.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, type JsonWebKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unarmor } from '../../../src/keys/armor.ts';
import { encodePrivateKeyFields, decodePrivateKeyFields, generatePrivateKey, KeyFormatError, parsePrivateKey, serializePrivateKey, SshPrivateKey, WrongPassphraseError } from '../../../src/keys/index.ts';
import { Reader } from '../../../src/wire/index.ts';

const scratch = mkdtempSync(join(tmpdir(), 'tether-keyval-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let count = 0;

function file(text: string): string {
  const path = join(scratch, `key${count++}`);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

function sshKeygenY(path: string, passphrase = ''): { ok: boolean; text: string } {
  const result = spawnSync('ssh-keygen', ['-y', '-P', passphrase, '-f', path], { encoding: 'utf8' });
  return { ok: result.status === 0, text: (result.status === 0 ? result.stdout : result.stderr).trim() };
}

const good = generatePrivateKey('rsa', 2048, 'rsa');
const jwk = good.exportJwk();
const big = (member: keyof JsonWebKey) => BigInt('0x' + Buffer.from(jwk[member] as string, 'base64url').toString('hex'));
const b64 = (value: bigint) => {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex').toString('base64url');
};
/** node:crypto imports these without complaint: that is the point. */
const corrupt = (changes: Partial<JsonWebKey>) => new SshPrivateKey(createPrivateKey({ key: { ...jwk, ...changes }, format: 'jwk' }), 'rsa');
const CORRUPTIONS: Record<string, Partial<JsonWebKey>> = {
  'd + 2': { d: b64(big('d') + 2n), dp: b64((big('d') + 2n) % (big('p') - 1n)), dq: b64((big('d') + 2n) % (big('q') - 1n)) },
  'iqmp + 1': { qi: b64(big('qi') + 1n) },
  'p and q swapped': { p: jwk.q, q: jwk.p, dp: jwk.dq, dq: jwk.dp },
};

describe('RSA private keys with inconsistent components', () => {
  it('a consistent key loads, and ssh-keygen -y prints the same public key', () => {
    const path = file(serializePrivateKey(good));
    assert.equal(parsePrivateKey(serializePrivateKey(good)).publicKey.toLine(), good.publicKey.toLine());
    assert.equal(sshKeygenY(path).text.split(' ').slice(0, 2).join(' '), good.publicKey.toLine());
  });

  for (const [name, changes] of Object.entries(CORRUPTIONS)) {
    it(`${name}: refused in openssh-key-v1, PEM and agent form (ssh-keygen 9.2 -y does not check)`, () => {
      const key = corrupt(changes);
      const openssh = serializePrivateKey(key);
      assert.throws(() => parsePrivateKey(openssh), { name: 'KeyFormatError', message: /^invalid format/ });
      const pem = key.keyObject.export({ format: 'pem', type: 'pkcs1' }) as string;
      assert.throws(() => parsePrivateKey(pem), { name: 'KeyFormatError', message: /^invalid format/ });
      assert.throws(() => decodePrivateKeyFields(new Reader(encodePrivateKeyFields(key))), KeyFormatError);
      // OpenSSH 9.2 only checks n = p·q on load; a key like this fails later, when it signs.
      assert.equal(sshKeygenY(file(openssh)).ok, true);
    });
  }
});

describe('truncated private key files', () => {
  it('a truncated encrypted PKCS#8 file is "invalid format", as ssh-keygen says; a wrong passphrase is still one', () => {
    const pkcs8 = good.keyObject.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'secret' }) as string;
    const der = unarmor(pkcs8, 'ENCRYPTED PRIVATE KEY');
    const truncated = `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${der.subarray(0, der.length - 32).toString('base64')}\n-----END ENCRYPTED PRIVATE KEY-----\n`;
    assert.throws(() => parsePrivateKey(truncated, 'secret'), { name: 'KeyFormatError', message: 'invalid format' });
    assert.equal(sshKeygenY(file(truncated), 'secret').text.endsWith('invalid format'), true);
    assert.throws(() => parsePrivateKey(pkcs8, 'wrong'), WrongPassphraseError);
    assert.match(sshKeygenY(file(pkcs8), 'wrong').text, /incorrect passphrase supplied to decrypt private key$/);
    assert.equal(parsePrivateKey(pkcs8, 'secret').publicKey.toLine(), good.publicKey.toLine());
  });

  it('an encrypted openssh-key-v1 file whose private section is cut short is refused before decryption', () => {
    const text = serializePrivateKey(generatePrivateKey('ed25519'), { passphrase: 'secret', rounds: 1 });
    const binary = unarmor(text, 'OPENSSH PRIVATE KEY');
    // The section is the last field: shorten it by one block and fix its length, or empty it.
    const reader = new Reader(binary, 15);
    for (let i = 0; i < 3; i++) reader.string();
    reader.uint32();
    reader.string();
    const lengthAt = reader.position;
    const sectionLength = binary.readUInt32BE(lengthAt);
    for (const keep of [sectionLength - 16, 0]) {
      const cut = Buffer.from(binary.subarray(0, lengthAt + 4 + keep));
      cut.writeUInt32BE(keep, lengthAt);
      const armored = `-----BEGIN OPENSSH PRIVATE KEY-----\n${cut.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
      assert.throws(() => parsePrivateKey(armored, 'secret'), KeyFormatError);
      assert.equal(sshKeygenY(file(armored), 'secret').ok, false);
    }
  });
});
