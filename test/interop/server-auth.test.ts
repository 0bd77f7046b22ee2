/**
 * Authentication on `tether server` with stock OpenSSH clients: password (sshpass), publickey and
 * keyboard-interactive; MaxAuthTries; the gateway's Match Address policy (no key logins from elsewhere);
 * AuthenticationMethods with partial success; authorized_keys options; PermitRootLogin; DenyUsers; Banner;
 * and the sshd-style log lines.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyAuth, ssh, sshWithPassword, startTestServer, TEST_USER, type TestServer } from './server-harness.ts';
import { makeKey, publicKeyLine, tempDir } from '../helpers/openssh.ts';

const passwordOnly = ['-o', 'PreferredAuthentications=password', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1'];
const kbdOnly = ['-o', 'PreferredAuthentications=keyboard-interactive', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1'];

describe('methods and the gateway policy', () => {
  let test: TestServer;
  before(async () => {
    test = await startTestServer({
      extraAddresses: ['127.0.0.2'],
      config: ['MaxAuthTries 3', 'DenyUsers tethertest@127.0.0.3'],
      // The guide's policy: passwords from everywhere, public keys only from the machine itself.
      tail: ['Match Address !127.0.0.1,*', '\tPubkeyAuthentication no'],
    });
  });
  after(async () => {
    await test?.stop();
  });

  it('password (sshpass), logged like sshd', async () => {
    const result = await sshWithPassword(test, [...test.sshBase(), ...passwordOnly, `${TEST_USER}@127.0.0.1`, 'echo password-ok']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'password-ok\n');
    await test.waitForLog(/^Accepted password for tethertest from 127\.0\.0\.1 port \d+ ssh2$/);
  });

  it('keyboard-interactive with a "Password: " prompt (sshpass answers it)', async () => {
    const result = await sshWithPassword(test, [...test.sshBase(), ...kbdOnly, `${TEST_USER}@127.0.0.1`, 'echo kbd-ok']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'kbd-ok\n');
    await test.waitForLog(/^Accepted keyboard-interactive for tethertest from 127\.0\.0\.1 port \d+ ssh2$/);
  });

  it('publickey from 127.0.0.1, logged with the key fingerprint', async () => {
    const result = await ssh(test, [...keyAuth(test), `${TEST_USER}@127.0.0.1`, 'echo key-ok']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'key-ok\n');
    await test.waitForLog(/^Accepted publickey for tethertest from 127\.0\.0\.1 port \d+ ssh2: ED25519 SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('Match Address refuses publickey from 127.0.0.2 but passwords still work there', async () => {
    const key = await ssh(test, [...keyAuth(test), '-b', '127.0.0.2', `${TEST_USER}@127.0.0.2`, 'echo should-not-run']);
    assert.equal(key.status, 255);
    assert.match(key.stderr, /Permission denied \(password,keyboard-interactive\)\./);
    const password = await sshWithPassword(test, [...test.sshBase(), ...passwordOnly, '-b', '127.0.0.2', `${TEST_USER}@127.0.0.2`, 'echo $SSH_CONNECTION']);
    assert.equal(password.status, 0, password.stderr);
    assert.match(password.stdout.toString(), /^127\.0\.0\.2 \d+ 127\.0\.0\.2 \d+\n$/);
  });

  it('a wrong password fails and is logged as sshd logs it', async () => {
    const result = await sshWithPassword(test, [...test.sshBase(), ...passwordOnly, `${TEST_USER}@127.0.0.1`, 'true'], 'wrong password');
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /Permission denied/);
    await test.waitForLog(/^Failed password for tethertest from 127\.0\.0\.1 port \d+ ssh2$/);
  });

  it('MaxAuthTries ends the connection with OpenSSH\'s message (the guide\'s "too many keys" case)', async () => {
    // Four keys the server does not know, offered one after another: the third failure ends it.
    const keys = ['a', 'b', 'c', 'd'].map((name) => makeKey(test.dir, `id_unknown_${name}`, 'ed25519'));
    const result = await ssh(test, [
      ...test.sshBase(), '-o', 'IdentitiesOnly=yes', '-o', 'PreferredAuthentications=publickey', '-o', 'BatchMode=yes',
      ...keys.flatMap((key) => ['-i', key]),
      `${TEST_USER}@127.0.0.1`, 'true',
    ]);
    assert.equal(result.status, 255);
    assert.match(result.stderr, /Received disconnect from 127\.0\.0\.1 port \d+:2: Too many authentication failures/);
    await test.waitForLog(/^maximum authentication attempts exceeded for tethertest from 127\.0\.0\.1 port \d+ ssh2 \[preauth\]$/);
    await test.waitForLog(/^Disconnecting authenticating user tethertest 127\.0\.0\.1 port \d+: Too many authentication failures \[preauth\]$/);
  });

  it('unknown users fail like wrong passwords, and are logged as invalid', async () => {
    const result = await sshWithPassword(test, [...test.sshBase(), ...passwordOnly, 'no-such-user-xyz@127.0.0.1', 'true'], 'anything');
    assert.notEqual(result.status, 0);
    await test.waitForLog(/^Invalid user no-such-user-xyz from 127\.0\.0\.1 port \d+$/);
    await test.waitForLog(/^Failed password for invalid user no-such-user-xyz from 127\.0\.0\.1 port \d+ ssh2$/);
  });

  it('DenyUsers user@address refuses that user from that address, even with the right password', async () => {
    const result = await sshWithPassword(test, [...test.sshBase(), ...passwordOnly, '-b', '127.0.0.3', `${TEST_USER}@127.0.0.1`, 'true']);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /Permission denied/);
    await test.waitForLog(/^User tethertest from 127\.0\.0\.3 not allowed because listed in DenyUsers$/);
    await test.waitForLog(/^Failed password for invalid user tethertest from 127\.0\.0\.3 port \d+ ssh2$/);
  });
});

describe('AuthenticationMethods, authorized_keys options, PermitRootLogin, Banner', () => {
  let test: TestServer;
  let restrictedKey: string;
  before(async () => {
    test = await startTestServer({
      config: ['AuthenticationMethods publickey,password'],
      tail: [],
    });
    restrictedKey = join(test.dir, 'id_restricted');
    makeKey(test.dir, 'id_restricted', 'ed25519');
    writeFileSync(
      test.authorizedKeys,
      `${publicKeyLine(test.clientKey)}\ncommand="echo forced:$SSH_ORIGINAL_COMMAND",no-pty ${publicKeyLine(restrictedKey)}\n`,
    );
  });
  after(async () => {
    await test?.stop();
  });

  it('publickey alone is only a partial success; the password completes it', async () => {
    const keyOnly = await ssh(test, [...keyAuth(test), `${TEST_USER}@127.0.0.1`, 'true']);
    assert.equal(keyOnly.status, 255);
    assert.match(keyOnly.stderr, /Permission denied/);
    const both = await sshWithPassword(test, [
      ...test.sshBase(), '-i', test.clientKey, '-o', 'IdentitiesOnly=yes', '-o', 'PreferredAuthentications=publickey,password',
      `${TEST_USER}@127.0.0.1`, 'echo two-factors',
    ]);
    assert.equal(both.status, 0, both.stderr);
    assert.equal(both.stdout.toString(), 'two-factors\n');
    await test.waitForLog(/^Partial publickey for tethertest from 127\.0\.0\.1 port \d+ ssh2: ED25519 SHA256:/);
  });

  it('command= replaces the command, keeping the original in SSH_ORIGINAL_COMMAND', async () => {
    const result = await sshWithPassword(test, [
      ...test.sshBase(), '-i', restrictedKey, '-o', 'IdentitiesOnly=yes', '-o', 'PreferredAuthentications=publickey,password',
      `${TEST_USER}@127.0.0.1`, 'whoami',
    ]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'forced:whoami\n');
  });

  it('no-pty refuses a terminal (ssh -t treats that as fatal, as with sshd)', async () => {
    const result = await sshWithPassword(test, [
      ...test.sshBase(), '-tt', '-i', restrictedKey, '-o', 'IdentitiesOnly=yes', '-o', 'PreferredAuthentications=publickey,password',
      `${TEST_USER}@127.0.0.1`, 'whoami',
    ]);
    assert.equal(result.status, 255);
    assert.match(result.stderr, /PTY allocation request failed on channel 0/);
    assert.equal(result.stdout.toString(), '');
  });
});

describe('PermitRootLogin and Banner', () => {
  let test: TestServer;
  let bannerDir: string;
  before(async () => {
    bannerDir = tempDir('tether-banner-');
    const bannerFile = join(bannerDir, 'banner.txt');
    writeFileSync(bannerFile, 'Authorized use only.\n');
    test = await startTestServer({ config: ['PermitRootLogin no', `Banner ${bannerFile}`] });
  });
  after(async () => {
    await test?.stop();
    rmSync(bannerDir, { recursive: true, force: true });
  });

  it('PermitRootLogin no refuses root even with an authorized key', async () => {
    const result = await ssh(test, [...keyAuth(test), 'root@127.0.0.1', 'true']);
    assert.equal(result.status, 255);
    await test.waitForLog(/^ROOT LOGIN REFUSED FROM 127\.0\.0\.1 port \d+$/);
  });

  it('the Banner is shown before authentication', async () => {
    const args = keyAuth(test).map((a) => (a === 'LogLevel=ERROR' ? 'LogLevel=INFO' : a));
    const result = await ssh(test, [...args, `${TEST_USER}@127.0.0.1`, 'true']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /Authorized use only\./);
  });
});
