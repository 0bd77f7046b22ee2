/**
 * Hostile clients after the key exchange and login, against a real `tether server` process (issue 21): a bad
 * MAC, data for a channel that does not exist, an unknown message, a rekey storm, and window abuse (data past
 * the advertised window, WINDOW_ADJUST past 2^32). Each attack checks the protocol answer where one is
 * defined, then the recovery check: a stock ssh logs in and moves 16 MiB intact, RSS back within 10% of the
 * baseline, descriptors at the baseline.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkRecovered, measureBaseline, startServerProcess, TEST_USER, type Baseline, type ServerProcess } from '../../helpers/server-process.ts';
import { confirmation, drivenConnection, message, recipientOf, SSH_MSG, type DrivenConnection } from '../../helpers/hostile-client.ts';
import { DisconnectError } from '../../../src/wire/errors.ts';
import { Reader } from '../../../src/wire/reader.ts';

const PROTOCOL_ERROR = 2;
const MAC_ERROR = 5;
/** Pinned so the tests do not depend on which kex the defaults put first. */
const ALGORITHMS = { kex: ['curve25519-sha256'] };

/** What ended the connection: the server's DISCONNECT reason, or null if it is still open after `ms`. */
async function endedWithin(connection: DrivenConnection, ms: number): Promise<{ reason: number | undefined; message: string } | null> {
  const result = await Promise.race([connection.closed.then((error) => ({ error })), new Promise<null>((resolve) => setTimeout(() => resolve(null), ms))]);
  if (result === null) return null;
  const error = result.error;
  return { reason: error instanceof DisconnectError && error.byPeer ? error.reason : undefined, message: error?.message ?? 'closed' };
}

