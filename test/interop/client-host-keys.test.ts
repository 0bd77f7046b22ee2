/**
 * Host identity as in the guide's first section: the first-connection question worded like OpenSSH's (in a
 * real terminal), typing the fingerprint, known_hosts with plain, hashed and [host]:port entries, @revoked,
 * StrictHostKeyChecking, and the changed-key warning naming the offending file and line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { makeKey, publicKeyLine, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { runTether, TETHER_BIN } from '../helpers/tether.ts';
import { TerminalSession, shellQuote } from '../helpers/tmux.ts';

describe('tether ssh host-key checking', () => {
  let sshd: RunningSshd;
  let home: string;
  let key: string;
  let hostFingerprint: string;
  let hostKeyLine: string;

  before(async () => {
    home = tempDir();
    key = makeKey(home, 'id_ed25519', 'ed25519');
    sshd = await startSshd({ authorizedKeys: [publicKeyLine(key)], hostKeyTypes: ['ed25519'] });
    hostKeyLine = readFileSync(`${sshd.hostKeys.ed25519}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
    hostFingerprint = spawnSync('ssh-keygen', ['-l', '-f', `${sshd.hostKeys.ed25519}.pub`], { encoding: 'utf8' }).stdout.split(' ')[1]!;
  });
  after(() => sshd.stop());

  const hostName = () => `[127.0.0.1]:${sshd.port}`;
  /** Runs tether ssh; its log lines end in CR LF like ssh's, folded to LF here for matching. */
  const ssh = async (knownHosts: string, extra: string[]) => {
    const result = await runTether(['ssh', '-F', 'none', '-o', `UserKnownHostsFile=${knownHosts}`, '-i', key, '-p', String(sshd.port), ...extra, 'root@127.0.0.1', 'echo connected'], {
      env: { HOME: home },
    });
    return { ...result, stderr: result.stderr.replace(/\r\n/g, '\n') };
  };

  function interactive(knownHosts: string): TerminalSession {
    const command = [process.execPath, TETHER_BIN, 'ssh', '-F', 'none', '-o', `UserKnownHostsFile=${knownHosts}`, '-i', key, '-p', String(sshd.port), 'root@127.0.0.1', 'echo connected']
      .map(shellQuote)
      .join(' ');
    return new TerminalSession(command, { env: { HOME: home } });
  }

  test('first connection asks like OpenSSH; "yes" records the key', async () => {
    const knownHosts = join(tempDir(), 'known_hosts');
    const terminal = interactive(knownHosts);
    try {
      const screen = await terminal.waitFor(/continue connecting \(yes\/no\/\[fingerprint\]\)\? $/m);
      assert.match(screen, new RegExp(`The authenticity of host '\\[127\\.0\\.0\\.1\\]:${sshd.port} \\(\\[127\\.0\\.0\\.1\\]:${sshd.port}\\)' can't be established\\.`));
      assert.ok(screen.includes(`ED25519 key fingerprint is ${hostFingerprint}.`), screen);
      terminal.type('yes');
      const after = await terminal.waitFor(/\[exit status \d+\]/);
      assert.match(after, /Warning: Permanently added '\[127\.0\.0\.1\]:\d+' \(ED25519\) to the list of known hosts\./);
      assert.match(after, /^connected$/m);
      assert.match(after, /\[exit status 0\]/);
    } finally {
      terminal.close();
    }
    assert.equal(readFileSync(knownHosts, 'utf8'), `${hostName()} ${hostKeyLine}\n`);
    const again = await ssh(knownHosts, ['-o', 'StrictHostKeyChecking=yes']);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stderr, '');
  });

  test('typing the fingerprint counts as yes; "no" refuses', async () => {
    const knownHosts = join(tempDir(), 'known_hosts');
    const accepting = interactive(knownHosts);
    try {
      await accepting.waitFor(/\(yes\/no\/\[fingerprint\]\)\? $/m);
      accepting.type(hostFingerprint);
      assert.match(await accepting.waitFor(/\[exit status \d+\]/), /\[exit status 0\]/);
    } finally {
      accepting.close();
    }
    const refusingHosts = join(tempDir(), 'known_hosts');
    const refusing = interactive(refusingHosts);
    try {
      await refusing.waitFor(/\(yes\/no\/\[fingerprint\]\)\? $/m);
      refusing.type('no');
      const screen = await refusing.waitFor(/\[exit status \d+\]/);
      assert.match(screen, /Host key verification failed\./);
      assert.match(screen, /\[exit status 255\]/);
    } finally {
      refusing.close();
    }
  });

  test('StrictHostKeyChecking=yes refuses an unknown host; accept-new records it', async () => {
    const knownHosts = join(tempDir(), 'known_hosts');
    const strict = await ssh(knownHosts, ['-o', 'StrictHostKeyChecking=yes']);
    assert.equal(strict.status, 255);
    assert.match(strict.stderr, new RegExp(`No ED25519 host key is known for \\[127\\.0\\.0\\.1\\]:${sshd.port} and you have requested strict checking\\.\\nHost key verification failed\\.`));
    const acceptNew = await ssh(knownHosts, ['-o', 'StrictHostKeyChecking=accept-new']);
    assert.equal(acceptNew.status, 0, acceptNew.stderr);
    assert.match(readFileSync(knownHosts, 'utf8'), new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} ssh-ed25519 `));
  });

  test('hashed |1| entries (ssh-keygen -H) are recognised', async () => {
    const knownHosts = join(tempDir(), 'known_hosts');
    writeFileSync(knownHosts, `${hostName()} ${hostKeyLine}\n`);
    assert.equal(spawnSync('ssh-keygen', ['-H', '-f', knownHosts]).status, 0);
    assert.match(readFileSync(knownHosts, 'utf8'), /^\|1\|/);
    const result = await ssh(knownHosts, ['-o', 'StrictHostKeyChecking=yes']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'connected\n');
  });

  test('a changed key is refused with OpenSSH\'s warning naming file and line', async () => {
    const knownHosts = join(tempDir(), 'known_hosts');
    const other = makeKey(tempDir(), 'other', 'ed25519');
    const otherLine = readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(knownHosts, `# a comment\nunrelated.example ${otherLine}\n${hostName()} ${otherLine}\n`);
    for (const strict of ['ask', 'yes', 'accept-new']) {
      const result = await ssh(knownHosts, ['-o', `StrictHostKeyChecking=${strict}`]);
      assert.equal(result.status, 255, result.stderr);
      assert.match(result.stderr, /@ {4}WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! {5}@/);
      assert.ok(result.stderr.includes(`The fingerprint for the ED25519 key sent by the remote host is\n${hostFingerprint}.`), result.stderr);
      assert.ok(result.stderr.includes(`Offending ED25519 key in ${knownHosts}:3`), result.stderr);
      assert.ok(result.stderr.includes(`  ssh-keygen -f "${knownHosts}" -R "${hostName()}"`), result.stderr);
      assert.match(result.stderr, /Host key verification failed\.$/m);
      assert.equal(result.stdout.length, 0);
    }
  });

  test('CheckHostIP leaves a loopback peer out, as ssh does (sockaddr_is_local; other addresses: unit/client/host-key-policy)', async () => {
    const knownHosts = join(tempDir(), 'known_hosts');
    const byName = (extra: string[]) =>
      runTether(['ssh', '-F', 'none', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'CheckHostIP=yes', '-i', key, '-p', String(sshd.port), ...extra, 'root@localhost', 'echo connected'], {
        env: { HOME: home },
      });
    const first = await byName(['-o', 'StrictHostKeyChecking=accept-new']);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(readFileSync(knownHosts, 'utf8'), `[localhost]:${sshd.port} ${hostKeyLine}\n`);
    assert.match(first.stderr, new RegExp(`Permanently added '\\[localhost\\]:${sshd.port}' \\(ED25519\\)`));

    // An address entry with another key is not consulted for a loopback peer.
    const other = makeKey(tempDir(), 'other', 'ed25519');
    const otherLine = readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(knownHosts, `[localhost]:${sshd.port} ${hostKeyLine}\n${hostName()} ${otherLine}\n`);
    const strict = await byName(['-o', 'StrictHostKeyChecking=yes']);
    assert.equal(strict.status, 0, strict.stderr);
    assert.doesNotMatch(strict.stderr, /differs from the key for the IP address/);
  });

  test('a @revoked key is refused', async () => {
    const knownHosts = join(tempDir(), 'known_hosts');
    writeFileSync(knownHosts, `@revoked * ${hostKeyLine}\n${hostName()} ${hostKeyLine}\n`);
    const result = await ssh(knownHosts, ['-o', 'StrictHostKeyChecking=no']);
    assert.equal(result.status, 255);
    assert.match(result.stderr, /WARNING: REVOKED HOST KEY DETECTED!/);
    assert.match(result.stderr, /Host key verification failed\./);
  });
});
