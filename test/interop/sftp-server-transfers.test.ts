/**
 * Issue 20's "must show" transfers for Tether's built-in SFTP server (`tether server` run as a process,
 * Subsystem sftp internal-sftp) with stock OpenSSH clients: a 256 MiB file up and down byte-exact with
 * sftp, with scp over SFTP and with legacy scp (-O, which runs the server host's scp through the shell);
 * trees with -r keeping modes and times with -p in all three; and resume after the connection is cut
 * mid-file — a link proxy the test controls is cut during a get and during a put, and reget / reput
 * (and `sftp -a`) in a new sftp complete the copies byte-exact.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServerProcess, TEST_USER, type ServerProcess } from '../helpers/server-process.ts';
import { startLinkProxy, type LinkProxy } from '../helpers/link-proxy.ts';
import { run, type RunResult } from './server-harness.ts';
import { cutMidFile, MiB, sha256File, writeBigFile } from './big-files.ts';

const BIG = 256 * MiB;
/** The resume tests' file, sent at a limited rate so that the cut lands mid-file. */
const RESUMED = 32 * MiB;
const CUT_AFTER = 4 * MiB;
/** sftp -l is in Kbit/s: 100,000 is 12.5 MB/s, about 2.7 s for RESUMED. */
const SLOW = '100000';

let server: ServerProcess;
let remote: string;
let local: string;
let uid: number;
let gid: number;
let bigDigest: string;

/** ssh's arguments for sftp and scp (which spell the port -P), to `port` (the server's unless given). */
function clientArgs(port = server.port): string[] {
  const args = server.sshArgs().map((arg) => (arg === '-p' ? '-P' : arg));
  args[args.indexOf('-P') + 1] = String(port);
  return args;
}

function sftp(batch: string, options: { args?: string[]; port?: number; timeoutMs?: number } = {}): Promise<RunResult> {
  const args = [...clientArgs(options.port), ...(options.args ?? []), '-b', '-', `${TEST_USER}@127.0.0.1`];
  return run('/bin/sh', ['-c', 'cd "$0" && exec sftp "$@"', local, ...args], { input: batch, timeoutMs: options.timeoutMs ?? 60_000 });
}

function scp(args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return run('scp', ['-q', ...clientArgs(), ...args], { timeoutMs });
}

const at = (path: string) => `${TEST_USER}@127.0.0.1:${path}`;

/** A directory owned by the test user, so that the server (running as that user) can write into it. */
function userDirectory(path: string): string {
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path, { recursive: true });
  chownSync(path, uid, gid);
  return path;
}

before(async () => {
  server = await startServerProcess({ config: ['Subsystem sftp internal-sftp'] });
  uid = Number(spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).stdout.trim());
  gid = Number(spawnSync('id', ['-g', TEST_USER], { encoding: 'utf8' }).stdout.trim());
  remote = userDirectory(join(server.dir, 'remote'));
  local = join(server.dir, 'local');
  mkdirSync(local);
  bigDigest = await writeBigFile(join(local, 'big.bin'), BIG);
});
after(async () => {
  await server?.stop();
});

describe('256 MiB byte-exact with stock OpenSSH clients', () => {
  it('sftp: put and get', { timeout: 180_000 }, async () => {
    try {
      const result = await sftp(`put big.bin ${remote}/big.bin\nget ${remote}/big.bin back.bin\n`, { timeoutMs: 150_000 });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(await sha256File(join(remote, 'big.bin')), bigDigest, 'uploaded copy');
      assert.equal(statSync(join(remote, 'big.bin')).uid, uid, 'written as the user');
      assert.equal(await sha256File(join(local, 'back.bin')), bigDigest, 'downloaded copy');
    } finally {
      rmSync(join(remote, 'big.bin'), { force: true });
      rmSync(join(local, 'back.bin'), { force: true });
    }
  });

  for (const [label, flags] of [['scp over SFTP', []], ['legacy scp (-O)', ['-O']]] as const) {
    it(`${label}: up and down`, { timeout: 180_000 }, async () => {
      try {
        let result = await scp([...flags, join(local, 'big.bin'), at(`${remote}/scp.bin`)], 150_000);
        assert.equal(result.status, 0, result.stderr);
        assert.equal(await sha256File(join(remote, 'scp.bin')), bigDigest, 'uploaded copy');
        result = await scp([...flags, at(`${remote}/scp.bin`), join(local, 'scp-back.bin')], 150_000);
        assert.equal(result.status, 0, result.stderr);
        assert.equal(await sha256File(join(local, 'scp-back.bin')), bigDigest, 'downloaded copy');
      } finally {
        rmSync(join(remote, 'scp.bin'), { force: true });
        rmSync(join(local, 'scp-back.bin'), { force: true });
      }
    });
  }
});

