/**
 * Every interactive command of stock OpenSSH sftp in a batch file (-b), run against Tether's built-in SFTP
 * server (`tether server` as a process) and against OpenSSH's own sshd and sftp-server, as the same
 * unprivileged user on the same layout: what sftp prints — stdout and stderr, listings, long names,
 * statuses of the commands that fail and their messages — must be the same, and the files must end up the
 * same. Only df's figures (the disk is shared with other tests) and the times of files made during the runs are masked.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServerProcess, TEST_USER, type ServerProcess } from '../helpers/server-process.ts';
import { publicKeyLine, startSshd, type RunningSshd } from '../helpers/openssh.ts';
import { run, type RunResult } from './server-harness.ts';

let server: ServerProcess;
let sshd: RunningSshd;
let uid: number;
let gid: number;
let remote: string;
let local: string;
const fixedTime = new Date('2021-03-04T05:06:07Z');

/** stock sftp as TEST_USER to `port`, batch on stdin, from the local directory. */
function sftp(port: number, batch: string): Promise<RunResult> {
  const args = server.sshArgs().map((arg) => (arg === '-p' ? '-P' : arg));
  args[args.indexOf('-P') + 1] = String(port);
  return run('/bin/sh', ['-c', 'cd "$0" && exec sftp "$@"', local, ...args, '-b', '-', `${TEST_USER}@127.0.0.1`], { input: batch, timeoutMs: 60_000 });
}

/** The same remote and local layout before each run; the remote side belongs to the user. */
function layout(): void {
  for (const path of [remote, local]) rmSync(path, { recursive: true, force: true });
  mkdirSync(join(remote, 'fixed'), { recursive: true });
  for (const [name, text, mode] of [['one.txt', 'one\n', 0o644], ['two.txt', 'second file\n', 0o600], ['.hidden', 'h\n', 0o644], ['run.sh', '#!/bin/sh\n', 0o755]] as const) {
    writeFileSync(join(remote, 'fixed', name), text);
    chmodSync(join(remote, 'fixed', name), mode);
  }
  writeFileSync(join(remote, 'fixed', 'partial.bin'), Buffer.alloc(50_000, 7));
  writeFileSync(join(remote, 'half.bin'), Buffer.alloc(10_000, 9));
  for (const path of ['fixed/one.txt', 'fixed/two.txt', 'fixed/.hidden', 'fixed/run.sh', 'fixed/partial.bin', 'half.bin', 'fixed', '.']) {
    chownSync(join(remote, path), uid, gid);
    utimesSync(join(remote, path), fixedTime, fixedTime);
  }
  mkdirSync(join(local, 'ltreesrc', 'deeper'), { recursive: true });
  writeFileSync(join(local, 'local.txt'), 'local content\n');
  writeFileSync(join(local, 'part.bin'), Buffer.alloc(20_000, 7));
  writeFileSync(join(local, 'whole.bin'), Buffer.alloc(30_000, 9));
  writeFileSync(join(local, 'ltreesrc', 'a'), 'a\n');
  writeFileSync(join(local, 'ltreesrc', 'deeper', 'b'), 'b\n');
  chmodSync(join(local, 'ltreesrc', 'a'), 0o640);
  for (const path of ['ltreesrc/a', 'ltreesrc/deeper/b', 'ltreesrc/deeper', 'ltreesrc']) utimesSync(join(local, path), fixedTime, fixedTime);
  utimesSync(join(local, 'local.txt'), fixedTime, fixedTime);
}

