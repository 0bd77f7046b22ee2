/**
 * What decides whether a public key may log in on `tether server`, with stock OpenSSH clients: a key may
 * complete only one step of AuthenticationMethods "publickey,publickey"; RevokedKeys, as a plain list or a
 * KRL written by ssh-keygen -k, refuses keys (and every key when it cannot be read); AuthorizedKeysCommand
 * supplies keys as another user, with sshd's tokens and checks. Each outcome is checked in sshd's log words.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { keyAuth, ssh, startTestServer, TEST_USER, type TestServer } from './server-harness.ts';
import { makeKey, publicKeyLine } from '../helpers/openssh.ts';
import { fingerprint, parsePublicKeyLine } from '../../src/keys/index.ts';
import { MAX_COMMAND_OUTPUT_BYTES, runAuthorizedKeysCommand } from '../../src/server/authorized-keys-command.ts';
import { lookupAccount } from '../../src/server/accounts.ts';
import { createLogger } from '../../src/server/logger.ts';

const FP = '[A-Za-z0-9+/]{43}';
const publicKeyOptions = ['-o', 'IdentitiesOnly=yes', '-o', 'PreferredAuthentications=publickey', '-o', 'BatchMode=yes'];

function sha256Of(privateKey: string): string {
  return fingerprint(parsePublicKeyLine(publicKeyLine(privateKey)).key.blob, 'sha256');
}

describe('AuthenticationMethods publickey,publickey', () => {
  let test: TestServer;
  let secondKey: string;
  let sameKeyCopy: string;
  before(async () => {
    test = await startTestServer({ config: ['AuthenticationMethods publickey,publickey'] });
    secondKey = makeKey(test.dir, 'id_second', 'ed25519');
    // The same key under another name: stock ssh offers it again after the first step's partial success.
    sameKeyCopy = join(test.dir, 'id_copy');
    copyFileSync(test.clientKey, sameKeyCopy);
    copyFileSync(`${test.clientKey}.pub`, `${sameKeyCopy}.pub`);
    chmodSync(sameKeyCopy, 0o600);
    writeFileSync(test.authorizedKeys, `${publicKeyLine(test.clientKey)}\n${publicKeyLine(secondKey)}\n`);
  });
  after(async () => {
    await test?.stop();
  });

  it('one key offered twice completes only the first step ("refusing previously-used" key)', async () => {
    test.logLines.length = 0;
    const result = await ssh(test, [...keyAuth(test), '-i', sameKeyCopy, `${TEST_USER}@127.0.0.1`, 'echo should-not-run']);
    assert.equal(result.status, 255, result.stdout.toString());
    assert.match(result.stderr, /Permission denied \(publickey\)/);
    await test.waitForLog(/^Partial publickey for tethertest from 127\.0\.0\.1 port \d+ ssh2: ED25519 SHA256:/);
    await test.waitForLog(/^refusing previously-used ED25519 key$/);
    assert.ok(!test.logLines.some((line) => line.startsWith('Accepted publickey')), test.logLines.join('\n'));
  });

  it('two different keys complete both steps', async () => {
    test.logLines.length = 0;
    const result = await ssh(test, [...keyAuth(test), '-i', secondKey, `${TEST_USER}@127.0.0.1`, 'echo two-keys']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'two-keys\n');
    await test.waitForLog(new RegExp(`^Accepted publickey for tethertest from 127\\.0\\.0\\.1 port \\d+ ssh2: ED25519 ${sha256Of(secondKey).replace(/[+/]/g, '\\$&')}$`));
  });
});

describe('RevokedKeys', () => {
  let test: TestServer;
  let revokedKeys: string;
  let otherKey: string;
  before(async () => {
    const dir = mkdtempSync('/tmp/tether-revoked-');
    revokedKeys = join(dir, 'revoked_keys');
    test = await startTestServer({ config: [`RevokedKeys ${revokedKeys}`] });
    otherKey = makeKey(test.dir, 'id_other', 'ecdsa');
    writeFileSync(test.authorizedKeys, `${publicKeyLine(test.clientKey)}\n${publicKeyLine(otherKey)}\n`);
  });
  after(async () => {
    await test?.stop();
    rmSync(join(revokedKeys, '..'), { recursive: true, force: true });
  });

  const login = (key: string) => ssh(test, [...test.sshBase(), ...publicKeyOptions, '-i', key, `${TEST_USER}@127.0.0.1`, 'echo in']);

  async function assertRevoked(key: string, label: 'ED25519' | 'ECDSA'): Promise<void> {
    test.logLines.length = 0;
    const result = await login(key);
    assert.equal(result.status, 255, result.stdout.toString());
    assert.match(result.stderr, /Permission denied \(publickey/);
    const fp = sha256Of(key).replace(/[+/]/g, '\\$&');
    await test.waitForLog(new RegExp(`^Authentication key ${label} ${fp} revoked by file ${revokedKeys}$`));
  }

  async function assertAllowed(key: string): Promise<void> {
    const result = await login(key);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'in\n');
  }

  it('a plain list of public keys revokes the keys listed, and only those', async () => {
    writeFileSync(revokedKeys, `# lost laptop\n${publicKeyLine(test.clientKey)}\n`);
    await assertRevoked(test.clientKey, 'ED25519');
    await assertAllowed(otherKey);
  });

  it('a KRL from ssh-keygen -k revoking the key explicitly', async () => {
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-k', '-f', revokedKeys, `${otherKey}.pub`]);
    await assertRevoked(otherKey, 'ECDSA');
    await assertAllowed(test.clientKey);
  });

  it('a KRL revoking by SHA1 and by SHA256 fingerprint', async () => {
    const spec = join(test.dir, 'krl-spec');
    writeFileSync(spec, `sha1: ${publicKeyLine(test.clientKey)}\nsha256: ${publicKeyLine(otherKey)}\n`);
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-k', '-f', revokedKeys, spec]);
    await assertRevoked(test.clientKey, 'ED25519');
    await assertRevoked(otherKey, 'ECDSA');
  });

  it('a KRL of certificate serials only leaves plain keys alone', async () => {
    const ca = makeKey(test.dir, 'id_ca', 'ed25519');
    const spec = join(test.dir, 'krl-serials');
    writeFileSync(spec, 'serial: 1-100\nid: someone\n');
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-k', '-f', revokedKeys, '-s', `${ca}.pub`, spec]);
    await assertAllowed(test.clientKey);
  });

  it('a missing or unparsable RevokedKeys file refuses every key, as sshd does', async () => {
    rmSync(revokedKeys, { force: true });
    test.logLines.length = 0;
    const missing = await login(otherKey);
    assert.equal(missing.status, 255);
    await test.waitForLog(
      new RegExp(`^Error checking authentication key ECDSA SHA256:${FP} in revoked keys file ${revokedKeys}: No such file or directory$`),
    );
    writeFileSync(revokedKeys, 'this is not a key\n');
    test.logLines.length = 0;
    const garbage = await login(test.clientKey);
    assert.equal(garbage.status, 255);
    await test.waitForLog(new RegExp(`^Error checking authentication key ED25519 SHA256:${FP} in revoked keys file ${revokedKeys}: invalid format$`));
    writeFileSync(revokedKeys, Buffer.from('SSHKRL\n\0\0\0\0\x09', 'latin1'));
    test.logLines.length = 0;
    assert.equal((await login(test.clientKey)).status, 255);
    await test.waitForLog(/in revoked keys file .*: invalid format$/);
  });
});

describe('AuthorizedKeysCommand', () => {
  // The program must sit where only root can write, as sshd requires; /tmp is writable by all.
  const commandDir = mkdtempSync('/run/tether-keys-command-');
  chmodSync(commandDir, 0o755);
  const program = join(commandDir, 'keys');
  const behaviour = join(commandDir, 'behaviour');
  const keysToPrint = join(commandDir, 'keys.txt');
  let test: TestServer;
  let commandOnlyKey: string;

  before(async () => {
    writeFileSync(
      program,
      [
        '#!/bin/sh',
        'echo "args: $*" >&2',
        'echo "as: $(id -un) path: $PATH home: $HOME" >&2',
        `cat ${keysToPrint}`,
        `exit "$(cat ${behaviour})"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    writeFileSync(behaviour, '0', { mode: 0o644 });
    test = await startTestServer({
      config: [`AuthorizedKeysCommand ${program} %u %k %t %f %h %U %C "a b" %%`, 'AuthorizedKeysCommandUser nobody'],
    });
    commandOnlyKey = makeKey(test.dir, 'id_from_command', 'ed25519');
    writeFileSync(keysToPrint, `command="echo from-command" ${publicKeyLine(commandOnlyKey)}\n`, { mode: 0o644 });
  });
  after(async () => {
    await test?.stop();
    rmSync(commandDir, { recursive: true, force: true });
  });

  const login = (key: string) => ssh(test, [...test.sshBase(), ...publicKeyOptions, '-i', key, `${TEST_USER}@127.0.0.1`, 'echo asked']);

  it('its output authorizes keys with their options, run as the user named, with sshd\'s tokens and environment', async () => {
    test.logLines.length = 0;
    const result = await login(commandOnlyKey);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'from-command\n');
    const account = (await lookupAccount(TEST_USER))!;
    const key = parsePublicKeyLine(publicKeyLine(commandOnlyKey)).key;
    const escape = (text: string) => text.replace(/[+/]/g, '\\$&');
    const args = `${TEST_USER} ${escape(key.blob.toString('base64'))} ssh-ed25519 ${escape(fingerprint(key.blob))} ${escape(account.home)} ${account.uid}`;
    const connection = `127\\.0\\.0\\.1 \\d+ 127\\.0\\.0\\.1 ${test.port}`;
    await test.waitForLog(new RegExp(`^AuthorizedKeysCommand stderr: args: ${args} ${connection} a b %$`));
    await test.waitForLog(/^AuthorizedKeysCommand stderr: as: nobody path: \/usr\/bin:\/bin:\/usr\/sbin:\/sbin home: \/\S*$/);
  });

  it('is consulted after AuthorizedKeysFile, which still works', async () => {
    const result = await login(test.clientKey);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'asked\n');
  });

  it('output of a command that exits non-zero does not count', async () => {
    writeFileSync(behaviour, '3');
    test.logLines.length = 0;
    try {
      const result = await login(commandOnlyKey);
      assert.equal(result.status, 255, result.stdout.toString());
      await test.waitForLog(new RegExp(`^AuthorizedKeysCommand ${program} ${TEST_USER} .* "a b" % failed, status 3$`));
    } finally {
      writeFileSync(behaviour, '0');
    }
  });
});

describe('AuthorizedKeysCommand refusals', () => {
  let test: TestServer;
  before(async () => {
    test = await startTestServer({ config: ['AuthorizedKeysCommandUser nobody'], tail: [] });
  });
  after(async () => {
    await test?.stop();
  });

  async function run(command: string, timeoutMs?: number): Promise<{ output: string | undefined; log: string[] }> {
    const log: string[] = [];
    const account = (await lookupAccount(TEST_USER))!;
    const output = await runAuthorizedKeysCommand({
      command,
      commandUser: 'nobody',
      account,
      key: parsePublicKeyLine(publicKeyLine(test.clientKey)).key,
      fingerprintHash: 'sha256',
      connection: { peer: { address: '127.0.0.1', port: 1 }, local: { address: '127.0.0.1', port: 2 } },
      logger: createLogger({ level: 'VERBOSE', destination: (line) => log.push(line) }),
      timeoutMs,
    });
    return { output, log };
  }

  it('a program where others can write is not run ("Unsafe AuthorizedKeysCommand")', async () => {
    const program = join(test.dir, 'keys');
    writeFileSync(program, '#!/bin/sh\necho ran >&2\n', { mode: 0o755 });
    const { output, log } = await run(program);
    assert.equal(output, undefined);
    assert.deepEqual(log, [`Unsafe AuthorizedKeysCommand "${program}": bad ownership or modes for directory /tmp`]);
  });

  it('a relative or missing program, bad quotes and unknown tokens are refused with sshd\'s words', async () => {
    assert.deepEqual((await run('/no/such/program %u')).log, ['Could not stat AuthorizedKeysCommand "/no/such/program": No such file or directory']);
    assert.deepEqual((await run('/bin/echo "open')).log, ['AuthorizedKeysCommand "/bin/echo "open" contains invalid quotes']);
    assert.deepEqual((await run('/bin/echo %Z')).log, ['percent_expand: unknown key %Z']);
  });

  it('a program that prints more than the bound is killed and its output ignored', async () => {
    const dir = mkdtempSync('/run/tether-keys-big-');
    chmodSync(dir, 0o755);
    try {
      const program = join(dir, 'big');
      writeFileSync(program, `#!/bin/sh\necho '${publicKeyLine(test.clientKey)}'\nexec head -c ${MAX_COMMAND_OUTPUT_BYTES + 1} /dev/zero\n`, { mode: 0o755 });
      const { output, log } = await run(`${program} %u`);
      assert.equal(output, undefined);
      assert.deepEqual(log, [`AuthorizedKeysCommand ${program} ${TEST_USER} output exceeds ${MAX_COMMAND_OUTPUT_BYTES} bytes`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a program that runs too long is killed and its output ignored', async () => {
    const dir = mkdtempSync('/run/tether-keys-slow-');
    chmodSync(dir, 0o755);
    try {
      const program = join(dir, 'slow');
      writeFileSync(program, `#!/bin/sh\necho '${publicKeyLine(test.clientKey)}'\nexec sleep 30\n`, { mode: 0o755 });
      const started = Date.now();
      const { output, log } = await run(`${program} %u`, 500);
      assert.equal(output, undefined);
      assert.ok(Date.now() - started < 10_000);
      assert.deepEqual(log, [`AuthorizedKeysCommand ${program} ${TEST_USER} timed out`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