describe('trees with -r, modes and times with -p', () => {
  const when = new Date('2021-03-04T05:06:07Z');

  function makeTree(root: string): void {
    mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
    writeFileSync(join(root, 'a.txt'), 'alpha\n');
    writeFileSync(join(root, 'sub', 'b.sh'), '#!/bin/sh\n');
    writeFileSync(join(root, 'sub', 'deeper', 'c.bin'), Buffer.alloc(300_000, 7));
    chmodSync(join(root, 'a.txt'), 0o640);
    chmodSync(join(root, 'sub', 'b.sh'), 0o751);
    chmodSync(join(root, 'sub'), 0o750);
    for (const path of ['a.txt', 'sub/b.sh', 'sub/deeper/c.bin', 'sub/deeper', 'sub', '.']) utimesSync(join(root, path), when, when);
  }

  function assertTree(root: string): void {
    assert.equal(readFileSync(join(root, 'a.txt'), 'utf8'), 'alpha\n', root);
    assert.deepEqual(readFileSync(join(root, 'sub', 'deeper', 'c.bin')), Buffer.alloc(300_000, 7), root);
    for (const [path, mode] of [['a.txt', 0o640], ['sub/b.sh', 0o751], ['sub', 0o750]] as const) {
      assert.equal(statSync(join(root, path)).mode & 0o7777, mode, `${root}/${path} mode`);
    }
    for (const path of ['a.txt', 'sub/b.sh', 'sub/deeper/c.bin', 'sub']) {
      assert.equal(statSync(join(root, path)).mtimeMs, when.getTime(), `${root}/${path} mtime`);
    }
  }

  it('sftp put -rp and get -rp', async () => {
    makeTree(join(local, 'tree'));
    const result = await sftp(`put -rp tree ${remote}/sftp-tree\nget -rp ${remote}/sftp-tree sftp-tree-back\n`);
    assert.equal(result.status, 0, result.stderr);
    assertTree(join(remote, 'sftp-tree'));
    assertTree(join(local, 'sftp-tree-back'));
  });

  for (const [label, flags, name] of [['scp over SFTP', [], 'scp-tree'], ['legacy scp (-O)', ['-O'], 'legacy-tree']] as const) {
    it(`${label} -rp both ways`, async () => {
      makeTree(join(local, 'tree'));
      let result = await scp([...flags, '-rp', join(local, 'tree'), at(`${remote}/${name}`)]);
      assert.equal(result.status, 0, result.stderr);
      assertTree(join(remote, name));
      result = await scp([...flags, '-rp', at(`${remote}/${name}`), join(local, `${name}-back`)]);
      assert.equal(result.status, 0, result.stderr);
      assertTree(join(local, `${name}-back`));
    });
  }
});

describe('resume after the connection is cut mid-file', () => {
  let proxy: LinkProxy;
  let resumedDigest: string;

  before(async () => {
    proxy = await startLinkProxy('127.0.0.1', server.port);
    resumedDigest = await writeBigFile(join(local, 'resumed.bin'), RESUMED, 'resumed');
  });
  after(() => proxy?.close());

  /** Runs `batch` through the proxy at the slow rate and cuts the link once `watched` holds CUT_AFTER bytes. */
  const cutDuring = (batch: string, watched: string) => cutMidFile(() => sftp(batch, { port: proxy.port, args: ['-l', SLOW] }), watched, proxy, CUT_AFTER, RESUMED);

  it('a get cut mid-file, completed by reget in a new sftp', { timeout: 90_000 }, async () => {
    const target = join(local, 'got.bin');
    rmSync(target, { force: true });
    writeFileSync(join(remote, 'download.bin'), readFileSync(join(local, 'resumed.bin')));
    await cutDuring(`get ${remote}/download.bin got.bin\n`, target);
    const result = await sftp(`reget ${remote}/download.bin got.bin\n`);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(await sha256File(target), resumedDigest);
  });

  it('a put cut mid-file, completed by reput in a new sftp', { timeout: 90_000 }, async () => {
    const target = join(remote, 'upload.bin');
    rmSync(target, { force: true });
    await cutDuring(`put resumed.bin ${target}\n`, target);
    const result = await sftp(`reput resumed.bin ${target}\n`);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(await sha256File(target), resumedDigest);
  });

  it('a get cut mid-file, completed by sftp -a host:path', { timeout: 90_000 }, async () => {
    const target = join(local, 'got-a.bin');
    rmSync(target, { force: true });
    writeFileSync(join(remote, 'download-a.bin'), readFileSync(join(local, 'resumed.bin')));
    await cutDuring(`get ${remote}/download-a.bin got-a.bin\n`, target);
    const result = await run('sftp', [...clientArgs(), '-a', at(`${remote}/download-a.bin`), target], { timeoutMs: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout.toString(), /^Resuming .*download-a\.bin to .*got-a\.bin$/m);
    assert.equal(await sha256File(target), resumedDigest);
  });
});
