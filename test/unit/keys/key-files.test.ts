import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey } from '../../../src/keys/private-key.ts';
import { serializePrivateKey } from '../../../src/keys/openssh-key-format.ts';
import {
  loadPrivateKeyFile,
  loadPublicKeyFile,
  loadPublicKeyFromPrivateFile,
  UnprotectedPrivateKeyError,
} from '../../../src/keys/key-files.ts';

describe('key files', () => {
  let dir: string;
  const key = generatePrivateKey('ed25519', undefined, 'file key');
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tether-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loads a 0600 private key and its public files', () => {
    const file = join(dir, 'id');
    writeFileSync(file, serializePrivateKey(key, { passphrase: 'pw', rounds: 1 }), { mode: 0o600 });
    writeFileSync(`${file}.pub`, `${key.publicKey.toLine()} file key\n`);
    assert.ok(loadPrivateKeyFile(file, 'pw').publicKey.equals(key.publicKey));
    assert.ok(loadPublicKeyFromPrivateFile(file).equals(key.publicKey));
    assert.equal(loadPublicKeyFile(`${file}.pub`).comment, 'file key');
  });

  it('refuses a group/other-accessible private key with OpenSSH\'s warning', () => {
    const file = join(dir, 'open');
    writeFileSync(file, serializePrivateKey(key));
    chmodSync(file, 0o644);
    assert.throws(() => loadPrivateKeyFile(file), (error: unknown) => {
      assert.ok(error instanceof UnprotectedPrivateKeyError);
      assert.equal(
        error.message,
        [
          '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
          '@         WARNING: UNPROTECTED PRIVATE KEY FILE!          @',
          '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
          `Permissions 0644 for '${file}' are too open.`,
          'It is required that your private key files are NOT accessible by others.',
          'This private key will be ignored.',
        ].join('\n'),
      );
      return true;
    });
    chmodSync(file, 0o640);
    assert.throws(() => loadPrivateKeyFile(file), /Permissions 0640 for/);
    chmodSync(file, 0o400);
    assert.ok(loadPrivateKeyFile(file).publicKey.equals(key.publicKey));
  });
});
