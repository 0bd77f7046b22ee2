/**
 * `tether scp` against OpenSSH's sshd, over SFTP (the default) and the legacy protocol (-O, which runs the
 * remote's own /usr/bin/scp): a file each way byte-exact, a tree with -r keeping modes and times with -p,
 * remote-to-remote through this host (-3, the default) in both protocols, a jump host, and OpenSSH's
 * messages and exit statuses for missing files, compared with stock scp's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningSshd } from '../helpers/openssh.ts';
import { startSftpPeers, type SftpPeers } from './sftp-client-harness.ts';
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

  const scp = (args: string[]) => runTether(['scp', '-F', config, ...args], { timeoutMs: 90_000 });

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
    test(`${label}: a file each way byte-exact, a tree with -rp`, { timeout: 120_000 }, async () => {
      const local = fresh(`local-${flags.length}`);
      const remote = fresh(`remote-${flags.length}`);
      const data = randomBytes(2 * 1024 * 1024 + 3);
      writeFileSync(join(local, 'file'), data);
      let result = await scp([...flags, join(local, 'file'), `target:${remote}/`]);
      assert.equal(result.status, 0, result.stderr);
      assert.ok(readFileSync(join(remote, 'file')).equals(data));
      result = await scp([...flags, `target:${remote}/file`, join(local, 'back')]);
      assert.equal(result.status, 0, result.stderr);
      assert.ok(readFileSync(join(local, 'back')).equals(data));
      makeTree(local);
      result = await scp([...flags, '-rp', join(local, 'tree'), `target:${remote}`]);
      assert.equal(result.status, 0, result.stderr);
      assertSameTree(join(local, 'tree'), join(remote, 'tree'), true);
      result = await scp([...flags, '-rp', `target:${remote}/tree`, join(local, 'tree-back')]);
      assert.equal(result.status, 0, result.stderr);
      assertSameTree(join(local, 'tree'), join(local, 'tree-back'), true);
      assert.equal(result.stdout.length, 0, 'no progress meter when stdout is not a terminal');
    });

    test(`${label}: remote to remote through this host (-3), and through a jump host`, { timeout: 120_000 }, async () => {
      const source = fresh(`r2r-source-${flags.length}`);
      const destination = fresh(`r2r-destination-${flags.length}`);
      makeTree(source);
      let result = await scp([...flags, '-3', '-r', '-p', `target:${source}/tree`, `jump:${destination}/`]);
      assert.equal(result.status, 0, result.stderr);
      assertSameTree(join(source, 'tree'), join(destination, 'tree'), true);
      result = await scp([...flags, '-J', 'jump', `target:${source}/tree/a`, join(destination, 'via-jump')]);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(readFileSync(join(destination, 'via-jump'), 'utf8'), 'a\n');
    });

    test(`${label}: a missing file: stock scp's message and status`, async () => {
      const local = fresh(`missing-${flags.length}`);
      for (const args of [[`target:${local}/no-such`, local], [join(local, 'no-such'), `target:${local}/`]]) {
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
