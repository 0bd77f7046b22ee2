/**
 * A hold the server accepted but could not honour (docs/PROTOCOL.sessions §2, §3): the user's session holder
 * answers the server's check but refuses to create the session (as a holder at its limit of sessions does), so
 * the server runs the session unheld and sends no session@tether-ssh.org. `tether ssh` (which sends hold@ and
 * exec together) then carries on as an ordinary session: output, stderr and exit status as usual, and a drop
 * ends it as an unheld session's would, without reconnecting. The library's session says `held` false.
 *
 * The holder here is a stand-in on the user's holder.sock speaking the holder protocol (holder-protocol.ts):
 * `list` answers with no sessions, `create` with the refusal a full holder gives.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect, openPersistentSession, type SshClient } from '../../src/index.ts';
import { identityFileKeys } from '../../src/client/identities.ts';
import { encodeControl, FRAME_CONTROL, readFrames } from '../../src/sessions/holder/holder-protocol.ts';
import { startServerProcess, TEST_USER, type ServerProcess } from '../helpers/server-process.ts';
import { startLinkProxy, type LinkProxy } from '../helpers/link-proxy.ts';
import { tempDir } from '../helpers/openssh.ts';
import { exitWithin, runSshClient as run, waitFor } from '../helpers/held-session-client.ts';

/** A holder that is there but takes no session: the refusal of holder-main.ts at its MAX_SESSIONS. */
function refusingHolder(path: string): Promise<{ server: Server; creates: () => number }> {
  let creates = 0;
  const server = createServer((socket: Socket) => {
    socket.on('error', () => {});
    readFrames(socket, (frame) => {
      if (frame.type !== FRAME_CONTROL) return;
      const { op, seq } = frame.message as { op: string; seq?: number };
      if (op === 'list') socket.write(encodeControl({ op: 'list', seq: seq!, sessions: [] }));
      else if (op === 'create') {
        creates += 1;
        socket.write(encodeControl({ op: 'failed', message: 'too many held sessions (at most 64)' }));
      } else socket.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve({ server, creates: () => creates }));
  });
}

describe('a hold the server accepted but could not honour', { timeout: 90_000 }, () => {
  let server: ServerProcess;
  let proxy: LinkProxy;
  let sessions: string;
  let holder: Awaited<ReturnType<typeof refusingHolder>>;
  const clients: SshClient[] = [];

  before(async () => {
    sessions = tempDir('tether-unheld-');
    chmodSync(sessions, 0o711);
    // The user's directory as the server makes it (holder-directory.ts): theirs, mode 0700.
    const uid = Number(execFileSync('id', ['-u', TEST_USER]).toString());
    const gid = Number(execFileSync('id', ['-g', TEST_USER]).toString());
    const userDirectory = join(sessions, String(uid));
    mkdirSync(userDirectory, { mode: 0o700 });
    chmodSync(userDirectory, 0o700);
    chownSync(userDirectory, uid, gid);
    holder = await refusingHolder(join(userDirectory, 'holder.sock'));
    server = await startServerProcess({ config: [`PersistentSessionDirectory ${sessions}`] });
    proxy = await startLinkProxy('127.0.0.1', server.port);
  });

  after(async () => {
    for (const client of clients) client.end();
    await proxy?.close();
    await server?.stop();
    await new Promise((resolve) => holder?.server.close(resolve));
    rmSync(sessions, { recursive: true, force: true });
  });

  const args = (...extra: string[]) => [...server.sshArgs(proxy.port), ...extra];

  for (const tty of [false, true]) {
    test(`tether ssh prints the command's output and exit status (${tty ? '-tt' : 'no PTY'})`, async () => {
      const before = holder.creates();
      const from = server.log().length;
      const running = run([...args(...(tty ? ['-tt'] : [])), `${TEST_USER}@127.0.0.1`, 'echo out-line; echo err-line >&2; exit 3']);
      const status = await exitWithin(running, 20_000);
      assert.equal(status, 3, running.stderr());
      assert.match(running.stdout(), /^out-line\r?$/m);
      // With a PTY stderr shares the terminal (stdout); without, it is the channel's extended data.
      assert.match(tty ? running.stdout() : running.stderr(), /^err-line\r?$/m);
      assert.doesNotMatch(running.stderr(), /session@tether-ssh\.org/);
      assert.ok(holder.creates() > before, 'the server asked the holder to create the session');
      assert.match(server.log().slice(from), /session not held/);
    });
  }

  test('a drop ends it as an unheld session: no reconnect', async () => {
    const accepted = proxy.accepted;
    const running = run([...args(), `${TEST_USER}@127.0.0.1`, 'echo READY; sleep 30']);
    try {
      await waitFor('the remote command', () => running.stdout().includes('READY'), 20_000, running.stderr);
      proxy.cut();
      const status = await exitWithin(running, 20_000);
      assert.equal(status, 255, running.stderr());
      assert.doesNotMatch(running.stderr(), /reconnecting|resume/i);
      assert.equal(proxy.accepted, accepted + 1, 'one connection, none after the drop');
    } finally {
      running.child.kill('SIGKILL');
      await proxy.restore();
    }
  });

  test('the library: a session that is not held, its output and status passed through', async () => {
    const held = await openPersistentSession({
      command: 'echo library-out; exit 4',
      connect: async () => {
        const client = await connect({
          host: '127.0.0.1',
          port: server.port,
          username: TEST_USER,
          verifyHostKey: () => {},
          auth: { keys: () => identityFileKeys([server.clientKey], {}) },
          connectTimeout: 10,
        });
        clients.push(client);
        return client;
      },
    });
    assert.equal(held.held, false);
    assert.equal(held.id, undefined);
    let stdout = '';
    held.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    held.stderr.resume();
    held.stdin.end();
    assert.deepEqual(await held.exit, { code: 4 });
    assert.equal(stdout, 'library-out\n');
  });
});
