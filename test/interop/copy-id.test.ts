/**
 * `tether copy-id` (run as a process) against a real sshd: a password login for the test user (the
 * password comes from SSH_ASKPASS), the key appended once with ~/.ssh 0700 and authorized_keys 0600, a second
 * run that skips it, then OpenSSH `ssh -i key` logging in with it. Also -n, -f and the default key choice.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureTestUser, makeKey, publicKeyLine, startSshd, tempDir, TEST_PASSWORD, TEST_USER, type RunningSshd } from '../helpers/openssh.ts';
import { run, runTether } from '../unit/agent/run-tether.ts';

let dir: string;
let sshd: RunningSshd;
let home: string;
let backup: string | undefined;
let env: NodeJS.ProcessEnv;
let commonOptions: string[];

function remoteFile(): string {
  return join(home, '.ssh', 'authorized_keys');
}

before(async () => {
  ensureTestUser();
  home = spawnSync('sh', ['-c', `getent passwd ${TEST_USER} | cut -d: -f6`], { encoding: 'utf8' }).stdout.trim();
  assert.ok(home.startsWith('/'), `home of ${TEST_USER}: ${home}`);
  // Start from a home without ~/.ssh, and put back whatever was there afterwards.
  if (existsSync(join(home, '.ssh'))) {
    backup = join(home, `.ssh.tether-copy-id-backup-${process.pid}`);
    renameSync(join(home, '.ssh'), backup);
  }
  dir = tempDir('tether-copy-id-');
  sshd = await startSshd({
    overrides: ['AuthorizedKeysFile .ssh/authorized_keys'],
    config: ['PasswordAuthentication yes', 'KbdInteractiveAuthentication no'],
  });
  const askpass = join(dir, 'askpass.sh');
  writeFileSync(askpass, `#!/bin/sh\necho "$1" >> ${join(dir, 'askpass.log')}\necho '${TEST_PASSWORD}'\n`, { mode: 0o755 });
  env = { PATH: process.env.PATH, HOME: dir, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force' };
  commonOptions = ['-p', String(sshd.port), '-o', 'StrictHostKeyChecking=accept-new', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`];
});

after(async () => {
  await sshd?.stop();
  rmSync(join(home, '.ssh'), { recursive: true, force: true });
  if (backup) renameSync(backup, join(home, '.ssh'));
  rmSync(dir, { recursive: true, force: true });
});

describe('tether copy-id against OpenSSH sshd', () => {
  let key: string;

  it('logs in by password and installs the key, creating ~/.ssh 0700 and authorized_keys 0600', async () => {
    key = makeKey(dir, 'copy_ed25519', 'ed25519');
    const result = await runTether(['copy-id', '-i', key, ...commonOptions, `${TEST_USER}@127.0.0.1`], { env });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`INFO: Source of key\\(s\\) to be installed: "${key}\\.pub"`));
    assert.match(result.stderr, /INFO: 1 key\(s\) remain to be installed/);
    assert.equal(
      result.stdout,
      `\nNumber of key(s) added: 1\n\nNow try logging into the machine, with:   "ssh -p '${sshd.port}' -o 'StrictHostKeyChecking=accept-new' -o 'UserKnownHostsFile=${join(dir, 'known_hosts')}' '${TEST_USER}@127.0.0.1'"\nand check to make sure that only the key(s) you wanted were added.\n\n`,
    );
    assert.equal(readFileSync(join(dir, 'askpass.log'), 'utf8'), `${TEST_USER}@127.0.0.1's password: \n`);
    assert.equal(readFileSync(remoteFile(), 'utf8'), `${publicKeyLine(key)}\n`);
    assert.equal(statSync(join(home, '.ssh')).mode & 0o777, 0o700);
    assert.equal(statSync(remoteFile()).mode & 0o777, 0o600);
    const uid = Number(spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).stdout.trim());
    assert.equal(statSync(remoteFile()).uid, uid, 'written by the user, not by root');
  });

  it('a second run finds the key already there and adds nothing', async () => {
    const result = await runTether(['copy-id', '-i', key, ...commonOptions, `${TEST_USER}@127.0.0.1`], { env });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /WARNING: All keys were skipped because they already exist on the remote system\./);
    assert.equal(result.stdout, '');
    assert.equal(readFileSync(remoteFile(), 'utf8'), `${publicKeyLine(key)}\n`);
  });

  it('OpenSSH ssh -i key logs in with the installed key', async () => {
    const result = await run('/usr/bin/ssh', [
      '-F', 'none', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'PasswordAuthentication=no',
      ...commonOptions, `${TEST_USER}@127.0.0.1`, 'echo logged-in-with-copied-key',
    ], { env: { PATH: process.env.PATH, HOME: dir } });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'logged-in-with-copied-key\n');
  });

  it('recognises an installed key by its blob even with another comment and options', async () => {
    const other = makeKey(dir, 'copy_other', 'ecdsa', 256);
    const [type, base64] = publicKeyLine(other).split(' ');
    writeFileSync(remoteFile(), `${readFileSync(remoteFile(), 'utf8')}no-pty,from="127.0.0.1" ${type} ${base64} renamed comment`, { mode: 0o600 });
    const before = readFileSync(remoteFile(), 'utf8');
    const result = await runTether(['copy-id', '-i', `${other}.pub`, ...commonOptions, `${TEST_USER}@127.0.0.1`], { env });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /All keys were skipped/);
    assert.equal(readFileSync(remoteFile(), 'utf8'), before);
  });

  it('-n shows what it would add and changes nothing; -f adds without checking', async () => {
    const fresh = makeKey(dir, 'copy_rsa', 'rsa', 2048);
    const before = readFileSync(remoteFile(), 'utf8');
    const dry = await runTether(['copy-id', '-n', '-i', fresh, ...commonOptions, `${TEST_USER}@127.0.0.1`], { env });
    assert.equal(dry.status, 0, dry.stderr);
    assert.equal(dry.stdout, `=-=-=-=-=-=-=-=\nWould have added the following key(s):\n\n${publicKeyLine(fresh)}\n=-=-=-=-=-=-=-=\n`);
    assert.equal(readFileSync(remoteFile(), 'utf8'), before);

    const forced = await runTether(['copy-id', '-f', '-i', key, ...commonOptions, `${TEST_USER}@127.0.0.1`], { env });
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(forced.stdout, /Number of key\(s\) added: 1/);
    // The file lacked a final newline (previous test); the key goes on a line of its own.
    assert.equal(readFileSync(remoteFile(), 'utf8'), `${before}\n${publicKeyLine(key)}\n`);
  });

  it('without -i (and no agent) installs the newest ~/.ssh/id*.pub', async () => {
    const sshDir = join(dir, '.ssh');
    mkdirSync(sshDir, { recursive: true });
    const older = makeKey(sshDir, 'id_rsa', 'rsa', 2048);
    const newer = makeKey(sshDir, 'id_ecdsa', 'ecdsa', 384);
    utimesSync(`${older}.pub`, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    const result = await runTether(['copy-id', ...commonOptions, `${TEST_USER}@127.0.0.1`], { env });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`Source of key\\(s\\) to be installed: "${newer}\\.pub"`));
    const installed = readFileSync(remoteFile(), 'utf8');
    assert.ok(installed.includes(publicKeyLine(newer)));
    assert.ok(!installed.includes(publicKeyLine(older).split(' ')[1]!));
  });

  it('a missing identity file is an error', async () => {
    const result = await runTether(['copy-id', '-i', join(dir, 'nope'), ...commonOptions, `${TEST_USER}@127.0.0.1`], { env });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /ERROR: failed to open ID file '.*nope\.pub': No such file or directory/);
  });
});
