/**
 * `tether sftp` against OpenSSH's sshd and its own /usr/lib/openssh/sftp-server: a batch file using every
 * interactive command gives exactly what stock sftp gives on the same files (stdout and stderr), batch
 * mode stops at the first error unless the line began with `-`, a 64 MiB file moves byte-exact both ways,
 * reget and reput complete truncated copies, and it all works through a jump host (-J).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, truncateSync, utimesSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningSshd } from '../helpers/openssh.ts';
import { startSftpPeers, type SftpPeers } from './sftp-client-harness.ts';
import { runProgram, runTether, type RunResult } from '../helpers/tether.ts';

describe('tether sftp against OpenSSH', () => {
  let peers: SftpPeers;
  let target: RunningSshd;
  let dir: string;
  let config: string;

  before(async () => {
    peers = await startSftpPeers(['target', 'jump']);
    ({ dir, config } = peers);
    target = peers.servers.target!;
  });
  after(() => peers?.stop());

  const tether = (args: string[], input?: string) => runTether(['sftp', '-F', config, ...args], { input, timeoutMs: 60_000 });
  const stock = (args: string[], input?: string) => runProgram('/usr/bin/sftp', ['-F', config, ...args], { input, timeoutMs: 60_000 });

  /** Remote and local directories laid out the same way before each run. */
  function layout(): { remote: string; local: string } {
    const remote = join(dir, 'remote');
    const local = join(dir, 'local');
    rmSync(remote, { recursive: true, force: true });
    rmSync(local, { recursive: true, force: true });
    mkdirSync(join(remote, 'fixed'), { recursive: true });
    mkdirSync(join(local, 'ltreesrc', 'deeper'), { recursive: true });
    const fixedTime = new Date('2021-03-04T05:06:07Z');
    for (const [name, text, mode] of [['one.txt', 'one\n', 0o644], ['two.txt', 'second file\n', 0o600], ['.hidden', 'h\n', 0o644]] as const) {
      writeFileSync(join(remote, 'fixed', name), text);
      chmodSync(join(remote, 'fixed', name), mode);
      utimesSync(join(remote, 'fixed', name), fixedTime, fixedTime);
    }
    writeFileSync(join(remote, 'fixed', 'partial.bin'), Buffer.alloc(50_000, 7));
    for (const path of [join(remote, 'fixed', 'partial.bin'), join(remote, 'fixed'), remote]) utimesSync(path, fixedTime, fixedTime);
    writeFileSync(join(local, 'local.txt'), 'local content\n');
    writeFileSync(join(local, 'part.bin'), Buffer.alloc(20_000, 7));
    writeFileSync(join(local, 'ltreesrc', 'a'), 'a\n');
    writeFileSync(join(local, 'ltreesrc', 'deeper', 'b'), 'b\n');
    return { remote, local };
  }

  function batch(remote: string, local: string): string {
    return [
      `cd ${remote}`, 'pwd', `lcd ${local}`, 'lpwd', 'ls', 'ls -1', 'ls -la fixed', 'ls -l fixed/*.txt', 'ls -1 fixed/*', 'ls -1S fixed', 'ls -1r fixed',
      'mkdir newdir', 'put local.txt newdir/up.txt', 'put -p local.txt newdir/up-p.txt', 'ls -1 newdir',
      'get newdir/up.txt down.txt', 'get -p fixed/one.txt one-p.txt', '!cmp local.txt down.txt && echo same',
      'rename newdir/up.txt newdir/renamed.txt', 'ln -s renamed.txt newdir/sym', 'symlink renamed.txt newdir/sym2', 'ln newdir/renamed.txt newdir/hard', 'cp fixed/two.txt newdir/copied.txt', '-cp fixed newdir/dir-copy',
      'chmod 600 newdir/renamed.txt', 'chown 0 newdir/renamed.txt', 'chgrp 0 newdir/renamed.txt', 'ls -1 newdir',
      'lmkdir ltree', 'put -R ltreesrc newdir/tree', 'get -R newdir/tree ltree/got', '!find ltree | sort', 'lls ltree/got',
      'get -a fixed/partial.bin part.bin', 'reget fixed/partial.bin part.bin', '!cmp part.bin fixed-copy.bin 2>/dev/null; wc -c < part.bin',
      'put -f local.txt newdir/synced.txt', '-reput local.txt newdir/synced.txt',
      'version', 'progress', 'progress', 'help', '-rm newdir/no-such-file', '@pwd', '-cd /no/such/dir', '-ls /no/such/dir', '-get fixed/nothing*',
      'rm newdir/tree/deeper/*', 'rmdir newdir/tree/deeper', 'rm newdir/tree/*', 'rmdir newdir/tree', 'rm newdir/*', 'rmdir newdir', 'ls -1a fixed', 'quit', '',
    ].join('\n');
  }

  test('a batch of every command prints what stock sftp prints', { timeout: 120_000 }, async () => {
    const results: RunResult[] = [];
    for (const run of [stock, tether]) {
      const { remote, local } = layout();
      const file = join(dir, 'batch');
      writeFileSync(file, batch(remote, local));
      results.push(await run(['-b', file, 'target']));
    }
    const [expected, actual] = results as [RunResult, RunResult];
    assert.equal(expected.status, 0, expected.stderr);
    assert.equal(actual.stderr, expected.stderr);
    assert.equal(actual.stdout.toString(), expected.stdout.toString());
    assert.equal(actual.status, expected.status);
    // Sanity: the comparison covered real output.
    assert.match(actual.stdout.toString(), /^same$/m);
    assert.match(actual.stdout.toString(), /Available commands:/);
  });

  test('batch mode stops at the first error, with status 1', async () => {
    const { remote } = layout();
    const results: RunResult[] = [];
    for (const run of [stock, tether]) results.push(await run(['-b', '-', 'target'], `cd ${remote}\nls -1 fixed/one.txt\nrm no-such\npwd\n`));
    const [expected, actual] = results as [RunResult, RunResult];
    assert.equal(expected.status, 1);
    assert.equal(actual.status, 1);
    assert.equal(actual.stdout.toString(), expected.stdout.toString());
    assert.equal(actual.stderr, expected.stderr);
    assert.doesNotMatch(actual.stdout.toString(), /Remote working directory/);
  });

  test('df in its three layouts', async () => {
    const result = await tether(['-b', '-', 'target'], 'df\ndf -h\ndf -i\n');
    assert.equal(result.status, 0, result.stderr);
    const text = result.stdout.toString();
    assert.match(text, /^ {8}Size {9}Used {8}Avail {7}\(root\) {4}%Capacity\n {0,11}\d+ +\d+ +\d+ +\d+ +\d+%$/m);
    assert.match(text, /^ {4}Size {5}Used {4}Avail {3}\(root\) {4}%Capacity\n.*B +.*B +.*B +.*B +\d+%$/m);
    assert.match(text, /^ {5}Inodes {8}Used {7}Avail {6}\(root\) {4}%Capacity$/m);
  });

  test('64 MiB byte-exact both ways; reget and reput complete truncated copies', { timeout: 180_000 }, async () => {
    const { remote, local } = layout();
    const data = randomBytes(64 * 1024 * 1024);
    writeFileSync(join(local, 'big'), data);
    let result = await tether(['-b', '-', 'target'], `lcd ${local}\nput big ${remote}/big\nget ${remote}/big big.back\n`);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(readFileSync(join(remote, 'big')).equals(data), 'uploaded copy differs');
    assert.ok(readFileSync(join(local, 'big.back')).equals(data), 'downloaded copy differs');
    // Cut both copies, as a dropped connection would leave them, and resume.
    truncateSync(join(local, 'big.back'), 10_000_000);
    result = await tether(['-b', '-', 'target'], `lcd ${local}\nreget ${remote}/big big.back\n`);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(readFileSync(join(local, 'big.back')).equals(data), 'reget copy differs');
    truncateSync(join(remote, 'big'), 33_333_333);
    result = await tether(['-b', '-', 'target'], `lcd ${local}\nreput big ${remote}/big\n`);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(readFileSync(join(remote, 'big')).equals(data), 'reput copy differs');
    // -a on the command line resumes the destination's initial get too.
    truncateSync(join(local, 'big.back'), 60 * 1024 * 1024);
    result = await runTether(['sftp', '-F', config, '-a', `target:${remote}/big`, join(local, 'big.back')], { timeoutMs: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout.toString(), /^Resuming .*\/big to .*big\.back$/m);
    assert.ok(readFileSync(join(local, 'big.back')).equals(data), '-a copy differs');
  });

  test('through a jump host (-J), with -P, -R and -B', { timeout: 60_000 }, async () => {
    const { remote, local } = layout();
    const data = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(join(remote, 'via-jump'), data);
    const result = await runTether(['sftp', '-F', config, '-J', 'jump', '-R', '8', '-B', '16384', '-b', '-', 'target'], { input: `get ${remote}/via-jump ${local}/via-jump\n`, timeoutMs: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.ok(readFileSync(join(local, 'via-jump')).equals(data));
    const direct = await runTether(['sftp', '-F', config, '-P', String(target.port), '-b', '-', 'target'], { input: 'pwd\n', timeoutMs: 30_000 });
    assert.equal(direct.status, 0, direct.stderr);
    assert.match(direct.stdout.toString(), /Remote working directory: \//);
  });

  test('a connection that cannot be made: ssh\'s message, then "Connection closed", status 255', async () => {
    const result = await runTether(['sftp', '-F', config, '-o', 'Port=1', '-b', '-', 'target'], { input: '', timeoutMs: 30_000 });
    assert.equal(result.status, 255);
    assert.match(result.stderr, /connect to host 127\.0\.0\.1 port 1: Connection refused/);
    assert.match(result.stderr, /Connection closed/);
  });
});
