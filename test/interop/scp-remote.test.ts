/**
 * `tether scp -t` and `tether scp -f`, the remote end of the legacy scp protocol, driven by stock OpenSSH
 * `scp -O` as it drives OpenSSH's own scp on a server: the server's sessions find `scp` first in a
 * directory holding a wrapper that runs `tether scp` and records how it was called (sshd's SetEnv PATH),
 * so a host with only Tether installed serves `scp -O` both ways. Files byte-exact, trees with -r, modes
 * and times with -p, and the errors OpenSSH's client prints for a missing file and a target that is not a
 * directory.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/openssh.ts';
import { startServerProcess, TEST_USER, type ServerProcess } from '../helpers/server-process.ts';
import { TETHER_BIN } from '../helpers/tether.ts';
import { run, type RunResult } from './server-harness.ts';
import { MiB, sha256File, writeBigFile } from './big-files.ts';

let server: ServerProcess;
let programs: string;
let remote: string;
let local: string;

const at = (path: string) => `${TEST_USER}@127.0.0.1:${path}`;

function scp(args: string[]): Promise<RunResult> {
  const ssh = server.sshArgs().map((arg) => (arg === '-p' ? '-P' : arg));
  return run('scp', ['-O', '-q', ...ssh, ...args], { timeoutMs: 60_000 });
}

/** How the wrapper was called, one line per run: proof that tether's scp, not OpenSSH's, served. */
function calls(): string[] {
  return readFileSync(join(programs, 'calls.log'), 'utf8').trim().split('\n');
}

function tree(root: string): void {
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(root, 'top.txt'), 'at the top\n');
  writeFileSync(join(root, 'sub', 'script.sh'), '#!/bin/sh\necho hi\n');
  writeFileSync(join(root, 'sub', 'deeper', 'empty'), '');
  chmodSync(join(root, 'sub', 'script.sh'), 0o751);
  chmodSync(join(root, 'top.txt'), 0o640);
  chmodSync(join(root, 'sub'), 0o750);
  utimesSync(join(root, 'top.txt'), 1_000_000_000, 1_100_000_000);
  utimesSync(join(root, 'sub', 'script.sh'), 1_000_000_000, 1_200_000_000);
}

function assertSameTree(from: string, to: string): void {
  for (const path of ['top.txt', 'sub/script.sh', 'sub/deeper/empty']) {
    assert.equal(readFileSync(join(to, path), 'utf8'), readFileSync(join(from, path), 'utf8'), path);
  }
  for (const path of ['top.txt', 'sub/script.sh', 'sub']) {
    assert.equal((statSync(join(to, path)).mode & 0o777).toString(8), (statSync(join(from, path)).mode & 0o777).toString(8), `mode of ${path}`);
  }
  for (const path of ['top.txt', 'sub/script.sh']) {
    assert.equal(Math.floor(statSync(join(to, path)).mtimeMs / 1000), Math.floor(statSync(join(from, path)).mtimeMs / 1000), `mtime of ${path}`);
  }
}

before(async () => {
  programs = tempDir('tether-scp-programs-');
  chmodSync(programs, 0o777);
  writeFileSync(join(programs, 'calls.log'), '');
  chmodSync(join(programs, 'calls.log'), 0o666);
  // The same Node and the same build as this test; from the sources when the test runs from them.
  const source = process.env.TETHER_SOURCE ? 'TETHER_SOURCE=1 ' : '';
  writeFileSync(join(programs, 'scp'), `#!/bin/sh\necho "$*" >> ${programs}/calls.log\n${source}exec ${process.execPath} ${TETHER_BIN} scp "$@"\n`);
  chmodSync(join(programs, 'scp'), 0o755);
  server = await startServerProcess({ config: [`SetEnv PATH=${programs}:/usr/bin:/bin`] });
  const id = (flag: string) => Number(spawnSync('id', [flag, TEST_USER], { encoding: 'utf8' }).stdout.trim());
  remote = join(server.dir, 'remote');
  local = join(server.dir, 'local');
  mkdirSync(remote);
  mkdirSync(local);
  chownSync(remote, id('-u'), id('-g'));
});
after(async () => {
  await server?.stop();
  rmSync(programs, { recursive: true, force: true });
});

describe('tether scp as the remote end of scp -O', () => {
  it('receives (scp -t) and sends (scp -f) a 16 MiB file byte-exact', async () => {
    const digest = await writeBigFile(join(local, 'big.bin'), 16 * MiB);
    const up = await scp([join(local, 'big.bin'), at(`${remote}/big.bin`)]);
    assert.equal(up.status, 0, up.stderr);
    assert.equal(await sha256File(join(remote, 'big.bin')), digest);
    const down = await scp([at(`${remote}/big.bin`), join(local, 'back.bin')]);
    assert.equal(down.status, 0, down.stderr);
    assert.equal(await sha256File(join(local, 'back.bin')), digest);
    assert.match(calls().at(-2)!, /^-t /);
    assert.match(calls().at(-1)!, /^-f /);
  });

  it('copies a tree with -r, keeping modes and times with -p, both ways', async () => {
    tree(join(local, 'tree'));
    const up = await scp(['-r', '-p', join(local, 'tree'), at(remote)]);
    assert.equal(up.status, 0, up.stderr);
    assertSameTree(join(local, 'tree'), join(remote, 'tree'));
    mkdirSync(join(local, 'again'));
    const down = await scp(['-r', '-p', at(`${remote}/tree`), join(local, 'again')]);
    assert.equal(down.status, 0, down.stderr);
    assertSameTree(join(local, 'tree'), join(local, 'again', 'tree'));
    assert.match(calls().at(-2)!, /-r -p -t/);
    assert.match(calls().at(-1)!, /-r -p -f/);
  });

  it('reports a missing source and a target that is not a directory as OpenSSH scp does', async () => {
    const missing = await scp([at(`${remote}/no-such-file`), join(local, 'nothing')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, new RegExp(`scp: ${remote}/no-such-file: No such file or directory`));
    writeFileSync(join(local, 'one'), '1');
    writeFileSync(join(local, 'two'), '2');
    writeFileSync(join(remote, 'plain'), '');
    const notDirectory = await scp([join(local, 'one'), join(local, 'two'), at(`${remote}/plain`)]);
    assert.equal(notDirectory.status, 1);
    assert.match(notDirectory.stderr, new RegExp(`scp: ${remote}/plain: Not a directory`));
    assert.match(calls().at(-1)!, /-d -t/);
  });
});
