/**
 * UpdateHostKeys on the client (ssh_config(5), PROTOCOL §2.5, clientloop.c client_input_hostkeys): tether ssh
 * against a stock sshd learns the host keys the server proves, drops keys the server no longer has, and
 * leaves known_hosts alone when the key was not trusted from the user's file or the host's lines are not
 * ones ssh writes. Each outcome is compared with the real ssh run on a copy of the same file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePrivateKey } from '../../src/keys/index.ts';
import { makeKey, publicKeyLine, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { runTether } from '../helpers/tether.ts';

let sshd: RunningSshd;
let home: string;
let key: string;
const keyLines: Record<string, string> = {};

before(async () => {
  home = tempDir();
  key = makeKey(home, 'id_ed25519', 'ed25519');
  sshd = await startSshd({ authorizedKeys: [publicKeyLine(key)], hostKeyTypes: ['ed25519', 'ecdsa', 'rsa'] });
  for (const type of ['ed25519', 'ecdsa', 'rsa']) {
    keyLines[type] = readFileSync(`${sshd.hostKeys[type]}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  }
});
after(() => sshd?.stop());

const hostName = () => `[127.0.0.1]:${sshd.port}`;
const options = (file: string, extra: string[]) => [
  '-F', 'none', '-o', `UserKnownHostsFile=${file}`, '-o', 'GlobalKnownHostsFile=none', '-o', 'BatchMode=yes',
  '-o', 'UpdateHostKeys=yes', '-o', 'LogLevel=VERBOSE', '-i', key, '-p', String(sshd.port), ...extra, 'root@127.0.0.1', 'true',
];

/** Runs tether ssh and the real ssh, each on its own copy of `text`; returns both files and tether's log. */
async function bothClients(text: string, extra: string[] = []) {
  const dir = tempDir();
  const ours = join(dir, 'ours');
  const theirs = join(dir, 'theirs');
  writeFileSync(ours, text);
  writeFileSync(theirs, text);
  const result = await runTether(['ssh', ...options(ours, extra)], { env: { HOME: home } });
  assert.equal(result.status, 0, result.stderr);
  const real = spawnSync('/usr/bin/ssh', options(theirs, extra), { encoding: 'utf8', timeout: 20_000, env: { ...process.env, HOME: home } });
  assert.equal(real.status, 0, real.stderr);
  return { ours: readFileSync(ours, 'utf8'), theirs: readFileSync(theirs, 'utf8'), log: result.stderr.replace(/\r\n/g, '\n'), oursPath: ours };
}

const sorted = (text: string) => text.trim().split('\n').sort();

describe('UpdateHostKeys (tether ssh against sshd)', () => {
  it('learns the keys the server proves, with ssh\'s messages', async () => {
    const { ours, theirs, log } = await bothClients(`${hostName()} ${keyLines.ed25519}\n`, ['-o', 'StrictHostKeyChecking=yes']);
    assert.deepEqual(sorted(ours), sorted([keyLines.ed25519, keyLines.ecdsa, keyLines.rsa].map((line) => `${hostName()} ${line}`).join('\n')));
    assert.deepEqual(sorted(ours), sorted(theirs));
    assert.match(log, /^Learned new hostkey: ECDSA SHA256:\S+$/m);
    assert.match(log, /^Learned new hostkey: RSA SHA256:\S+$/m);
    assert.match(log, new RegExp(`^Adding new key for \\[127\\.0\\.0\\.1\\]:${sshd.port} to \\S+: ssh-rsa SHA256:\\S+$`, 'm'));
  });

  it('removes a key the server no longer has, keeping the file as .old', async () => {
    const stale = generatePrivateKey('ed25519').publicKey;
    const text = `# kept\n${hostName()} ${keyLines.ed25519}\n${hostName()} ${stale.toLine()}\n`;
    const { ours, theirs, log, oursPath } = await bothClients(text, ['-o', 'HostKeyAlgorithms=ssh-ed25519']);
    assert.equal(ours, theirs);
    assert.ok(!ours.includes(stale.toLine()), ours);
    assert.ok(ours.startsWith(`# kept\n${hostName()} ${keyLines.ed25519}\n`), ours);
    assert.match(log, /^Deprecating obsolete hostkey: ED25519 SHA256:\S+$/m);
    assert.match(log, /: Removed ED25519 key for host \[127\.0\.0\.1\]:\d+$/m);
    assert.ok(existsSync(`${oursPath}.old`));
  });

  it('changes nothing when the key was only just added (StrictHostKeyChecking=accept-new)', async () => {
    const { ours, theirs } = await bothClients('', ['-o', 'StrictHostKeyChecking=accept-new', '-o', 'HostKeyAlgorithms=ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512']);
    assert.deepEqual(sorted(ours), [`${hostName()} ${keyLines.ed25519}`]);
    assert.deepEqual(sorted(ours), sorted(theirs));
  });

  it('leaves wildcard lines and keys under other names alone', async () => {
    const wildcard = `[127.0.0.1]:* ${keyLines.ed25519}\n`;
    const first = await bothClients(wildcard);
    assert.equal(first.ours, wildcard);
    assert.equal(first.theirs, wildcard);
    const elsewhere = `${hostName()} ${keyLines.ed25519}\nalias.example ${keyLines.ecdsa}\n`;
    const second = await bothClients(elsewhere);
    assert.equal(second.ours, elsewhere);
    assert.equal(second.theirs, elsewhere);
  });

  it('hashes the names it adds with HashKnownHosts', async () => {
    const { ours } = await bothClients(`${hostName()} ${keyLines.ed25519}\n`, ['-o', 'HashKnownHosts=yes']);
    const added = ours.trim().split('\n').slice(1);
    assert.equal(added.length, 2);
    for (const line of added) assert.match(line, /^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+ (ecdsa-sha2-nistp256|ssh-rsa) /);
  });
});
