/**
 * Key re-exchange details that independent implementations depend on: each NEWKEYS starts fresh zlib streams
 * (RFC 4253 §6.2, OpenSSH packet.c ssh_set_newkeys; delayed zlib@openssh.com restarts at each NEWKEYS after
 * authentication too), and connection-layer messages a peer sends between its KEXINIT and NEWKEYS during a
 * *re*-exchange are processed as OpenSSH does, while the first exchange stays strict.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { duplexPair } from 'node:stream';
import { Transport } from '../../../src/transport/transport.ts';
import { generatePrivateKey } from '../../../src/keys/index.ts';
import { Writer } from '../../../src/wire/writer.ts';
import { SSH_MSG } from '../../../src/wire/message-numbers.ts';
import { ProtocolError } from '../../../src/wire/errors.ts';
import { kexInit, rawClient } from '../../helpers/raw-transport.ts';

const hostKey = generatePrivateKey('ed25519');

function pair(compression: string[], rekeyLimitBytes?: number) {
  const [clientSide, serverSide] = duplexPair();
  const clientLog: string[] = [];
  const serverLog: string[] = [];
  const client = new Transport({
    role: 'client', stream: clientSide, algorithms: { compression }, verifyHostKey: () => {}, debug: (line) => clientLog.push(line), rekeyLimitBytes,
  });
  const server = new Transport({
    role: 'server', stream: serverSide, algorithms: { compression }, hostKeys: [hostKey], debug: (line) => serverLog.push(line), rekeyLimitBytes,
  });
  return { client, server, clientLog, serverLog };
}

/** A compressible application payload: an unassigned message number (192) and a counter. */
const appMessage = (index: number) => Buffer.from(new Writer().byte(192).uint32(index).string(Buffer.alloc(4000, `${index} `)).finish());