describe('hostile clients after login', () => {
  let server: ServerProcess;
  let baseline: Baseline;
  before(async () => {
    server = await startServerProcess({ fdLimit: 4096 });
    baseline = await measureBaseline(server);
  });
  after(async () => {
    await server?.stop();
  });

  const login = () => drivenConnection(server.port, TEST_USER, server.clientKey, ALGORITHMS);

  async function assertRecovered(attack: string): Promise<void> {
    const recovery = await checkRecovered(server, baseline, attack);
    assert.deepEqual(recovery.problems, [], recovery.problems.join('\n'));
  }

  /** Opens a session channel with id `ours` and runs `command`; resolves with the server's channel id and window. */
  async function session(connection: DrivenConnection, ours: number, command: string, window?: number) {
    connection.send(message.sessionOpen(ours, window));
    const opened = confirmation(await connection.next((m) => m[0] === SSH_MSG.CHANNEL_OPEN_CONFIRMATION && recipientOf(m) === ours));
    connection.send(message.exec(opened.theirs, command));
    await connection.next((m) => m[0] === SSH_MSG.CHANNEL_SUCCESS && recipientOf(m) === ours);
    return opened;
  }

  it('a corrupted MAC ends the connection (DISCONNECT MAC error, "Corrupted MAC on input.")', async () => {
    const connection = await login();
    connection.corruptNextPacket();
    connection.send(message.sessionOpen(0));
    const ended = await endedWithin(connection, 5000);
    assert.ok(ended, 'the server ends a connection whose packet fails its MAC within 5 s');
    if (ended.reason !== undefined) assert.equal(ended.reason, MAC_ERROR, `DISCONNECT reason after a bad MAC: ${ended.message}`);
    await server.waitForLog(/Corrupted MAC on input/, 2000);
    await assertRecovered('a bad MAC');
  });

  it('CHANNEL_DATA for a channel that does not exist is a protocol error (sshd: "referred to nonexistent channel")', async () => {
    const connection = await login();
    connection.send(message.data(12345, Buffer.from('hello')));
    const ended = await endedWithin(connection, 5000);
    assert.ok(ended, 'data for an unknown channel ends the connection within 5 s');
    assert.equal(ended.reason, PROTOCOL_ERROR, `DISCONNECT protocol error for data on channel 12345: ${ended.message}`);
    await assertRecovered('data for an unknown channel');
  });

  it('message 150 and an unknown global request are answered (UNIMPLEMENTED, REQUEST_FAILURE) and the connection goes on', async () => {
    const connection = await login();
    try {
      connection.send(Buffer.from([150, 0, 0, 0, 0]));
      connection.send(Buffer.from([SSH_MSG.GLOBAL_REQUEST, 0, 0, 0, 9, ...Buffer.from('no-such@x'), 1]));
      await connection.next((m) => m[0] === SSH_MSG.REQUEST_FAILURE);
      assert.equal(connection.unimplemented.length, 1, 'one SSH_MSG_UNIMPLEMENTED for message 150');
      await session(connection, 0, 'true');
      const status = await connection.next((m) => m[0] === SSH_MSG.CHANNEL_REQUEST && new Reader(m, 5).text() === 'exit-status');
      assert.equal(status.readUInt32BE(status.length - 4), 0, 'a command runs normally afterwards');
    } finally {
      connection.close();
    }
    await assertRecovered('unknown messages');
  });

  it('message 255 after login is UNIMPLEMENTED or, as sshd ("Invalid ssh2 packet type: 255"), a protocol error', async () => {
    const connection = await login();
    try {
      connection.send(Buffer.from([255, 0, 0, 0, 0]));
      const ended = await endedWithin(connection, 1000);
      if (ended) assert.equal(ended.reason, PROTOCOL_ERROR, `DISCONNECT for message 255: ${ended.message}`);
      else assert.equal(connection.unimplemented.length, 1, 'SSH_MSG_UNIMPLEMENTED for message 255');
    } finally {
      connection.close();
    }
    await assertRecovered('message 255');
  });

  it('a rekey storm (150 key re-exchanges on one connection) completes or is cut off, and costs nothing afterwards', async () => {
    const connection = await login();
    try {
      for (let i = 0; i < 150 && !connection.transport.isClosed; i++) {
        const done = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`re-exchange ${i + 1} did not complete within 10 s`)), 10_000);
          connection.transport.once('kex', () => (clearTimeout(timer), resolve()));
        });
        connection.transport.startKex();
        await done;
      }
      const ended = await endedWithin(connection, 200);
      if (ended) assert.equal(ended.reason, PROTOCOL_ERROR, `a server that limits rekeying says so with a protocol error: ${ended.message}`);
    } finally {
      connection.close();
    }
    await assertRecovered('a rekey storm');
  });

  it('data past the advertised window is refused or discarded, never buffered without bound', async () => {
    const connection = await login();
    try {
      const opened = await session(connection, 0, 'sleep 5');
      // The command never reads: everything sent beyond the window would have to be buffered.
      const chunk = Buffer.alloc(Math.min(opened.maxPacket, 32768), 0x61);
      const packets = Math.ceil((opened.window + 8 * 1024 * 1024) / chunk.length);
      for (let i = 0; i < packets && !connection.transport.isClosed; i++) connection.send(message.data(opened.theirs, chunk));
      const ended = await endedWithin(connection, 2000);
      if (ended) assert.equal(ended.reason, PROTOCOL_ERROR, `a peer ignoring the window is a protocol error: ${ended.message}`);
    } finally {
      connection.close();
    }
    await assertRecovered('data past the window');
  });

  it('WINDOW_ADJUST overflowing 2^32 ends the connection or is capped: the channel still delivers exactly what was sent', async () => {
    const connection = await login();
    try {
      const bytes = 4 * 1024 * 1024;
      const opened = await session(connection, 0, `head -c ${bytes} /dev/zero`, 32768);
      connection.send(message.windowAdjust(opened.theirs, 0xffffffff));
      connection.send(message.windowAdjust(opened.theirs, 0xffffffff));
      const ended = await endedWithin(connection, 300);
      if (ended) {
        assert.equal(ended.reason, PROTOCOL_ERROR, `an overflowing window is a protocol error: ${ended.message}`);
      } else {
        await connection.next((m) => m[0] === SSH_MSG.CHANNEL_CLOSE && recipientOf(m) === 0, 20_000);
        const received = connection.messages.filter((m) => m[0] === SSH_MSG.CHANNEL_DATA && recipientOf(m) === 0).reduce((sum, m) => sum + m.readUInt32BE(5), 0);
        assert.equal(received, bytes, 'the channel delivered exactly the command\'s output');
      }
    } finally {
      connection.close();
    }
    await assertRecovered('an overflowing WINDOW_ADJUST');
  });
});