function batch(): string {
  return [
    'pwd', `cd ${remote}`, 'pwd', `lcd ${local}`, 'lpwd',
    // Listings, before anything changes the times shown.
    'ls', 'ls -1', 'ls -la fixed', 'ls -l fixed/*.txt', 'ls -ln fixed', 'ls -lh fixed', 'ls -1 fixed/*', 'ls -1S fixed', 'ls -1t fixed', 'ls -1r fixed', 'ls -1a fixed', 'ls fixed/one.txt',
    'lls', 'lls -l local.txt', 'lumask 022',
    'mkdir newdir', '-mkdir newdir', 'put local.txt newdir/up.txt', 'put -p local.txt newdir/up-p.txt', 'ls -l newdir/up-p.txt', 'ls -1 newdir',
    'get newdir/up.txt down.txt', 'get -p fixed/one.txt one-p.txt', 'lls -l one-p.txt', '!cmp local.txt down.txt && echo same',
    'rename newdir/up.txt newdir/renamed.txt', '-rename newdir/no-such newdir/other',
    'ln -s renamed.txt newdir/sym', '-ln -s renamed.txt newdir/sym', 'symlink renamed.txt newdir/sym2', 'ln newdir/renamed.txt newdir/hard', '-ln newdir/no-such newdir/hard2',
    'ls -l newdir/sym', 'cp fixed/two.txt newdir/copied.txt', 'copy fixed/run.sh newdir/copied.sh', '-cp fixed newdir/dir-copy',
    'chmod 600 newdir/renamed.txt', '-chmod 600 newdir/no-such', `chown ${uid} newdir/renamed.txt`, `chgrp ${gid} newdir/renamed.txt`, '-chown 0 newdir/renamed.txt', '-chgrp 0 newdir/renamed.txt',
    'chmod -h 640 newdir/copied.txt', 'ls -1 newdir',
    'lmkdir ltree', '-lmkdir ltree', 'put -R ltreesrc newdir/tree', 'put -Rp ltreesrc newdir/tree-p', 'ls -l newdir/tree-p', 'get -R newdir/tree ltree/got', 'get -Rp newdir/tree-p ltree/got-p', '!find ltree | sort', 'lls ltree/got', 'lls -l ltree/got-p',
    'get -a fixed/partial.bin part.bin', 'reget fixed/partial.bin part.bin', '!wc -c < part.bin',
    'reput whole.bin half.bin', '-put -a whole.bin half.bin', 'ls -l half.bin', 'put -f local.txt newdir/synced.txt', '-reput local.txt newdir/synced.txt',
    'lmkdir globbed', 'get fixed/*.txt globbed', 'lls globbed', 'mkdir newdir/many', 'put globbed/*.txt newdir/many', 'chmod 640 newdir/many/*', 'ls -1 newdir/many',
      'ln -s ../fixed newdir/dirlink', 'ln -s no-such newdir/dangling', 'ls -l newdir/dirlink', 'ls -1 newdir/dirlink/', 'ls -l newdir/dangling', 'ls -l newdir/d*', '-get newdir/dangling', 'rm newdir/dirlink', 'rm newdir/dangling',
    'rm newdir/many/*', 'rmdir newdir/many',
    'df', 'df -h', 'df -i', 'df newdir', '-df /no/such', 'version', 'progress', 'progress', 'help', '?',
    '-cd /no/such/dir', '-cd fixed/one.txt', '-ls /no/such/dir', '-get fixed/nothing*', '-get /no/such/file', '-put no-such-local',
    '-rm newdir/no-such-file', '-rm /etc/passwd', '-mkdir /etc/tether-not-allowed', '-rmdir newdir', '-rmdir /no/such', '-put local.txt /root/not-allowed', '-get /root/.bashrc',
    '@pwd', 'rm newdir/tree/deeper/*', 'rmdir newdir/tree/deeper', 'rm newdir/tree/*', 'rmdir newdir/tree', 'rm newdir/tree-p/deeper/b', 'rmdir newdir/tree-p/deeper',
    'rm newdir/tree-p/a', 'rmdir newdir/tree-p', 'rm newdir/*', 'rmdir newdir', 'ls -1a', 'bye', '',
  ].join('\n');
}

/** sftp's output with df's figures masked, and the times of files made during the run (a minute may pass between runs). */
function masked(text: string): string {
  return text.replace(/^( *\d[\d.]*[KMGTPE]?B? +){4}\d+%$/gm, '(df figures)').replace(/ [A-Z][a-z]{2} [ \d]\d \d\d:\d\d /g, ' (today) ');
}

