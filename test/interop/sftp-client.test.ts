/**
 * `tether sftp` against OpenSSH's sshd and its own /usr/lib/openssh/sftp-server: a batch file using every
 * interactive command gives exactly what stock sftp gives on the same files (stdout and stderr), directly
 * and through a jump host (-J); so do the command-line forms (host:file, -r host:dir, host:dir); batch mode
 * stops at the first error unless the line began with `-`; a 256 MiB file moves byte-exact both ways;
 * reget, reput and -a complete truncated copies, and copies whose connection was cut mid-file by a link
 * proxy (to the target, and to the jump host).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, truncateSync, utimesSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { RunningSshd } from '../helpers/openssh.ts';
import { startSftpPeers, type SftpPeers } from './sftp-client-harness.ts';
import { cutMidFile, MiB, sha256File, writeBigFile } from './big-files.ts';
import { startLinkProxy, type LinkProxy } from '../helpers/link-proxy.ts';
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

  const tether = (args: string[], input?: string, timeoutMs = 60_000) => runTether(['sftp', '-F', config, ...args], { input, timeoutMs });
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
    chmodSync(join(local, 'ltreesrc', 'a'), 0o640);
    for (const path of ['ltreesrc/a', 'ltreesrc/deeper/b', 'ltreesrc/deeper', 'ltreesrc', 'local.txt']) utimesSync(join(local, path), fixedTime, fixedTime);
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
      'put -Rp ltreesrc newdir/tree-p', 'ls -l newdir/tree-p', 'get -Rp newdir/tree-p ltree/got-p', 'lls -l ltree/got-p', 'lls -l ltree/got-p/deeper',
      'ls -ln fixed', 'ls -lh fixed', 'ls -1t fixed', 'ls -l newdir/up-p.txt', 'lls -l one-p.txt', 'lumask 022', 'chmod -h 640 newdir/copied.txt', 'copy fixed/one.txt newdir/copy2.txt', '?',
      'lmkdir globbed', 'get fixed/*.txt globbed', 'lls globbed', 'mkdir newdir/many', 'put globbed/*.txt newdir/many', 'chmod 640 newdir/many/*', 'ls -l newdir/many', 'ls -l newdir/sym',
      'ln -s ../fixed newdir/dirlink', 'ln -s no-such newdir/dangling', 'ls -l newdir/dirlink', 'ls -1 newdir/dirlink/', 'ls -l newdir/dangling', 'ls -l newdir/d*', '-get newdir/dangling', 'rm newdir/dirlink', 'rm newdir/dangling',
      'rm newdir/many/*', 'rmdir newdir/many',
      'get -a fixed/partial.bin part.bin', 'reget fixed/partial.bin part.bin', '!cmp part.bin fixed-copy.bin 2>/dev/null; wc -c < part.bin',
      'put -f local.txt newdir/synced.txt', '-reput local.txt newdir/synced.txt',
      'version', 'progress', 'progress', 'help', '-rm newdir/no-such-file', '@pwd', '-cd /no/such/dir', '-ls /no/such/dir', '-get fixed/nothing*',
      '-mkdir newdir', '-rename newdir/no-such newdir/other', '-ln -s renamed.txt newdir/sym', '-ln newdir/no-such newdir/hard2', '-rmdir newdir', '-rmdir /no/such',
      '-get /no/such/file', '-put no-such-local', '-chmod 600 newdir/no-such', '-lmkdir ltree', '-cd fixed/one.txt', '-df /no/such', '-put -a local.txt newdir/synced.txt',
      'rm newdir/tree/deeper/*', 'rmdir newdir/tree/deeper', 'rm newdir/tree/*', 'rmdir newdir/tree',
      'rm newdir/tree-p/deeper/b', 'rmdir newdir/tree-p/deeper', 'rm newdir/tree-p/a', 'rmdir newdir/tree-p', 'rm newdir/*', 'rmdir newdir', 'ls -1a fixed', 'quit', '',
    ].join('\n');
  }

  for (const [label, via] of [['', []], [' through a jump host (-J)', ['-J', 'jump']]] as const) {
    test(`a batch of every command prints what stock sftp prints${label}`, { timeout: 120_000 }, async () => {
      const results: RunResult[] = [];
      for (const run of [stock, tether]) {
        const { remote, local } = layout();
        const file = join(dir, 'batch');
        writeFileSync(file, batch(remote, local));
        results.push(await run([...via, '-b', file, 'target']));
      }
      const [expected, actual] = results as [RunResult, RunResult];
      assert.equal(expected.status, 0, expected.stderr);
      assert.equal(actual.stderr, expected.stderr);
      // Files the batch makes carry the minute they were made in, and the two runs can straddle a minute.
      const madeAt = /\b[A-Z][a-z]{2} [ \d]\d \d\d:\d\d\b/g;
      assert.match(actual.stdout.toString(), madeAt);
      assert.equal(actual.stdout.toString().replace(madeAt, 'Mmm dd HH:MM'), expected.stdout.toString().replace(madeAt, 'Mmm dd HH:MM'));
      assert.equal(actual.status, expected.status);
      // Sanity: the comparison covered real output.
      assert.match(actual.stdout.toString(), /^same$/m);
      assert.match(actual.stdout.toString(), /Available commands:/);
    });
  }

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

  test('the command-line forms host:file, -r host:dir and host:dir print and fetch what stock sftp does', { timeout: 60_000 }, async () => {
    const outcomes: string[][] = [];
    for (const run of [stock, tether]) {
      const { remote, local } = layout();
      const results = [
        await run([`target:${remote}/fixed/one.txt`, join(local, 'one')]),
        await run(['-r', `target:${remote}/fixed`, join(local, 'fetched')]),
        await run(['-b', '-', `target:${remote}/fixed`], 'pwd\nls -1\n'),
        await run([`target:${remote}/fixed/no-such`, join(local, 'none')]),
      ];
      const files = spawnSync('sh', ['-c', 'find . -type f | sort | xargs sha256sum'], { cwd: local, encoding: 'utf8' }).stdout;
      // Stock sftp sometimes notices its ssh exiting before it exits itself after a host:file fetch and then
      // adds "Connection closed." (a race on a loaded machine); that line alone is not held against tether.
      const stderrOf = (text: string) => (run === stock ? text.replace(/\rConnection closed\. {2}\n$/, '') : text);
      outcomes.push([...results.map((result) => `${result.status}\n${result.stdout.toString()}\n${stderrOf(result.stderr)}`), files]);
    }
    assert.deepEqual(outcomes[1], outcomes[0]);
    assert.match(outcomes[1]![4]!, /fetched\/partial\.bin/);
  });

  test('df in its three layouts', async () => {
    const result = await tether(['-b', '-', 'target'], 'df\ndf -h\ndf -i\n');
    assert.equal(result.status, 0, result.stderr);
    const text = result.stdout.toString();
    assert.match(text, /^ {8}Size {9}Used {8}Avail {7}\(root\) {4}%Capacity\n {0,11}\d+ +\d+ +\d+ +\d+ +\d+%$/m);
    assert.match(text, /^ {4}Size {5}Used {4}Avail {3}\(root\) {4}%Capacity\n.*B +.*B +.*B +.*B +\d+%$/m);
    assert.match(text, /^ {5}Inodes {8}Used {7}Avail {6}\(root\) {4}%Capacity$/m);
  });

  test('256 MiB byte-exact both ways', { timeout: 180_000 }, async () => {
    const { remote, local } = layout();
    const digest = await writeBigFile(join(local, 'big'), 256 * MiB);
    try {
      const result = await tether(['-b', '-', 'target'], `lcd ${local}\nput big ${remote}/big\nget ${remote}/big big.back\n`, 150_000);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(await sha256File(join(remote, 'big')), digest, 'uploaded copy');
      assert.equal(await sha256File(join(local, 'big.back')), digest, 'downloaded copy');
    } finally {
      for (const path of [join(local, 'big'), join(local, 'big.back'), join(remote, 'big')]) rmSync(path, { force: true });
    }
  });

  test('reget, reput and -a complete truncated copies', { timeout: 60_000 }, async () => {
    const { remote, local } = layout();
    const data = randomBytes(8 * MiB + 5);
    writeFileSync(join(local, 'big'), data);
    writeFileSync(join(remote, 'big'), data);
    writeFileSync(join(local, 'big.back'), data.subarray(0, 1_000_000));
    let result = await tether(['-b', '-', 'target'], `lcd ${local}\nreget ${remote}/big big.back\n`);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(readFileSync(join(local, 'big.back')).equals(data), 'reget copy differs');
    truncateSync(join(remote, 'big'), 3_333_333);
    result = await tether(['-b', '-', 'target'], `lcd ${local}\nreput big ${remote}/big\n`);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(readFileSync(join(remote, 'big')).equals(data), 'reput copy differs');
    // -a on the command line resumes the destination's initial get too.
    truncateSync(join(local, 'big.back'), 6 * MiB);
    result = await runTether(['sftp', '-F', config, '-a', `target:${remote}/big`, join(local, 'big.back')], { timeoutMs: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout.toString(), /^Resuming .*\/big to .*big\.back$/m);
    assert.ok(readFileSync(join(local, 'big.back')).equals(data), '-a copy differs');
  });

  describe('resume after the connection is cut mid-file', () => {
    /** tether sftp -l is in Kbit/s, as stock sftp's: 100,000 is 12.5 MB/s, about 2.7 s for 32 MiB. */
    const SLOW = ['-l', '100000'];
    const SIZE = 32 * MiB;
    const CUT_AFTER = 4 * MiB;
    let toTarget: LinkProxy;
    let toJump: LinkProxy;
    let source: string;
    let digest: string;

    before(async () => {
      toTarget = await startLinkProxy('127.0.0.1', target.port);
      toJump = await startLinkProxy('127.0.0.1', peers.servers.jump!.port);
      peers.addHost('target-link', toTarget.port);
      peers.addHost('jump-link', toJump.port);
      source = join(dir, 'resume-source');
      digest = await writeBigFile(source, SIZE, 'resume');
    });
    after(async () => {
      await toTarget?.close();
      await toJump?.close();
    });

    test('a get cut mid-file, completed by reget in a new tether sftp', { timeout: 90_000 }, async () => {
      const { remote, local } = layout();
      copyFileSync(source, join(remote, 'down'));
      await cutMidFile(() => tether([...SLOW, '-b', '-', 'target-link'], `get ${remote}/down ${local}/down\n`), join(local, 'down'), toTarget, CUT_AFTER, SIZE);
      const result = await tether(['-b', '-', 'target'], `reget ${remote}/down ${local}/down\n`);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(await sha256File(join(local, 'down')), digest);
    });

    test('a put cut mid-file, completed by reput in a new tether sftp', { timeout: 90_000 }, async () => {
      const { remote } = layout();
      await cutMidFile(() => tether([...SLOW, '-b', '-', 'target-link'], `put ${source} ${remote}/up\n`), join(remote, 'up'), toTarget, CUT_AFTER, SIZE);
      const result = await tether(['-b', '-', 'target'], `reput ${source} ${remote}/up\n`);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(await sha256File(join(remote, 'up')), digest);
    });

    test('through a jump host: the link to the jump host cut during a get and a put, reget and reput -J', { timeout: 120_000 }, async () => {
      const { remote, local } = layout();
      copyFileSync(source, join(remote, 'down'));
      const via = ['-J', 'jump-link'];
      await cutMidFile(() => tether([...via, ...SLOW, '-b', '-', 'target'], `get ${remote}/down ${local}/down\n`), join(local, 'down'), toJump, CUT_AFTER, SIZE);
      await cutMidFile(() => tether([...via, ...SLOW, '-b', '-', 'target'], `put ${source} ${remote}/up\n`), join(remote, 'up'), toJump, CUT_AFTER, SIZE);
      const result = await tether([...via, '-b', '-', 'target'], `reget ${remote}/down ${local}/down\nreput ${source} ${remote}/up\n`);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(await sha256File(join(local, 'down')), digest, 'reget copy');
      assert.equal(await sha256File(join(remote, 'up')), digest, 'reput copy');
    });
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
