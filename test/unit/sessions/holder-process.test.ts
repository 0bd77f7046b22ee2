/**
 * `tether session-holder` as a real process: it outlives the server that started it, only one serves a
 * directory, it replaces a stale socket, refuses a directory that is not private, ignores SIGHUP, hangs
 * its sessions up on SIGTERM, and leaves once it holds nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureUserDirectory, holderFor, holderSocketPath } from '../../../src/sessions/holder/index.ts';
import { ensureTestUserOnce, TEST_USER } from '../../helpers/openssh.ts';
import { isAlive, stopProcess } from '../../helpers/processes.ts';
import { GID, holderPids, readUntil, sessionsDirectory, shellSession, startHolderProcess, UID, USER, waitFor, within } from './holder-fixture.ts';

function exitOf(child: ReturnType<typeof spawn>): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Stops, by PID, every holder still serving `userDirectory` (the ones a test did not start itself). */
async function stopHolders(userDirectory: string): Promise<void> {
  for (const pid of holderPids(userDirectory)) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Gone already.
    }
  }
  await waitFor(() => holderPids(userDirectory).length === 0, 5_000).catch(() => {
    for (const pid of holderPids(userDirectory)) process.kill(pid, 'SIGKILL');
  });
}

test('the holder outlives the process that started it: killed server, session still there, output kept', async () => {
  const { base, directory } = sessionsDirectory();
  const userDirectory = ensureUserDirectory(directory, UID, GID);
  const index = new URL(`../../../src/sessions/holder/index${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;
  const script = `
    const { holderFor } = await import(${JSON.stringify(index)});
    const holder = await holderFor({ directory: ${JSON.stringify(directory)}, user: ${JSON.stringify(USER)}, uid: ${UID}, gid: ${GID} });
    const attachment = await holder.create({ name: 'survivor', command: 'counter', logSize: 65536, idleTimeoutSeconds: 60,
      program: { file: '/bin/sh', args: ['-c', 'i=1; while [ $i -le 30 ]; do echo $i; i=$((i+1)); sleep 0.01; done; sleep 30'], env: { PATH: '/usr/bin:/bin' }, cwd: '/' } });
    attachment.output.once('data', () => process.stdout.write('ready\\n'));
    setInterval(() => {}, 1000);`;
  const server = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await readUntil(server.stdout!, (text) => text.includes('ready'), 10_000);
    process.kill(server.pid!, 'SIGKILL');
    await exitOf(server);

    const holder = await holderFor({ directory, user: USER, uid: UID, gid: GID });
    await waitFor(async () => (await holder.list()).some((s) => s.name === 'survivor' && !s.attached));
    const sessions = await holder.list();
    assert.equal(sessions.length, 1);
    assert.equal(sessions[0]!.command, 'counter');
    const again = (await holder.attach({ name: 'survivor', replay: 'screen' }))!;
    assert.equal(again.outputOffset, 0, 'without a terminal, everything the log holds');
    const text = await readUntil(again.output, (t) => t.includes('\n30\n'));
    assert.deepEqual(text.trim().split('\n').map(Number), Array.from({ length: 30 }, (_, i) => i + 1));
    again.hangUp();
    await within(again.exit);
    holder.close();
  } finally {
    if (server.exitCode === null && server.signalCode === null) await stopProcess(server);
    await stopHolders(userDirectory);
    rmSync(base, { recursive: true, force: true });
  }
});

test('holders started together on one directory: exactly one stays; a stale socket is replaced', async () => {
  const { base, directory } = sessionsDirectory();
  const userDirectory = ensureUserDirectory(directory, UID, GID);
  writeFileSync(holderSocketPath(userDirectory), ''); // left behind by a holder that died
  const holders = [0, 1, 2].map(() => startHolderProcess(userDirectory, ['--start-grace-ms', '20000']));
  try {
    await waitFor(() => holders.filter((child) => child.exitCode === null).length === 1, 10_000);
    for (const child of holders.filter((c) => c.exitCode !== null)) assert.equal(child.exitCode, 0, 'the others leave quietly');
    const survivor = holders.find((child) => child.exitCode === null)!;
    const holder = await holderFor({ directory, user: USER, uid: UID, gid: GID });
    assert.deepEqual(await holder.list(), []);
    holder.close();
    assert.deepEqual(holderPids(userDirectory), [survivor.pid]);
    assert.equal(await stopProcess(survivor), 0);
    assert.equal(existsSync(holderSocketPath(userDirectory)), false, 'its socket is removed on the way out');
  } finally {
    for (const child of holders) await stopProcess(child);
    rmSync(base, { recursive: true, force: true });
  }
});

test('a holder leaves when it never gets a session, and when its last one is gone', async () => {
  const { base, directory } = sessionsDirectory();
  const userDirectory = ensureUserDirectory(directory, UID, GID);
  const idle = startHolderProcess(userDirectory, ['--start-grace-ms', '300']);
  try {
    assert.equal(await within(exitOf(idle), 10_000), 0);
    assert.equal(existsSync(holderSocketPath(userDirectory)), false);

    const lingering = startHolderProcess(userDirectory, ['--linger-ms', '300', '--start-grace-ms', '20000']);
    try {
      await waitFor(() => existsSync(holderSocketPath(userDirectory)));
      const holder = await holderFor({ directory, user: USER, uid: UID, gid: GID });
      const attachment = await holder.create(shellSession('echo done'));
      await within(attachment.exit);
      attachment.detach();
      assert.equal(await within(exitOf(lingering), 10_000), 0);
      holder.close();
    } finally {
      await stopProcess(lingering);
    }
  } finally {
    await stopProcess(idle);
    rmSync(base, { recursive: true, force: true });
  }
});

test('a directory that is not private is refused', async () => {
  const { base, directory } = sessionsDirectory();
  const userDirectory = ensureUserDirectory(directory, UID, GID);
  chmodSync(userDirectory, 0o755);
  const holder = startHolderProcess(userDirectory);
  try {
    let stderr = '';
    holder.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    assert.equal(await within(exitOf(holder), 10_000), 1);
    assert.match(stderr, /bad ownership or modes for directory .*\/sessions\/\d+/);
    assert.throws(() => ensureUserDirectory(directory, UID, GID), /bad ownership or modes for directory/);
    await assert.rejects(holderFor({ directory, user: USER, uid: UID, gid: GID }), /bad ownership or modes/);
  } finally {
    await stopProcess(holder);
    rmSync(base, { recursive: true, force: true });
  }
});

test('a holder ignores SIGHUP; SIGTERM hangs up its sessions and it leaves', async () => {
  const { base, directory } = sessionsDirectory();
  const userDirectory = ensureUserDirectory(directory, UID, GID);
  const child = startHolderProcess(userDirectory, ['--start-grace-ms', '20000']);
  try {
    await waitFor(() => existsSync(holderSocketPath(userDirectory)));
    const holder = await holderFor({ directory, user: USER, uid: UID, gid: GID });
    const attachment = await holder.create(shellSession('sleep 30'));
    process.kill(child.pid!, 'SIGHUP');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await holder.list()).length, 1);
    assert.ok(isAlive(attachment.pid));
    process.kill(child.pid!, 'SIGTERM');
    assert.equal(await within(exitOf(child), 10_000), 0);
    assert.equal(isAlive(attachment.pid), false, 'the session was hung up');
    // The attached server is told the program's end, as for any hangup.
    assert.deepEqual(await within(attachment.exit), { code: null, signal: 'HUP', coreDumped: false });
    holder.close();
  } finally {
    await stopProcess(child);
    rmSync(base, { recursive: true, force: true });
  }
});

test('as root, a user\'s holder runs as that user in a directory of its own; one owned by someone else is refused', async () => {
  await ensureTestUserOnce();
  const uid = Number(spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', TEST_USER], { encoding: 'utf8' }).stdout.trim());
  const { base, directory } = sessionsDirectory();
  chmodSync(base, 0o711); // the user's holder must reach its directory below this one
  const userDirectory = join(directory, String(uid));
  try {
    const holder = await holderFor({ directory, user: TEST_USER, uid, gid });
    assert.equal(statSync(directory).mode & 0o777, 0o711);
    assert.equal(statSync(directory).uid, 0);
    assert.equal(statSync(userDirectory).mode & 0o777, 0o700);
    assert.equal(statSync(userDirectory).uid, uid);
    const attachment = await holder.create(shellSession('id -u; sleep 30'));
    assert.equal((await readUntil(attachment.output, (t) => t.endsWith('\n'))).trim(), String(uid));
    const [pid] = holderPids(userDirectory);
    assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s`, 'm'));
    attachment.hangUp();
    await within(attachment.exit);
    holder.close();
    await stopHolders(userDirectory);

    chownSync(userDirectory, 0, 0);
    await assert.rejects(holderFor({ directory, user: TEST_USER, uid, gid }), /bad ownership or modes for directory/);
  } finally {
    await stopHolders(userDirectory);
    rmSync(base, { recursive: true, force: true });
  }
});
