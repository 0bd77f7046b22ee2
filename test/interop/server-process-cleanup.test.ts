/**
 * What a dead client leaves behind on `tether server`: nothing. A stock `ssh` is SIGKILLed while its session
 * runs a pipeline (with and without a terminal); within a second no process of the session's process group
 * may be left, and the server must not go on reading output nobody will receive. And when the server is out
 * of descriptors, a session request fails cleanly and the server keeps serving once they come back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateHostKeyFile, keyAuth, startTestServer, tetherMainModule, TEST_USER, type TestServer } from './server-harness.ts';
import { freePort, makeKey, publicKeyLine, tempDir } from '../helpers/openssh.ts';
import { stopProcess } from '../helpers/processes.ts';
import { connect } from '../../src/client/client.ts';
import { identityFileKeys } from '../../src/client/identities.ts';
import type { Session } from '../../src/client/session.ts';

let test: TestServer;

before(async () => {
  test = await startTestServer();
});
after(async () => {
  await test?.stop();
});

/** Live (non-zombie) processes whose process group is `pgid`, from /proc/PID/stat. */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp …": comm may contain spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && Number(fields[2]) === pgid) members.push(Number(entry));
  }
  return members;
}

/**
 * Starts `ssh [-tt] host 'echo PGID=$$; <pipeline>'`, waits for the PGID line (the login shell leads the
 * session's group), checks the group is running, SIGKILLs ssh and returns how long the group took to vanish.
 */
