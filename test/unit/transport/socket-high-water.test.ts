/**
 * The sockets a transport runs on, the client's (tcpAttempt) and the server's (withSharedReads), take one
 * read of a local source, sealed and corked for the tick, without going over their high-water mark
 * (TRANSPORT_WRITE_HIGH_WATER, issue 17): with Node's 64 KiB default the source paused and resumed on every
 * read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { tcpAttempt } from '../../../src/client/address-list.ts';
import { withSharedReads } from '../../../src/server/shared-reads-socket.ts';
import { TRANSPORT_WRITE_HIGH_WATER } from '../../../src/transport/packet-layer.ts';
import { SHARED_READ_SIZE } from '../../../src/transport/socket-reads.ts';
import { fdPassIfBuilt } from '../../../src/crypto/fdpass.ts';

/** What one full read becomes once sealed: 32 KiB packets, each with its length, padding and tag. */
const SEALED_READ = SHARED_READ_SIZE + 4 * 64;

/** A corked write of a sealed read leaves the socket writable: the source reads on. */
function takesASealedRead(socket: Socket): void {
  assert.equal(socket.writableHighWaterMark, TRANSPORT_WRITE_HIGH_WATER);
  socket.cork();
  assert.equal(socket.write(Buffer.alloc(SEALED_READ)), true);
  assert.equal(socket.writableNeedDrain, false);
  socket.uncork();
}

/** A listener on 127.0.0.1 whose connections, paused as the server's are, arrive in order from accepted(). */
async function listen(): Promise<{ port: number; accepted: () => Promise<Socket>; close: () => void }> {
  const waiting: Socket[] = [];
  let wake: (() => void) | undefined;
  const server: Server = createServer({ pauseOnConnect: true }, (socket) => {
    waiting.push(socket);
    wake?.();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = async (): Promise<Socket> => {
    while (waiting.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return waiting.shift()!;
  };
  return { port: (server.address() as { port: number }).port, accepted, close: () => server.close() };
}

test('the client connection (tcpAttempt) takes a sealed read and stays writable', async () => {
  const listener = await listen();
  const socket = await tcpAttempt('127.0.0.1', listener.port, { connectTimeout: 5 });
  const peer = await listener.accepted();
  try {
    takesASealedRead(socket);
  } finally {
    socket.destroy();
    peer.destroy();
    listener.close();
  }
});

test('an accepted connection moved to the shared read buffer (withSharedReads) does too', async () => {
  assert.ok(fdPassIfBuilt(), 'native/fdpass is built (npm install builds it)');
  const listener = await listen();
  const client = await tcpAttempt('127.0.0.1', listener.port, { connectTimeout: 5 });
  const moved = withSharedReads(await listener.accepted());
  try {
    takesASealedRead(moved);
  } finally {
    moved.destroy();
    client.destroy();
    listener.close();
  }
});
