/**
 * Client-side remote forwarding without a server: a forwarded-tcpip open that arrives in the same read as
 * the tcpip-forward success reply (before the awaiting code has run) still finds its forward, and
 * PermitRemoteOpen's entries as ssh matches them (channels.c open_match).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection, IncomingChannelOpen } from '../../../src/connection/connection.ts';
import { encodeForwardedTcpip } from '../../../src/connection/forwarding-messages.ts';
import { RemoteForwards } from '../../../src/client/forwarding/remote.ts';
import { parsePermitRemoteOpen, remoteOpenAllowed } from '../../../src/client/forwarding/remote-socks.ts';

function fakeConnection(): { connection: Connection; answer: (success: boolean) => void } {
  let resolveReply!: (reply: { success: boolean; data: Buffer }) => void;
  const connection = {
    globalRequest: () => new Promise((resolve) => (resolveReply = resolve)),
  } as unknown as Connection;
  return { connection, answer: (success) => resolveReply({ success, data: Buffer.alloc(0) }) };
}

function incoming(port: number, outcome: string[]): IncomingChannelOpen {
  return {
    type: 'forwarded-tcpip',
    data: encodeForwardedTcpip({ address: 'localhost', port }, { address: '127.0.0.1', port: 40000 }),
    accept: () => {
      outcome.push('accepted');
      throw new Error('stop here: accepted');
    },
    reject: (_reason, description) => void outcome.push(`rejected: ${description}`),
  };
}

test('a forwarded-tcpip open arriving with the success reply waits for the forward to be recorded', async () => {
  const { connection, answer } = fakeConnection();
  const forwards = new RemoteForwards(connection);
  const outcome: string[] = [];
  // Connect to a port nobody listens on: the open is accepted only once the local connect is tried.
  const added = forwards.add({ bindPort: 4242 }, { host: '127.0.0.1', port: 1 });
  answer(true);
  // Same tick as the reply: the `await` inside add() has not resumed yet.
  forwards.onForwardedTcpip(incoming(4242, outcome));
  assert.deepEqual(outcome, [], 'neither accepted nor refused before the forward is known');
  await added;
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(outcome, ['rejected: open failed'], 'matched, then refused by the failed local connect');
});

test('a forwarded-tcpip open for no forward is refused once no request is outstanding', async () => {
  const { connection, answer } = fakeConnection();
  const forwards = new RemoteForwards(connection);
  const outcome: string[] = [];
  forwards.onForwardedTcpip(incoming(5000, outcome));
  assert.deepEqual(outcome, ['rejected: no such forward']);
  const added = forwards.add({ bindPort: 4243 });
  forwards.onForwardedTcpip(incoming(5001, outcome));
  answer(false);
  await assert.rejects(added, /remote port forwarding failed for listen port 4243/);
  assert.deepEqual(outcome, ['rejected: no such forward', 'rejected: no such forward']);
});

test('PermitRemoteOpen: any, none, host:port with * for either, bracketed IPv6', () => {
  assert.equal(parsePermitRemoteOpen([]), undefined);
  assert.equal(parsePermitRemoteOpen(['any']), undefined);
  assert.deepEqual(parsePermitRemoteOpen(['none']), []);
  const list = parsePermitRemoteOpen(['127.0.0.1:80', '[::1]:*', '*:443', 'localhost:22']);
  assert.deepEqual(list, [
    { host: '127.0.0.1', port: 80 }, { host: '::1', port: undefined }, { host: '*', port: 443 }, { host: 'localhost', port: 22 },
  ]);
  assert.equal(remoteOpenAllowed(undefined, 'anything', 1), true);
  assert.equal(remoteOpenAllowed([], '127.0.0.1', 80), false);
  assert.equal(remoteOpenAllowed(list, '127.0.0.1', 80), true);
  assert.equal(remoteOpenAllowed(list, '127.0.0.1', 81), false);
  assert.equal(remoteOpenAllowed(list, '::1', 9999), true);
  assert.equal(remoteOpenAllowed(list, 'example.org', 443), true);
  // Host names are compared as written, not resolved (open_match uses strcmp).
  assert.equal(remoteOpenAllowed(list, 'LOCALHOST', 22), false);
  assert.equal(remoteOpenAllowed(list, 'localhost', 22), true);
});
