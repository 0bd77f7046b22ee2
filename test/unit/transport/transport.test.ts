/**
 * The transport in both roles, in one process over an in-memory stream pair: key exchange with every
 * cipher, re-exchanges started by either side while data flows (nothing lost, nothing reordered), the
 * generic messages, and strict kex rejecting a packet injected before KEXINIT (the Terrapin attack's move).
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

function pair(options: { cipher?: string[]; rekeyLimitBytes?: number } = {}) {
  const [clientSide, serverSide] = duplexPair();
  const algorithms = options.cipher ? { cipher: options.cipher } : undefined;
  const client = new Transport({ role: 'client', stream: clientSide, algorithms, verifyHostKey: () => {}, rekeyLimitBytes: options.rekeyLimitBytes });
  const server = new Transport({ role: 'server', stream: serverSide, hostKeys: [hostKey], algorithms, rekeyLimitBytes: options.rekeyLimitBytes });
  return { client, server };
}

/** An application-level payload: an unassigned message number ≥ 192 (local extensions) and a counter. */
const appMessage = (index: number) => Buffer.from(new Writer().byte(192).uint32(index).string(Buffer.alloc(1000, index & 0xff)).finish());

function collect(transport: Transport): number[] {
  const seen: number[] = [];
  transport.packetHandler = (payload) => {
    if (payload[0] === 192) seen.push(payload.readUInt32BE(1));
  };
  return seen;
}

describe('transport in both roles', () => {
  for (const cipher of ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-ctr']) {
    test(`key exchange with ${cipher} gives both sides the same session id`, async () => {
      const { client, server } = pair({ cipher: [cipher] });
      await Promise.all([client.ready, server.ready]);
      assert.ok(client.sessionId && client.sessionId.equals(server.sessionId!));
      assert.equal(client.negotiated?.cipherClientToServer, cipher);
      assert.equal(client.strictKex, true);
      assert.equal(server.strictKex, true);
      client.disconnect();
      assert.equal(await server.closed instanceof Error, true);
    });
  }

  for (const initiator of ['client', 'server'] as const) {
    test(`a re-exchange started by the ${initiator} loses and reorders nothing`, async () => {
      const { client, server } = pair();
      await Promise.all([client.ready, server.ready]);
      const received = collect(server);
      const sender = client;
      for (let i = 0; i < 3000; i++) {
        sender.send(appMessage(i));
        if (i % 1000 === 500) (initiator === 'client' ? client : server).startKex();
      }
      const deadline = Date.now() + 10_000;
      while (received.length < 3000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.deepEqual(received, Array.from({ length: 3000 }, (_, i) => i));
      client.disconnect();
    });
  }

  test('RekeyLimit re-exchanges keys automatically under load', async () => {
    const { client, server } = pair({ rekeyLimitBytes: 64 * 1024 });
    await Promise.all([client.ready, server.ready]);
    // Data-limit re-exchanges wait for user authentication (as in OpenSSH), which USERAUTH_SUCCESS marks.
    const authenticated = new Promise<void>((resolve) => {
      client.packetHandler = (payload) => {
        if (payload[0] === SSH_MSG.USERAUTH_SUCCESS) resolve();
      };
    });
    server.send(Buffer.from([SSH_MSG.USERAUTH_SUCCESS]));
    await authenticated;
    let exchanges = 0;
    client.on('kex', () => exchanges++);
    const received = collect(server);
    for (let i = 0; i < 1000; i++) {
      client.send(appMessage(i));
      // Yield now and then, as real traffic does, so exchanges can complete between bursts.
      if (i % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
    }
    const deadline = Date.now() + 10_000;
    while (received.length < 1000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(received.length, 1000);
    assert.ok(exchanges >= 10, `only ${exchanges} re-exchanges`);
    client.disconnect();
  });

  test('IGNORE and DEBUG are absorbed; an unknown transport message is answered with UNIMPLEMENTED', async () => {
    const { client, server } = pair();
    await Promise.all([client.ready, server.ready]);
    const debugLines: string[] = [];
    const serverSeen = collect(server);
    const clientDebug: string[] = [];
    (client as unknown as { options: { debug: (m: string) => void } }).options.debug = (m) => clientDebug.push(m);
    server.on('peer-debug', (message: string) => debugLines.push(message));
    client.send(Buffer.from(new Writer().byte(SSH_MSG.IGNORE).string('padding').finish()));
    client.send(Buffer.from(new Writer().byte(SSH_MSG.DEBUG).boolean(true).string('hello\x07there').string('').finish()));
    client.send(Buffer.from([15])); // unassigned transport-layer number
    client.send(appMessage(7));
    const deadline = Date.now() + 5000;
    while ((serverSeen.length < 1 || !clientDebug.some((m) => m.includes('UNIMPLEMENTED'))) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(serverSeen, [7]);
    assert.deepEqual(debugLines, ['hello?there'], 'control characters from the peer are neutralised');
    assert.ok(clientDebug.some((m) => m.includes('Received SSH2_MSG_UNIMPLEMENTED')));
    assert.equal(client.isClosed, false);
    client.disconnect();
  });
});

describe('strict kex', () => {
  test('a packet injected before KEXINIT ends the connection when strict kex is negotiated', async () => {
    const [clientSide, serverSide] = duplexPair();
    clientSide.resume();
    const server = new Transport({ role: 'server', stream: serverSide, hostKeys: [hostKey] });
    const send = rawClient(clientSide);
    send(Buffer.from(new Writer().byte(SSH_MSG.IGNORE).string('injected').finish()));
    send(kexInit(true));
    const error = await server.closed;
    assert.ok(error instanceof ProtocolError, String(error));
    assert.match(error.message, /strict KEX violation/);
  });

  test('without strict kex the same IGNORE is tolerated (RFC 4253 behaviour)', async () => {
    const [clientSide, serverSide] = duplexPair();
    clientSide.resume();
    const server = new Transport({ role: 'server', stream: serverSide, hostKeys: [hostKey] });
    const send = rawClient(clientSide);
    send(Buffer.from(new Writer().byte(SSH_MSG.IGNORE).string('harmless').finish()));
    send(kexInit(false));
    const outcome = await Promise.race([server.closed, new Promise((resolve) => setTimeout(() => resolve('open'), 300))]);
    assert.equal(outcome, 'open');
    server.disconnect();
  });

  test('an application message during the first key exchange is a protocol error', async () => {
    const [clientSide, serverSide] = duplexPair();
    clientSide.resume();
    const server = new Transport({ role: 'server', stream: serverSide, hostKeys: [hostKey] });
    const send = rawClient(clientSide);
    send(kexInit(false));
    send(Buffer.from(new Writer().byte(SSH_MSG.USERAUTH_REQUEST).string('root').finish()));
    const error = await server.closed;
    assert.ok(error instanceof ProtocolError, String(error));
  });
});
