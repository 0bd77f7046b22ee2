/**
 * The server side of resuming (docs/PROTOCOL.sessions §3, §4, §6, §7) driven by the library's own client at
 * the channel-request level, against `tether server` as a process: a held session's output missed while the
 * TCP connection was down arrives exactly once after resume@ with the client's counts; the resume credential
 * logs in once and is refused (and logged) when spent, for another session or for another user; a second
 * attachment by name displaces the first with detached@ and closes its channel.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, rmSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect, type SshClient } from '../../src/client/client.ts';
import { identityFileKeys } from '../../src/client/identities.ts';
import type { Channel, ChannelRequest } from '../../src/connection/channel.ts';
import {
  decodeDetached, decodeInputAck, decodeSessionInfo, DETACHED_REQUEST, encodeHold, encodeResume, HOLD_REQUEST, RESUME_REQUEST,
  SESSION_INFO_REQUEST, ACK_REQUEST, type SessionInfo,
} from '../../src/connection/persistent-session-requests.ts';
import { encodeString } from '../../src/connection/session-requests.ts';
import type { ResumeAuth } from '../../src/auth/client-auth.ts';
import { startServerProcess, TEST_USER, type ServerProcess } from '../helpers/server-process.ts';
import { tempDir } from '../helpers/openssh.ts';
import { stopHolders } from '../helpers/session-holders.ts';
import { waitFor } from '../helpers/services.ts';

/** The login was refused, and USERAUTH_FAILURE never named the method (§6). */
const refusedUnlisted = (error: Error): boolean => /^Permission denied \(publickey/.test(error.message) && !error.message.includes('resume');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Link {
  client: SshClient;
  socket: Socket;
}

/** Logs in over a TCP socket of our own (so the test can cut it), with the key or a resume credential only. */
async function login(server: ServerProcess, options: { key?: boolean; resume?: ResumeAuth; user?: string } = { key: true }): Promise<Link> {
  const socket = tcpConnect(server.port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  try {
    const client = await connect({
      host: '127.0.0.1',
      username: options.user ?? TEST_USER,
      stream: socket,
      verifyHostKey: () => {},
      auth: { keys: () => (options.key ? identityFileKeys([server.clientKey], {}) : []), resume: options.resume },
    });
    return { client, socket };
  } catch (error) {
    socket.destroy();
    throw error;
  }
}

/** One session channel with everything it received recorded. */
interface Recorded {
  channel: Channel;
  stdout: () => string;
  infos: SessionInfo[];
  inputAcks: number[];
  detached: string[];
  closed: Promise<void>;
}

async function record(client: SshClient): Promise<Recorded> {
  const channel = await client.connection.openChannel('session');
  let stdout = '';
  const recorded: Recorded = {
    channel,
    stdout: () => stdout,
    infos: [],
    inputAcks: [],
    detached: [],
    closed: new Promise((resolve) => channel.once('channel-closed', () => resolve())),
  };
  channel.on('data', (chunk: Buffer) => (stdout += chunk.toString('latin1')));
  channel.stderr.on('data', () => {});
  channel.on('error', () => {});
  channel.on('request', (request: ChannelRequest, reply: (ok: boolean) => void) => {
    if (request.type === SESSION_INFO_REQUEST) recorded.infos.push(decodeSessionInfo(request.data));
    else if (request.type === ACK_REQUEST) recorded.inputAcks.push(decodeInputAck(request.data));
    else if (request.type === DETACHED_REQUEST) recorded.detached.push(decodeDetached(request.data));
    reply(false);
  });
  return recorded;
}

/** `line N` for N in 1..count, one every 10 ms, then END. */
const PRINTER = (count: number) => `i=1; while [ $i -le ${count} ]; do echo line $i; i=$((i+1)); sleep 0.01; done; echo END`;

describe('resuming a held session on tether server', { timeout: 120_000 }, () => {
  let server: ServerProcess;
  let sessions: string;
  const links: Link[] = [];

  before(async () => {
    sessions = tempDir('tether-held-');
    chmodSync(sessions, 0o755);
    server = await startServerProcess({ config: [`PersistentSessionDirectory ${sessions}`] });
  });

  after(async () => {
    for (const link of links) link.socket.destroy();
    await server?.stop();
    if (sessions) {
      await stopHolders(sessions);
      rmSync(sessions, { recursive: true, force: true });
    }
  });

  let id = '';
  let token: Buffer = Buffer.alloc(0);

  it('the output missed while the connection was down arrives exactly once after resume@', async () => {
    const first = await login(server);
    links.push(first);
    const held = await record(first.client);
    assert.equal(await held.channel.request(HOLD_REQUEST, encodeHold('')), true);
    assert.equal(await held.channel.request('exec', encodeString(`read greeting; echo "got $greeting"; ${PRINTER(300)}`)), true);
    // session@ came before the exec reply (§3), with offsets of a new session.
    assert.equal(held.infos.length, 1);
    const info = held.infos[0]!;
    assert.deepEqual([info.reattached, info.inputOffset, info.outputOffset, info.errorOffset, info.token.length], [false, 0, 0, 0, 32]);
    held.channel.write('hello\n');
    await waitFor('input acknowledged', () => held.inputAcks.includes(6));
    await waitFor('some lines', () => /line 40\n/.test(held.stdout()));
    first.socket.destroy(); // the connection drops: no CLOSE, so the session stays held (§8)
    const before = held.stdout();
    await sleep(500);

    const second = await login(server, { resume: { sessionId: info.id, token: info.token } });
    links.push(second);
    await server.waitForLog(/Accepted resume@tether-ssh\.org for tethertest from 127\.0\.0\.1 port \d+ ssh2/);
    const resumed = await record(second.client);
    const ok = await resumed.channel.request(RESUME_REQUEST, encodeResume({ id: info.id, outputReceived: Buffer.byteLength(before, 'latin1'), errorReceived: 0 }));
    assert.equal(ok, true);
    const again = resumed.infos[0]!;
    assert.equal(again.id, info.id);
    assert.equal(again.reattached, true);
    assert.equal(again.outputOffset, Buffer.byteLength(before, 'latin1'));
    assert.equal(again.inputOffset, 6);
    assert.notDeepEqual(again.token, info.token, 'a fresh token on every resume');
    await waitFor('END', () => resumed.stdout().includes('END\n'));
    const status = await new Promise((resolve) => (resumed.channel.exitStatus ? resolve(resumed.channel.exitStatus) : resumed.channel.once('exit', resolve)));
    assert.deepEqual(status, { code: 0 });
    const lines = (before + resumed.stdout()).split('\n');
    assert.deepEqual(lines, ['got hello', ...Array.from({ length: 300 }, (_, i) => `line ${i + 1}`), 'END', '']);
    id = info.id;
    token = again.token;
    // A second, live session to hold the current token (the first one has ended).
    const live = await record(second.client);
    assert.equal(await live.channel.request(HOLD_REQUEST, encodeHold('keeper')), true);
    assert.equal(await live.channel.request('exec', encodeString('cat')), true);
    id = live.infos[0]!.id;
    token = live.infos[0]!.token;
    second.socket.destroy();
  });

  it('the resume credential is refused, and logged, when spent, for another session, or for another user', async () => {
    const spentProof = { sessionId: id, token };
    const third = await login(server, { resume: spentProof });
    links.push(third);
    const refresh = await record(third.client);
    assert.equal(await refresh.channel.request(RESUME_REQUEST, encodeResume({ id, outputReceived: 0, errorReceived: 0 })), true);
    const current = refresh.infos[0]!.token;
    // The drop did not close the program's stdin (§8): cat still echoes.
    assert.equal(refresh.infos[0]!.inputClosed, false);
    refresh.channel.write('ping\n');
    await waitFor('cat echoing after a resume', () => refresh.stdout().includes('ping\n'));
    third.socket.destroy();

    const from = server.log().length;
    await assert.rejects(login(server, { key: false, resume: spentProof }), refusedUnlisted);
    await server.waitForLog(/^Failed resume@tether-ssh\.org for tethertest from 127\.0\.0\.1 port \d+ ssh2/, 10_000, from);
    await assert.rejects(login(server, { key: false, resume: { sessionId: 'not-a-session', token: current } }), refusedUnlisted);
    await assert.rejects(login(server, { key: false, user: 'root', resume: { sessionId: id, token: current } }), refusedUnlisted);
    await server.waitForLog(/^Failed resume@tether-ssh\.org for root from 127\.0\.0\.1 port \d+ ssh2/, 10_000, from);
    const failures = server.log().slice(from).split('\n').filter((line) => line.startsWith('Failed resume@tether-ssh.org'));
    assert.equal(failures.length, 3, failures.join('\n'));
    // The current token still works, once.
    const fourth = await login(server, { key: false, resume: { sessionId: id, token: current } });
    links.push(fourth);
    fourth.socket.destroy();
  });

  it('a second attachment by name displaces the first with detached@, then CLOSE', async () => {
    const a = await login(server);
    links.push(a);
    const older = await record(a.client);
    assert.equal(await older.channel.request(HOLD_REQUEST, encodeHold('shared')), true);
    assert.equal(await older.channel.request('exec', encodeString('echo ready; cat')), true);
    await waitFor('ready', () => older.stdout().includes('ready\n'));

    const b = await login(server);
    links.push(b);
    const newer = await record(b.client);
    assert.equal(await newer.channel.request(HOLD_REQUEST, encodeHold('shared')), true);
    assert.equal(await newer.channel.request('exec', encodeString('ignored: the session exists')), true);
    assert.equal(newer.infos[0]?.reattached, true);
    await older.closed;
    assert.equal(older.detached.length, 1);
    assert.match(older.detached[0]!, /from 127\.0\.0\.1 port \d+/);
    assert.equal(older.channel.exitStatus, undefined, 'no exit status: the program still runs');
    newer.channel.write('still here\n');
    await waitFor('echo from cat', () => newer.stdout().includes('still here\n'));
    newer.channel.close(); // the client's CLOSE ends the session (§8)
    await newer.closed;
    for (const deadline = Date.now() + 10_000; ; await sleep(100)) {
      const list = await record(b.client);
      await list.channel.request('exec', encodeString('sessions'));
      await list.closed;
      if (!/^shared /m.test(list.stdout())) break;
      assert.ok(Date.now() < deadline, `the closed session is still listed:\n${list.stdout()}`);
    }
    a.socket.destroy();
    b.socket.destroy();
  });
});
