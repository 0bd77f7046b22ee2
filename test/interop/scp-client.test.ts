/**
 * `tether scp` against OpenSSH's sshd, over SFTP (the default) and the legacy protocol (-O, which runs the
 * remote's own /usr/bin/scp): a 256 MiB file each way byte-exact, a tree with -r keeping modes and times
 * with -p, remote-to-remote through this host (-3, the default) in both protocols, the same file and tree
 * checks through a jump host (-J), and OpenSSH's
 * messages and exit statuses for missing files, compared with stock scp's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningSshd } from '../helpers/openssh.ts';
import { startSftpPeers, type SftpPeers } from './sftp-client-harness.ts';
import { MiB, sha256File, writeBigFile } from './big-files.ts';
import { runProgram, runTether } from '../helpers/tether.ts';

describe('tether scp against OpenSSH', () => {
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

  const scp = (args: string[], timeoutMs = 90_000) => runTether(['scp', '-F', config, ...args], { timeoutMs });

  function fresh(name: string): string {
    const path = join(dir, name);
    rmSync(path, { recursive: true, force: true });
    mkdirSync(path, { recursive: true });
    return path;
  }

  /** A small tree with distinctive modes and old times. */
  function makeTree(root: string): void {
    mkdirSync(join(root, 'tree', 'sub'), { recursive: true });
    writeFileSync(join(root, 'tree', 'a'), 'a\n');
    writeFileSync(join(root, 'tree', 'sub', 'b'), randomBytes(100_000));
    chmodSync(join(root, 'tree', 'a'), 0o640);
    chmodSync(join(root, 'tree', 'sub'), 0o750);
    const old = new Date('2020-01-02T03:04:05Z');
    for (const path of ['tree/a', 'tree/sub/b', 'tree/sub', 'tree']) utimesSync(join(root, path), old, old);
  }

  function assertSameTree(from: string, to: string, preserved: boolean): void {
    for (const path of ['', 'a', 'sub', 'sub/b']) {
      const a = statSync(join(from, path));
      const b = statSync(join(to, path));
      assert.equal(b.isDirectory(), a.isDirectory(), path);
      if (a.isFile()) assert.ok(readFileSync(join(from, path)).equals(readFileSync(join(to, path))), `${path} content`);
      if (preserved) {
        assert.equal(b.mode & 0o777, a.mode & 0o777, `${path} mode`);
        assert.equal(Math.floor(b.mtimeMs / 1000), Math.floor(a.mtimeMs / 1000), `${path} mtime`);
      }
    }
  }

  for (const [label, flags] of [['SFTP', []], ['legacy scp (-O)', ['-O']]] as const) {
    test(`${label}: 256 MiB each way byte-exact, a tree with -rp`, { timeout: 180_000 }, async () => {
      const local = fresh(`local-${flags.length}`);
      const remote = fresh(`remote-${flags.length}`);
      const digest = await writeBigFile(join(local, 'file'), 256 * MiB, label);
      let result = await scp([...flags, join(local, 'file'), `target:${remote}/`], 150_000);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(await sha256File(join(remote, 'file')), digest, 'uploaded copy');
      result = await scp([...flags, `target:${remote}/file`, join(local, 'back')], 150_000);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(await sha256File(join(local, 'back')), digest, 'downloaded copy');
      for (const path of [join(local, 'file'), join(local, 'back'), join(remote, 'file')]) rmSync(path, { force: true });
      makeTree(local);
      result = await scp([...flags, '-rp', join(local, 'tree'), `target:${remote}`]);
      assert.equal(result.status, 0, result.stderr);
      assertSameTree(join(local, 'tree'), join(remote, 'tree'), true);
      result = await scp([...flags, '-rp', `target:${remote}/tree`, join(local, 'tree-back')]);
      assert.equal(result.status, 0, result.stderr);
      assertSameTree(join(local, 'tree'), join(local, 'tree-back'), true);
      assert.equal(result.stdout.length, 0, 'no progress meter when stdout is not a terminal');
    });

    test(`${label}: remote to remote through this host (-3)`, { timeout: 120_000 }, async () => {
      const source = fresh(`r2r-source-${flags.length}`);
      const destination = fresh(`r2r-destination-${flags.length}`);
      makeTree(source);
      const result = await scp([...flags, '-3', '-r', '-p', `target:${source}/tree`, `jump:${destination}/`]);
      assert.equal(result.status, 0, result.stderr);
      assertSameTree(join(source, 'tree'), join(destination, 'tree'), true);
    });

    test(`${label}: through a jump host (-J): a file each way byte-exact, a tree with -rp each way`, { timeout: 120_000 }, async () => {
      const local = fresh(`jump-local-${flags.length}`);
      const remote = fresh(`jump-remote-${flags.length}`);
      const via = ['-J', 'jump'];
      const data = randomBytes(5 * 1024 * 1024 + 11);
      writeFileSync(join(local, 'file'), data);
      let result = await scp([...flags, ...via, join(local, 'file'), `target:${remote}/`]);
      assert.equal(result.status, 0, result.stderr);
      assert.ok(readFileSync(join(remote, 'file')).equals(data), 'uploaded copy');
      result = await scp([...flags, ...via, `target:${remote}/file`, join(local, 'back')]);
      assert.equal(result.status, 0, result.stderr);
      assert.ok(readFileSync(join(local, 'back')).equals(data), 'downloaded copy');
      makeTree(local);
      result = await scp([...flags, ...via, '-rp', join(local, 'tree'), `target:${remote}`]);
      assert.equal(result.status, 0, result.stderr);
      assertSameTree(join(local, 'tree'), join(remote, 'tree'), true);
      result = await scp([...flags, ...via, '-rp', `target:${remote}/tree`, join(local, 'tree-back')]);
      assert.equal(result.status, 0, result.stderr);
      assertSameTree(join(local, 'tree'), join(local, 'tree-back'), true);
    });

    test(`${label}: a missing file, a directory without -r: stock scp's messages and statuses`, async () => {
      const local = fresh(`missing-${flags.length}`);
      writeFileSync(join(local, 'present'), 'here\n');
      const cases = [
        [`target:${local}/no-such`, local],
        [join(local, 'no-such'), `target:${local}/`],
        ['-3', `target:${local}/no-such`, `jump:${local}/`],
        ['-3', `target:${local}/present`, `jump:${local}/no-such-directory/`],
        // A directory without -r, each way.
        [`target:${local}`, join(local, 'copy')],
        [local, `target:${local}/copy`],
      ];
      for (const args of cases) {
        const ours = await scp([...flags, ...args]);
        const theirs = await runProgram('scp', ['-F', config, ...flags, ...args], { timeoutMs: 30_000 });
        assert.equal(ours.status, theirs.status, `${args.join(' ')}: ${ours.stderr}`);
        assert.equal(ours.stderr, theirs.stderr);
      }
    });
  }

  test('-P picks the port; -l limits the rate (Kbit/s)', { timeout: 60_000 }, async () => {
    const local = fresh('port');
    writeFileSync(join(local, 'f'), randomBytes(64 * 1024));
    const started = performance.now();
    const result = await runTether(['scp', '-F', config, '-P', String(target.port), '-l', '256', join(local, 'f'), `target:${local}/copy`], { timeoutMs: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.ok(readFileSync(join(local, 'copy')).equals(readFileSync(join(local, 'f'))));
    // 64 KiB at 256 Kbit/s takes two seconds; allow for slack, but not for no limit at all.
    assert.ok(performance.now() - started > 1500, 'the rate limit did not hold the transfer back');
  });
});
