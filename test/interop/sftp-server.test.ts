/**
 * Tether's built-in SFTP server (`Subsystem sftp internal-sftp`) driven by stock OpenSSH `sftp` against
 * `tether server` run as a process: a batch file with every interactive command and its effects on the
 * files, resume with reget / reput of copies cut short, the file operation log at -l INFO (in the server's log), read-only mode
 * and the -P / -p request lists (further subsystems on the same server, chosen with `sftp -s`). The 256 MiB
 * transfers, trees, scp in both protocols and resume after a cut link are in sftp-server-transfers.test.ts;
 * the batch compared line for line with OpenSSH's sftp-server is in sftp-server-batch.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServerProcess, TEST_USER, type ServerProcess } from '../helpers/server-process.ts';
import { run } from './server-harness.ts';

const SAMPLE = 4 * 1024 * 1024;
const READ_ONLY = 'sftp-ro';
const DENY = 'sftp-deny';
const ALLOW = 'sftp-allow';
let server: ServerProcess;
let remote: string;
let local: string;
let uid: number;
let gid: number;

/** ssh's arguments for sftp, which spells the port -P. */
function clientArgs(): string[] {
  return server.sshArgs().map((arg) => (arg === '-p' ? '-P' : arg));
}

function sftp(batch: string, options: { subsystem?: string; timeoutMs?: number; cwd?: string } = {}) {
  const args = [...clientArgs(), ...(options.subsystem ? ['-s', options.subsystem] : []), '-b', '-', `${TEST_USER}@127.0.0.1`];
  return run('/bin/sh', ['-c', `cd "$0" && exec sftp "$@"`, options.cwd ?? local, ...args], { input: batch, timeoutMs: options.timeoutMs ?? 60_000 });
}

before(async () => {
  server = await startServerProcess({
    config: [
      'Subsystem sftp internal-sftp -l INFO',
      `Subsystem ${READ_ONLY} internal-sftp -R`,
      `Subsystem ${DENY} internal-sftp -P remove,mkdir,posix-rename,rename`,
      `Subsystem ${ALLOW} internal-sftp -p open,close,read,lstat,fstat,stat,opendir,readdir,realpath,limits,expand-path`,
    ],
  });
  uid = Number(spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).stdout.trim());
  gid = Number(spawnSync('id', ['-g', TEST_USER], { encoding: 'utf8' }).stdout.trim());
  remote = join(server.dir, 'remote');
  local = join(server.dir, 'local');
  mkdirSync(remote);
  mkdirSync(local);
  chownSync(remote, uid, gid);
  writeFileSync(join(local, 'note.txt'), 'a note\n');
  writeFileSync(join(local, 'sample.bin'), randomBytes(SAMPLE));
});
after(async () => {
  await server?.stop();
});

describe('resume with OpenSSH sftp', () => {
  it('resumes an interrupted upload with reput and download with reget', async () => {
    const whole = readFileSync(join(local, 'sample.bin')).subarray(0, 3_000_000);
    writeFileSync(join(local, 'resume.bin'), whole);
    writeFileSync(join(remote, 'resume.bin'), whole.subarray(0, 1_234_567));
    chownSync(join(remote, 'resume.bin'), uid, gid);
    writeFileSync(join(local, 'partial.bin'), whole.subarray(0, 777_777));
    const result = await sftp(`reput resume.bin ${remote}/resume.bin\nreget ${remote}/resume.bin partial.bin\n`);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(readFileSync(join(remote, 'resume.bin')), whole);
    assert.deepEqual(readFileSync(join(local, 'partial.bin')), whole);
  });
});

