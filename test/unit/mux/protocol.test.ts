/**
 * The mux protocol (PROTOCOL.mux) encoded and decoded once, and the control socket's descriptor passing:
 * every message round-trips, the wire layout matches mux.c byte for byte where a peer reads it, oversized
 * packets are refused, and a pipe passed over a Unix socket arrives working.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import {
  MUX_FWD, MUX_MSG, MUX_PORT_STREAMLOCAL, decodeClientMessage, decodeServerMessage, encodeClientMessage, encodeServerMessage,
  type MuxClientMessage, type MuxServerMessage,
} from '../../../src/client/mux/protocol.ts';
import { MuxSocket } from '../../../src/client/mux/mux-socket.ts';
import { tempDir } from '../../helpers/openssh.ts';

const unframe = (packet: Buffer) => {
  assert.equal(packet.readUInt32BE(0), packet.length - 4);
  return packet.subarray(4);
};

describe('mux protocol messages', () => {
  test('client messages round-trip', () => {
    const messages: Exclude<MuxClientMessage, { type: 'unknown' }>[] = [
      { type: 'hello', version: 4 },
      { type: 'alive-check', requestId: 7 },
      { type: 'terminate', requestId: 1 },
      { type: 'stop-listening', requestId: 2 },
      { type: 'proxy', requestId: 3 },
      { type: 'stdio-forward', requestId: 4, host: 'db.internal', port: 5432 },
      { type: 'open-forward', requestId: 5, forward: { kind: MUX_FWD.LOCAL, listenHost: '', listenPort: 8080, connectHost: 'web', connectPort: 80 } },
      { type: 'close-forward', requestId: 6, forward: { kind: MUX_FWD.REMOTE, listenHost: '/tmp/r.sock', listenPort: MUX_PORT_STREAMLOCAL, connectHost: '/tmp/l.sock', connectPort: MUX_PORT_STREAMLOCAL } },
      {
        type: 'new-session',
        requestId: 8,
        session: { tty: true, x11: false, agent: true, subsystem: false, escapeChar: 0x7e, term: 'xterm', command: 'ls -l', env: ['LANG=C', 'A=b=c'] },
      },
      {
        type: 'new-session',
        requestId: 9,
        session: { tty: false, x11: false, agent: false, subsystem: true, escapeChar: undefined, term: '', command: 'sftp', env: [] },
      },
    ];
    for (const message of messages) assert.deepEqual(decodeClientMessage(unframe(encodeClientMessage(message))), message);
  });

  test('server messages round-trip', () => {
    const messages: Exclude<MuxServerMessage, { type: 'unknown' }>[] = [
      { type: 'hello', version: 4 },
      { type: 'ok', requestId: 1 },
      { type: 'permission-denied', requestId: 2, reason: 'Permission denied' },
      { type: 'failure', requestId: 3, reason: 'Multiple sessions not supported' },
      { type: 'exit-message', sessionId: 4, exitValue: 44 },
      { type: 'alive', requestId: 5, pid: 12345 },
      { type: 'session-opened', requestId: 6, sessionId: 2 },
      { type: 'remote-port', requestId: 7, port: 41575 },
      { type: 'tty-alloc-fail', sessionId: 2 },
      { type: 'proxy', requestId: 8 },
    ];
    for (const message of messages) assert.deepEqual(decodeServerMessage(unframe(encodeServerMessage(message))), message);
  });

  test('layout matches mux.c: NEW_SESSION flags are uint32s, no escape is 0xffffffff, stdio port is a uint32', () => {
    const session = unframe(encodeClientMessage({
      type: 'new-session', requestId: 1,
      session: { tty: true, x11: false, agent: false, subsystem: false, escapeChar: undefined, term: 't', command: 'c', env: [] },
    }));
    assert.equal(session.readUInt32BE(0), MUX_MSG.C_NEW_SESSION);
    assert.equal(session.readUInt32BE(8), 0); // reserved string, empty
    assert.deepEqual([12, 16, 20, 24].map((offset) => session.readUInt32BE(offset)), [1, 0, 0, 0]);
    assert.equal(session.readUInt32BE(28), 0xffffffff);
    const stdio = unframe(encodeClientMessage({ type: 'stdio-forward', requestId: 1, host: 'h', port: 22 }));
    assert.equal(stdio.length, 4 + 4 + 4 + 5 + 4);
    assert.equal(stdio.readUInt32BE(stdio.length - 4), 22);
  });

  test('unknown requests keep their id so the master can refuse them', () => {
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(0x10000077, 0);
    payload.writeUInt32BE(9, 4);
    assert.deepEqual(decodeClientMessage(payload), { type: 'unknown', code: 0x10000077, requestId: 9 });
  });

  test('a forward port beyond 65535 (other than streamlocal) does not decode', () => {
    const packet = unframe(encodeClientMessage({ type: 'open-forward', requestId: 1, forward: { kind: MUX_FWD.LOCAL, listenHost: '', listenPort: 70000, connectHost: 'x', connectPort: 1 } }));
    assert.throws(() => decodeClientMessage(packet), /out of range/);
  });
});

/** A control socket in a fresh directory and both ends of one connection to it; close() removes it all. */
async function controlSocketPair(): Promise<{ dir: string; client: MuxSocket; master: MuxSocket; close(): void }> {
  const dir = tempDir('tether-mux-');
  const path = join(dir, 'ctl');
  const server = createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const accepted = new Promise<MuxSocket>((resolve) => server.once('connection', (socket) => resolve(MuxSocket.adopt(socket))));
  const client = MuxSocket.connect(path);
  const master = await accepted;
  const close = () => {
    master.close();
    client.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { dir, client, master, close };
}

describe('control socket descriptor passing', () => {
  test('packets and a passed pipe arrive; an oversized length is refused', async () => {
    const { dir, client, master, close } = await controlSocketPair();
    try {
      // A FIFO stands in for a pipe: the client passes its write end, the master writes through it.
      const fifo = join(dir, 'fifo');
      assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
      const readEnd = openSync(fifo, 'r+');
      const writeEnd = openSync(fifo, 'w');
      client.write(encodeClientMessage({ type: 'alive-check', requestId: 3 }));
      client.sendFds([writeEnd]);
      closeSync(writeEnd);
      assert.deepEqual(decodeClientMessage((await master.readPacket())!), { type: 'alive-check', requestId: 3 });
      const [passed] = await master.readFds(1);
      assert.ok(passed !== undefined && passed > 2);
      writeSync(passed, 'through the passed fd');
      closeSync(passed);
      const buffer = Buffer.alloc(64);
      assert.equal(buffer.subarray(0, readSync(readEnd, buffer)).toString(), 'through the passed fd');
      closeSync(readEnd);

      const huge = Buffer.alloc(4);
      huge.writeUInt32BE(1024 * 1024);
      client.write(huge);
      await assert.rejects(master.readPacket(), /too big/);
      client.close();
    } finally {
      close();
    }
  });

  test('a byte without a descriptor yields none', async () => {
    const { client, master, close } = await controlSocketPair();
    try {
      client.write(Buffer.alloc(1));
      client.close();
      assert.deepEqual(await master.readFds(3), []);
      assert.equal(await master.readPacket(), null);
    } finally {
      close();
    }
  });
});