function collect(transport: Transport): number[] {
  const seen: number[] = [];
  transport.packetHandler = (payload) => {
    if (payload[0] === 192) seen.push(payload.readUInt32BE(1));
  };
  return seen;
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Sends `count` messages each way, re-exchanging keys (started alternately by each side) every `every`. */
async function trafficWithRekeys(client: Transport, server: Transport, count: number, every: number): Promise<void> {
  const atServer = collect(server);
  const atClient = collect(client);
  let exchanges = 0;
  client.on('kex', () => exchanges++);
  for (let i = 0; i < count; i++) {
    client.send(appMessage(i));
    server.send(appMessage(i));
    if (i % every === every - 1) {
      const before = exchanges;
      (exchanges % 2 === 0 ? client : server).startKex();
      await until(() => exchanges > before, 're-exchange');
    }
  }
  await until(() => atServer.length === count && atClient.length === count, 'all messages');
  const expected = Array.from({ length: count }, (_, i) => i);
  assert.deepEqual(atServer, expected);
  assert.deepEqual(atClient, expected);
}

/** What the auth layer's success does to the transports: the server sends USERAUTH_SUCCESS, the client gets it. */
async function authenticate(client: Transport, server: Transport): Promise<void> {
  const authenticated = new Promise<void>((resolve) => {
    client.packetHandler = (payload) => {
      if (payload[0] === SSH_MSG.USERAUTH_SUCCESS) resolve();
    };
  });
  server.send(Buffer.from([SSH_MSG.USERAUTH_SUCCESS]));
  await authenticated;
}

const enabled = (log: string[]) => log.filter((line) => line === 'Enabling compression at level 6.').length;

describe('compression across key re-exchange', () => {
  test('zlib: every NEWKEYS starts a fresh stream in each direction', async () => {
    const { client, server, clientLog, serverLog } = pair(['zlib']);
    await Promise.all([client.ready, server.ready]);
    assert.equal(enabled(clientLog), 1);
    await trafficWithRekeys(client, server, 60, 10);
    // The first exchange plus six re-exchanges, each restarting the compressor (as `ssh -v` logs it).
    assert.equal(enabled(clientLog), 7);
    assert.equal(enabled(serverLog), 7);
    assert.equal(client.isClosed || server.isClosed, false);
    client.disconnect();
  });

  test('zlib@openssh.com: starts after USERAUTH_SUCCESS, then restarts at every NEWKEYS', async () => {
    const { client, server, clientLog, serverLog } = pair(['zlib@openssh.com']);
    await Promise.all([client.ready, server.ready]);
    assert.equal(enabled(clientLog) + enabled(serverLog), 0, 'no compression before authentication');
    await authenticate(client, server);
    assert.equal(enabled(serverLog), 1);
    assert.equal(enabled(clientLog), 1);
    await trafficWithRekeys(client, server, 60, 10);
    assert.equal(enabled(clientLog), 7);
    assert.equal(enabled(serverLog), 7);
    client.disconnect();
  });

  test('a re-exchange may switch compression off (and the data still flows)', async () => {
    const { client, server } = pair(['zlib', 'none']);
    await Promise.all([client.ready, server.ready]);
    assert.equal(client.negotiated?.compressionClientToServer, 'zlib');
    const internals = (transport: Transport) => transport as unknown as { preferences: { compression: string[] } };
    internals(client).preferences.compression = ['none'];
    await trafficWithRekeys(client, server, 20, 10);
    assert.equal(client.negotiated?.compressionClientToServer, 'none');
    client.disconnect();
  });
});

describe('RekeyLimit', () => {
  test('data-limit re-exchanges wait for user authentication, as in OpenSSH (sshd refuses KEXINIT before it)', async () => {
    const { client, server, clientLog } = pair(['none'], 16);
    await Promise.all([client.ready, server.ready]);
    const atServer = collect(server);
    for (let i = 0; i < 5; i++) client.send(appMessage(i));
    await until(() => atServer.length === 5, 'messages before authentication');
    assert.equal(clientLog.filter((line) => line === 'rekeying after data limit').length, 0);
    await authenticate(client, server);
    const exchanged = new Promise((resolve) => client.once('kex', resolve));
    client.send(appMessage(5));
    await exchanged;
    assert.ok(clientLog.includes('rekeying after data limit'));
    client.disconnect();
  });
});

describe('connection messages during a re-exchange', () => {
  test('a message sent between KEXINIT and NEWKEYS of a re-exchange is delivered, in order', async () => {
    const { client, server } = pair(['none']);
    await Promise.all([client.ready, server.ready]);
    const atServer = collect(server);
    collect(client);
    let exchanges = 0;
    server.on('kex', () => exchanges++);
    // What AsyncSSH does: keep sending channel data after its own KEXINIT. Our send() would hold it back,
    // so the test writes it on the wire directly, as such a peer would.
    const rawWrite = (payload: Buffer) => (client as unknown as { writePacket(p: Buffer): boolean }).writePacket(payload);
    client.send(appMessage(0));
    client.startKex();
    rawWrite(appMessage(1));
    rawWrite(appMessage(2));
    await until(() => exchanges === 1 && atServer.length === 3, 're-exchange and messages');
    assert.deepEqual(atServer, [0, 1, 2]);
    assert.equal(server.isClosed, false);
    client.send(appMessage(3));
    await until(() => atServer.length === 4, 'message after the re-exchange');
    client.disconnect();
  });

  for (const strict of [false, true]) {
    test(`the first exchange still rejects them (strict kex ${strict ? 'on' : 'off'})`, async () => {
      const [clientSide, serverSide] = duplexPair();
      clientSide.resume();
      const server = new Transport({ role: 'server', stream: serverSide, hostKeys: [hostKey] });
      const send = rawClient(clientSide);
      send(kexInit(strict));
      send(Buffer.from(new Writer().byte(SSH_MSG.CHANNEL_DATA).uint32(0).string('early').finish()));
      const error = await server.closed;
      assert.ok(error instanceof ProtocolError, String(error));
      if (strict) assert.match(error.message, /strict KEX violation/);
    });
  }
});