describe('every interactive command in a batch file', () => {
  it('ls, cd, lcd, get, put, reget, reput, mkdir, rmdir, rm, rename, ln, ln -s, symlink, chmod, chown, df, pwd, lpwd, version', async () => {
    const work = join(remote, 'batch');
    mkdirSync(work);
    chownSync(work, uid, gid);
    writeFileSync(join(local, 'note.txt'), 'a note\n');
    // reput and reget continue files cut short: the whole versions are in full/, halves beside the batch.
    mkdirSync(join(local, 'full'), { recursive: true });
    writeFileSync(join(local, 'full', 'grow.txt'), 'the whole line\n');
    writeFileSync(join(local, 'grow.txt'), 'the who');
    writeFileSync(join(local, 'full', 'short.txt'), 'all of it\n');
    writeFileSync(join(local, 'short.txt'), 'all');
    const batch = [
      `cd ${work}`,
      'pwd',
      'lcd .',
      'lpwd',
      'put note.txt',
      'mkdir made',
      'ls',
      'ls -l',
      'rename note.txt made/renamed.txt',
      'ln made/renamed.txt hard.txt',
      'ln -s made/renamed.txt soft.txt',
      'symlink made/renamed.txt soft2.txt',
      'chmod 600 hard.txt',
      `chown ${uid} hard.txt`,
      'get soft.txt fetched.txt',
      'put grow.txt',
      'lcd full',
      'reput grow.txt',
      'put short.txt',
      'lcd ..',
      'reget short.txt',
      'df',
      'version',
      'rm soft2.txt',
      'mkdir gone',
      'rmdir gone',
      'ls -la',
    ].join('\n');
    const result = await sftp(`${batch}\n`);
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    const out = result.stdout.toString();
    assert.match(out, new RegExp(`Remote working directory: ${work}`));
    assert.match(out, new RegExp(`Local working directory: ${local}`));
    assert.match(out, /SFTP protocol version 3/);
    assert.match(out, /Size\s+Used\s+Avail\s+\(root\)\s+%Capacity/);
    // ls -l shows the server's long names: mode, owner and group by name, size.
    assert.match(out, new RegExp(`-rw-r--r--\\s+\\? ${TEST_USER}\\s+\\S+\\s+7 \\w{3} [ \\d]\\d [\\d:]+ note.txt`));
    assert.equal(readFileSync(join(work, 'made', 'renamed.txt'), 'utf8'), 'a note\n');
    assert.equal(lstatSync(join(work, 'hard.txt')).ino, lstatSync(join(work, 'made', 'renamed.txt')).ino);
    assert.equal(statSync(join(work, 'hard.txt')).mode & 0o777, 0o600);
    assert.equal(readlinkSync(join(work, 'soft.txt')), 'made/renamed.txt');
    assert.ok(!existsSync(join(work, 'soft2.txt')));
    assert.ok(!existsSync(join(work, 'gone')));
    assert.equal(readFileSync(join(local, 'fetched.txt'), 'utf8'), 'a note\n');
    assert.equal(readFileSync(join(work, 'grow.txt'), 'utf8'), 'the whole line\n');
    assert.equal(readFileSync(join(local, 'short.txt'), 'utf8'), 'all of it\n');
  });

  it('logs file operations at -l INFO as sftp-server words them, in the server\'s log and not to the client', async () => {
    writeFileSync(join(remote, 'logged.txt'), 'x');
    const logged = server.log().length;
    const result = await sftp(`get ${remote}/logged.txt\nrm ${remote}/no-such-file\n`);
    assert.notEqual(result.status, 0);
    // The session's lines reach the log as the sftp-server process writes them, before the channel closes.
    const log = server.log().slice(logged);
    assert.match(log, /session opened for local user tethertest from \[127\.0\.0\.1\]/);
    assert.match(log, new RegExp(`open "${remote}/logged.txt" flags READ mode 0666`));
    assert.match(log, new RegExp(`close "${remote}/logged.txt" bytes read 1 written 0`));
    assert.match(log, new RegExp(`remove name "${remote}/no-such-file"`));
    assert.match(log, /sent status No such file/);
    // sshd's internal-sftp logs through sshd: nothing of it reaches the client.
    assert.doesNotMatch(result.stderr, /session opened|flags READ/);
  });
});

describe('sftp-server -R, -P and -p', () => {
  it('read-only mode reads and refuses every write', async () => {
    writeFileSync(join(remote, 'ro.txt'), 'readable\n');
    const writes = [`put note.txt ${remote}/ro-new.txt`, `mkdir ${remote}/ro-dir`, `rm ${remote}/ro.txt`, `chmod 600 ${remote}/ro.txt`, `rename ${remote}/ro.txt ${remote}/ro2.txt`];
    // "-" lets the batch go on after a failed command.
    const result = await sftp(`get ${remote}/ro.txt ro-back.txt\n${writes.map((command) => `-${command}`).join('\n')}\n`, { subsystem: READ_ONLY });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(readFileSync(join(local, 'ro-back.txt'), 'utf8'), 'readable\n');
    assert.equal(result.stderr.match(/Permission denied/g)?.length, writes.length, result.stderr);
    assert.ok(!existsSync(join(remote, 'ro-new.txt')) && !existsSync(join(remote, 'ro-dir')) && existsSync(join(remote, 'ro.txt')));
    assert.equal(statSync(join(remote, 'ro.txt')).mode & 0o777, 0o644);
  });

  it('-P refuses the listed requests and -p allows only the listed ones', async () => {
    writeFileSync(join(remote, 'listed.txt'), 'listed\n');
    chownSync(join(remote, 'listed.txt'), uid, gid);
    const denied = await sftp(`-rm ${remote}/listed.txt\nput note.txt ${remote}/deny-put.txt\n`, { subsystem: DENY });
    assert.equal(denied.status, 0, denied.stderr);
    assert.match(denied.stderr, /Permission denied/);
    assert.ok(existsSync(join(remote, 'listed.txt')));
    assert.equal(readFileSync(join(remote, 'deny-put.txt'), 'utf8'), 'a note\n');

    const allowed = await sftp(`get ${remote}/listed.txt allow-back.txt\nls ${remote}\n-put note.txt ${remote}/allow-put.txt\n`, { subsystem: ALLOW });
    assert.equal(allowed.status, 0, allowed.stderr);
    assert.equal(readFileSync(join(local, 'allow-back.txt'), 'utf8'), 'listed\n');
    assert.match(allowed.stdout.toString(), /listed\.txt/);
    assert.match(allowed.stderr, /Permission denied/);
    // "open" is allowed, as in sftp-server, so the file may be created; nothing is written to it.
    assert.ok(!existsSync(join(remote, 'allow-put.txt')) || statSync(join(remote, 'allow-put.txt')).size === 0);
  });
});

describe('resume after a truncated file', () => {
  it('reget continues a download whose local copy was cut short', async () => {
    const data = readFileSync(join(local, 'sample.bin')).subarray(0, 2_000_000);
    writeFileSync(join(remote, 'cut.bin'), data);
    writeFileSync(join(local, 'cut.bin'), data);
    truncateSync(join(local, 'cut.bin'), 65_536);
    const result = await sftp(`reget ${remote}/cut.bin cut.bin\n`);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(readFileSync(join(local, 'cut.bin')), data);
  });
});