async function killClientDuring(pipeline: string, terminal: boolean): Promise<{ pgid: number; goneAfterMs: number; cpuMs: number }> {
  const args = [...keyAuth(test), ...(terminal ? ['-tt'] : ['-T']), `${TEST_USER}@127.0.0.1`, `echo PGID=$$ >&2; ${pipeline}`];
  const child = spawn('/usr/bin/ssh', args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HOME: join(test.dir, 'home') } });
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    const pgid = await new Promise<number>((resolve, reject) => {
      let seen = '';
      const look = (chunk: Buffer) => {
        // On a terminal stderr is the terminal, so the line arrives on stdout; keep only a little of it.
        // Look before trimming: `yes` may follow the line with far more than the kept tail in one chunk.
        const text = seen + chunk.toString('latin1');
        const match = /PGID=(\d+)\r?\n/.exec(text);
        if (match) resolve(Number(match[1]));
        seen = text.slice(-4096);
      };
      child.stdout.on('data', look);
      child.stderr.on('data', look);
      child.once('exit', () => reject(new Error(`ssh exited before the session started: ${seen}`)));
    });
    // Let the pipeline get going and the output back up.
    await sleep(300);
    assert.ok(groupMembers(pgid).length >= 2, `the pipeline should be running in group ${pgid}`);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid!, 'SIGKILL');
    await exited;
    const killedAt = performance.now();
    const cpuBefore = process.cpuUsage();
    while (groupMembers(pgid).length > 0 && performance.now() - killedAt < 3000) await sleep(25);
    const goneAfterMs = performance.now() - killedAt;
    assert.deepEqual(groupMembers(pgid), [], `group ${pgid} is still there ${Math.round(goneAfterMs)} ms after the client died`);
    // The server (this process) must be idle now: not reading and discarding a pipeline's output.
    await sleep(500);
    const cpu = process.cpuUsage(cpuBefore);
    return { pgid, goneAfterMs, cpuMs: (cpu.user + cpu.system) / 1000 };
  } finally {
    clearTimeout(killer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

describe('a killed client leaves no processes behind', () => {
  for (const terminal of [false, true]) {
    const how = terminal ? 'on a terminal' : 'on pipes';
    it(`yes | cat ${how}: the whole group is gone within a second, the server idle`, async () => {
      const { goneAfterMs, cpuMs } = await killClientDuring('yes | cat', terminal);
      assert.ok(goneAfterMs < 1000, `took ${Math.round(goneAfterMs)} ms`);
      assert.ok(cpuMs < 400, `the server used ${Math.round(cpuMs)} ms of CPU in the ${Math.round(goneAfterMs) + 500} ms after`);
    });

    it(`sleep 1000 & wait ${how}: the background job goes too`, async () => {
      const { goneAfterMs } = await killClientDuring('sleep 1000 & sleep 1000 & wait', terminal);
      assert.ok(goneAfterMs < 1000, `took ${Math.round(goneAfterMs)} ms`);
    });
  }
});

describe('out of file descriptors', () => {
  let dir: string;
  let server: ChildProcess | undefined;
  let serverLog = '';
  after(async () => {
    if (server) await stopProcess(server);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a session that cannot be spawned fails its request, logged; the server serves again once descriptors are back', async () => {
    dir = tempDir('tether-emfile-');
    chmodSync(dir, 0o755);
    const port = await freePort();
    const clientKey = makeKey(dir, 'id_ed25519', 'ed25519');
    writeFileSync(join(dir, 'authorized_keys'), `${publicKeyLine(clientKey)}\n`, { mode: 0o644 });
    generateHostKeyFile(join(dir, 'ssh_host_ed25519_key'), 'ed25519');
    const config = join(dir, 'sshd_config');
    writeFileSync(config, [`Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'ssh_host_ed25519_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'StrictModes no', 'MaxSessions 200', 'LogLevel VERBOSE', ''].join('\n'));
    // `tether server -D -e` with a small descriptor table: each session on pipes takes three more.
    const program = `import(${JSON.stringify(tetherMainModule())}).then((m) => m.runAsProgram(["server", "-D", "-e", "-f", ${JSON.stringify(config)}]))`;
    server = spawn('/usr/bin/prlimit', [`--nofile=${DESCRIPTOR_LIMIT}`, '--', process.execPath, '--input-type=module', '-e', program], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    server.stderr!.on('data', (chunk: Buffer) => (serverLog = (serverLog + chunk.toString()).slice(-65536)));
    for (const deadline = Date.now() + 15_000; !/Server listening/.test(serverLog); await sleep(50)) {
      assert.ok(Date.now() < deadline && server.exitCode === null, `the server did not start: ${serverLog}`);
    }
    const client = await connect({
      host: '127.0.0.1',
      port,
      username: TEST_USER,
      verifyHostKey: () => {},
      auth: { methods: ['publickey'], keys: () => identityFileKeys([clientKey], {}) },
    });
    const sessions: Session[] = [];
    let refused = 0;
    try {
      // Sessions that hold their pipes open, until the table is full and spawning fails.
      for (let i = 0; i < DESCRIPTOR_LIMIT && refused === 0; i++) {
        const session = await client.session();
        try {
          await session.exec('sleep 30');
          sessions.push(session);
        } catch {
          refused++;
          session.channel.close();
        }
      }
      assert.equal(refused, 1, 'a session request must fail once descriptors run out');
      assert.ok(sessions.length > 0);
      for (const deadline = Date.now() + 5000; !/fork or pipe failed/.test(serverLog); await sleep(50)) {
        assert.ok(Date.now() < deadline, `no log line for the failed spawn: ${serverLog}`);
      }
      assert.equal(server.exitCode, null, 'the server is still running');
      // Give the descriptors back: closing the channels hangs the programs up and closes their pipes.
      for (const session of sessions) session.channel.close();
      await sleep(500);
      const again = await client.exec('echo served');
      const output: Buffer[] = [];
      // Read to the end of the output: the reply, the output and the close can come in one read, and then
      // `exit` settles before a reader that starts only now has had the output.
      await new Promise<void>((resolve) => {
        again.stdout.on('data', (chunk: Buffer) => output.push(chunk));
        again.stdout.once('end', resolve);
      });
      const status = await again.exit;
      assert.equal(status.code, 0);
      assert.equal(Buffer.concat(output).toString(), 'served\n');
    } finally {
      client.end();
    }
    assert.doesNotMatch(serverLog, /^\s+at /m, 'no stack trace in the log');
    assert.equal(server.exitCode, null);
  });
});

const DESCRIPTOR_LIMIT = 64;
