/**
 * A chrooted sftp-only account, the usual gateway set-up for collaborators: `Match User` with
 * ChrootDirectory (with %u) and ForceCommand internal-sftp. Stock OpenSSH sftp cannot read or write outside
 * the root with "..", absolute paths, or links planted inside that point outside (absolute, relative, to a
 * directory, hard links); the root's ownership is checked as sshd checks it; a shell is refused.
 * The root lives under /var/lib, since /tmp is world-writable and sshd's check refuses anything below it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServerProcess, TEST_USER, type ServerProcess } from '../helpers/server-process.ts';
import { run } from './server-harness.ts';

let server: ServerProcess;
let base: string;
let root: string;
let uid: number;
let gid: number;
const SECRET = 'outside the root\n';

function clientArgs(): string[] {
  return server.sshArgs().map((arg) => (arg === '-p' ? '-P' : arg));
}

function sftp(batch: string) {
  const local = join(server.dir, 'local');
  return run('/bin/sh', ['-c', 'cd "$0" && exec sftp "$@"', local, ...clientArgs(), '-b', '-', `${TEST_USER}@127.0.0.1`], { input: batch, timeoutMs: 60_000 });
}

before(async () => {
  base = mkdtempSync('/var/lib/tether-sftp-chroot-');
  chmodSync(base, 0o755);
  root = join(base, TEST_USER);
  mkdirSync(join(root, 'upload'), { recursive: true });
  chmodSync(root, 0o755);
  uid = Number(spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).stdout.trim());
  gid = Number(spawnSync('id', ['-g', TEST_USER], { encoding: 'utf8' }).stdout.trim());
  chownSync(join(root, 'upload'), uid, gid);
  writeFileSync(join(root, 'upload', 'inside.txt'), 'inside\n');
  writeFileSync(join(base, 'secret.txt'), SECRET, { mode: 0o644 });
  mkdirSync(join(base, 'open'), { mode: 0o777 });
  chmodSync(join(base, 'open'), 0o777);
  // Planted links: absolute and relative, to a file and to a directory, all pointing outside.
  symlinkSync(join(base, 'secret.txt'), join(root, 'upload', 'abs-secret'));
  symlinkSync('../../secret.txt', join(root, 'upload', 'rel-secret'));
  symlinkSync(join(base, 'open'), join(root, 'upload', 'abs-dir'));
  symlinkSync('../../../../../..', join(root, 'upload', 'up'));
  symlinkSync('/etc', join(root, 'upload', 'etc'));
  server = await startServerProcess({
    config: ['Subsystem sftp internal-sftp'],
    configTail: [
      `Match User ${TEST_USER}`,
      `\tChrootDirectory ${base}/%u`,
      '\tForceCommand internal-sftp -l INFO',
    ],
  });
  mkdirSync(join(server.dir, 'local'));
  writeFileSync(join(server.dir, 'local', 'payload.txt'), 'payload\n');
});
after(async () => {
  await server?.stop();
  if (base) rmSync(base, { recursive: true, force: true });
});

describe('a chrooted sftp-only account', () => {
  it('sees the root as / and works inside it', async () => {
    const result = await sftp('pwd\nls /\ncd upload\nget inside.txt\nput payload.txt\nls\n');
    assert.equal(result.status, 0, result.stderr);
    const out = result.stdout.toString();
    assert.match(out, /Remote working directory: \/\n/);
    assert.match(out, /sftp> ls \/\n\/upload\s*\n/);
    assert.equal(readFileSync(join(server.dir, 'local', 'inside.txt'), 'utf8'), 'inside\n');
    assert.equal(readFileSync(join(root, 'upload', 'payload.txt'), 'utf8'), 'payload\n');
  });

  it('cannot read outside: "..", absolute paths, planted links', async () => {
    const paths = ['../secret.txt', '/../secret.txt', '/upload/../../secret.txt', `${base}/secret.txt`, '/etc/passwd', 'upload/abs-secret', 'upload/rel-secret', 'upload/up/secret.txt', 'upload/etc/passwd', 'upload/abs-dir'];
    // "-" lets the batch go on after a failed command; every one of them must fail.
    const result = await sftp(`${paths.map((path, index) => `-get ${path} stolen-${index}.txt`).join('\n')}\n-ls upload/up\n-ls -la upload/abs-dir/\n`);
    assert.equal(result.stderr.match(/not found|No such file|Permission denied/g)?.length ?? 0, paths.length, result.stderr);
    assert.deepEqual(readdirSync(join(server.dir, 'local')).filter((name) => name.startsWith('stolen')), []);
    const shown = result.stdout.toString().split('\n').filter((line) => !line.startsWith('sftp> ')).join('\n');
    assert.doesNotMatch(shown, /secret\.txt|tether-sftp-chroot|open/);
  });

  it('cannot write outside: "..", absolute paths, links to an outside directory, new links', async () => {
    const attempts = [
      'put payload.txt ../../escape1.txt',
      `put payload.txt ${base}/open/escape2.txt`,
      'put payload.txt upload/abs-dir/escape3.txt',
      'put payload.txt upload/up/escape4.txt',
      `mkdir ${base}/open/escape5`,
      'rename upload/inside.txt ../escape6.txt',
      'ln -s /etc/passwd upload/new-link',
      'ln upload/abs-secret upload/hard-link',
      'chmod 777 upload/abs-secret',
      'rm upload/rel-secret/../secret.txt',
    ];
    const result = await sftp(`${attempts.map((command) => `-${command}`).join('\n')}\n`);
    assert.equal(result.stdout.toString().split('\n').filter((line) => line.startsWith('sftp> ')).length, attempts.length, result.stderr);
    assert.deepEqual(readdirSync(join(base, 'open')), []);
    assert.deepEqual(readdirSync(base).sort(), ['open', 'secret.txt', TEST_USER].sort());
    assert.equal(readFileSync(join(base, 'secret.txt'), 'utf8'), SECRET);
    // The new link is stored as written, but resolves inside the root.
    const followed = await sftp('get upload/new-link stolen.txt\nget upload/hard-link stolen.txt\n');
    assert.notEqual(followed.status, 0);
    assert.ok(!existsSync(join(server.dir, 'local', 'stolen.txt')));
    const mode = spawnSync('stat', ['-c', '%a', join(base, 'secret.txt')], { encoding: 'utf8' }).stdout.trim();
    assert.equal(mode, '644');
  });

  it('gets no shell or command: the session is refused with a log line', async () => {
    const from = server.log().length;
    const result = await run('ssh', [...server.sshArgs(), `${TEST_USER}@127.0.0.1`, 'cat /etc/passwd'], { timeoutMs: 30_000 });
    assert.notEqual(result.status, 0);
    assert.doesNotMatch(result.stdout.toString(), /root:/);
    await server.waitForLog(/refusing a session that is not internal-sftp/, 10_000, from);
  });

  it('refuses a root that fails sshd\'s ownership checks', async () => {
    chmodSync(root, 0o775);
    try {
      const from = server.log().length;
      const result = await sftp('pwd\n');
      assert.notEqual(result.status, 0);
      await server.waitForLog(new RegExp(`bad ownership or modes for chroot directory "${root}"`), 10_000, from);
    } finally {
      chmodSync(root, 0o755);
    }
  });
});