before(async () => {
  server = await startServerProcess({ config: ['Subsystem sftp internal-sftp'] });
  sshd = await startSshd({ authorizedKeys: [publicKeyLine(server.clientKey)], hostKeyTypes: ['ed25519'], config: ['Subsystem sftp /usr/lib/openssh/sftp-server'] });
  uid = Number(spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).stdout.trim());
  gid = Number(spawnSync('id', ['-g', TEST_USER], { encoding: 'utf8' }).stdout.trim());
  remote = join(server.dir, 'remote');
  local = join(server.dir, 'local');
});
after(async () => {
  await sshd?.stop();
  await server?.stop();
});

describe('stock sftp: a batch of every command', () => {
  it('prints against tether server exactly what it prints against OpenSSH\'s sftp-server', { timeout: 120_000 }, async () => {
    layout();
    const expected = await sftp(sshd.port, batch());
    layout();
    const actual = await sftp(server.port, batch());
    assert.equal(expected.status, 0, expected.stderr);
    assert.equal(masked(actual.stderr), masked(expected.stderr));
    assert.equal(masked(actual.stdout.toString()), masked(expected.stdout.toString()));
    assert.equal(actual.status, expected.status);
    // The comparison covered real output, and the files ended up where they should.
    const out = actual.stdout.toString();
    assert.match(out, /^same$/m);
    assert.match(out, /Available commands:/);
    assert.match(out, /SFTP protocol version 3/);
    assert.match(out, /^ {4}Size {5}Used {4}Avail {3}\(root\) {4}%Capacity$/m);
    assert.match(out, new RegExp(`^-rw------- +\\? ${TEST_USER} +\\S+ +12 Mar  4  2021 fixed/two\\.txt$`, 'm'));
    assert.ok(actual.stderr.split('\n').length > 15, actual.stderr);
    assert.deepEqual(readFileSync(join(local, 'part.bin')), Buffer.alloc(50_000, 7));
    assert.deepEqual(readFileSync(join(remote, 'half.bin')), Buffer.alloc(30_000, 9));
    assert.equal(readFileSync(join(local, 'ltree', 'got-p', 'deeper', 'b'), 'utf8'), 'b\n');
    assert.equal(statSync(join(local, 'ltree', 'got-p', 'a')).mode & 0o777, 0o640);
    assert.equal(statSync(join(local, 'one-p.txt')).mtimeMs, fixedTime.getTime());
  });

  it('leaves links, copies, modes and owners as sftp-server does', { timeout: 60_000 }, async () => {
    const keep = ['mkdir made', 'put local.txt made/f', 'ln -s f made/sym', 'ln made/f made/hard', 'cp made/f made/copy', 'chmod 604 made/copy', `chgrp ${gid} made/copy`, ''].join('\n');
    const results: Array<Record<string, unknown>> = [];
    for (const port of [sshd.port, server.port]) {
      layout();
      const result = await sftp(port, `cd ${remote}\n${keep}`);
      assert.equal(result.status, 0, result.stderr);
      const made = join(remote, 'made');
      results.push({
        link: readlinkSync(join(made, 'sym')),
        hardLinked: lstatSync(join(made, 'hard')).ino === lstatSync(join(made, 'f')).ino,
        copy: readFileSync(join(made, 'copy'), 'utf8'),
        copyMode: statSync(join(made, 'copy')).mode & 0o7777,
        owners: ['f', 'copy', 'sym'].map((name) => `${lstatSync(join(made, name)).uid}:${lstatSync(join(made, name)).gid}`),
        modes: ['f', '.'].map((name) => statSync(join(made, name)).mode & 0o7777),
      });
    }
    assert.deepEqual(results[1], results[0]);
    assert.deepEqual(results[1], { link: 'f', hardLinked: true, copy: 'local content\n', copyMode: 0o604, owners: [`${uid}:${gid}`, `${uid}:${gid}`, `${uid}:${gid}`], modes: [0o644, 0o755] });
  });
});
