/**
 * The connection layer's own limits (issue 21): channel opens still being processed hold their channel
 * number, so a burst cannot overshoot maxChannels and a late accept never throws; the excess is refused with
 * RESOURCE_SHORTAGE (RFC 4254 §5.1); too many unanswered global requests pause input; an exception in a
 * callback acting for the connection ends that connection with a DISCONNECT, not the process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { duplexPair } from 'node:stream';
import { Transport } from '../../../src/transport/transport.ts';
import { ChannelOpenError, Connection, type ConnectionLimits, type IncomingChannelOpen, type IncomingGlobalRequest, type LimitEvent } from '../../../src/connection/connection.ts';
import { CHANNEL_OPEN_FAILURE, DISCONNECT_REASON } from '../../../src/wire/message-numbers.ts';
import { DisconnectError } from '../../../src/wire/errors.ts';
import { generatePrivateKey } from '../../../src/keys/index.ts';

async function pair(limits: Partial<ConnectionLimits>): Promise<{ client: Connection; server: Connection; clientTransport: Transport }> {
  const [clientSide, serverSide] = duplexPair();
  const clientTransport = new Transport({ role: 'client', stream: clientSide, verifyHostKey: () => {} });
  const serverTransport = new Transport({ role: 'server', stream: serverSide, hostKeys: [generatePrivateKey('ed25519')] });
  await Promise.all([clientTransport.ready, serverTransport.ready]);
  return { client: new Connection(clientTransport), server: new Connection(serverTransport, [], { limits }), clientTransport };
}

async function outcome(open: Promise<unknown>): Promise<string> {
  try {
    await open;
    return 'accepted';
  } catch (error) {
    assert.ok(error instanceof ChannelOpenError, String(error));
    return `${error.reason}:${error.description}`;
  }
}

test('opens still being processed count against the limits; the excess is refused as a resource shortage', async () => {
  const { client, server, clientTransport } = await pair({ maxChannels: 6, maxPendingOpens: 4 });
  const pending: IncomingChannelOpen[] = [];
  const limits: LimitEvent[] = [];
  server.on('limit', (event: LimitEvent) => limits.push(event));
  server.onChannelOpen = (request) => pending.push(request);

  const first = Array.from({ length: 10 }, () => outcome(client.openChannel('direct-tcpip')));
  const deadline = Date.now() + 5000;
  while (pending.length < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  const shortage = `${CHANNEL_OPEN_FAILURE.RESOURCE_SHORTAGE}:too many channel opens in progress`;
  // Six refused while four are pending; answering the pending ones later (as a connect callback would) works.
  for (const request of pending) request.accept();
  assert.deepEqual((await Promise.all(first)).sort(), [...Array(4).fill('accepted'), ...Array(6).fill(shortage)].sort());

  // Four open, two numbers left: two more may be pending, a third is past maxChannels.
  pending.length = 0;
  const second = Array.from({ length: 3 }, () => outcome(client.openChannel('direct-tcpip')));
  while (pending.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(pending.length, 2);
  pending[0]!.accept();
  pending[1]!.reject(CHANNEL_OPEN_FAILURE.CONNECT_FAILED, 'Connection refused');
  assert.deepEqual((await Promise.all(second)).sort(), [
    `${CHANNEL_OPEN_FAILURE.CONNECT_FAILED}:Connection refused`,
    `${CHANNEL_OPEN_FAILURE.RESOURCE_SHORTAGE}:too many channels`,
    'accepted',
  ]);
  assert.ok(limits.some((e) => e.limit === 'pending-opens' && e.max === 4));
  assert.ok(limits.some((e) => e.limit === 'channels' && e.max === 6));
  assert.equal(server.channelCount, 5);
  clientTransport.disconnect();
});

test('an open answered after the connection ended gives a closed channel instead of throwing', async () => {
  const { client, server, clientTransport } = await pair({});
  let pending: IncomingChannelOpen | undefined;
  server.onChannelOpen = (request) => (pending = request);
  void client.openChannel('direct-tcpip').catch(() => {});
  const deadline = Date.now() + 5000;
  while (!pending && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  clientTransport.disconnect();
  await server.transport.closed;
  const channel = pending!.accept();
  assert.equal(channel.destroyed, true);
});

test('openChannel past maxChannels rejects rather than throwing', async () => {
  const { client, server, clientTransport } = await pair({ maxChannels: 1 });
  client.onChannelOpen = (request) => request.accept();
  const opened = await server.openChannel('forwarded-tcpip');
  assert.ok(opened);
  const refused = server.openChannel('forwarded-tcpip');
  await assert.rejects(refused, (error: unknown) => error instanceof ChannelOpenError && error.reason === CHANNEL_OPEN_FAILURE.RESOURCE_SHORTAGE);
  clientTransport.disconnect();
});

test('with maxPendingGlobalRequests unanswered, input stops until one is answered', async () => {
  const { client, server, clientTransport } = await pair({ maxPendingGlobalRequests: 2 });
  const received: IncomingGlobalRequest[] = [];
  const limits: LimitEvent[] = [];
  server.on('limit', (event: LimitEvent) => limits.push(event));
  server.onGlobalRequest = (request) => received.push(request);
  const replies = Array.from({ length: 5 }, (_, i) => client.globalRequest(`slow${i}@test`));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(received.length, 2, 'the third request is not read while two replies are owed');
  assert.deepEqual(limits, [{ limit: 'pending-global-requests', max: 2, name: 'slow1@test' }]);
  received[0]!.reply(true);
  const deadline = Date.now() + 5000;
  while (received.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(received.length, 3);
  for (let i = 1; i < 5; i++) {
    while (received.length <= i && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    received[i]!.reply(false);
  }
  assert.deepEqual((await Promise.all(replies)).map((r) => r.success), [true, false, false, false, false]);
  clientTransport.disconnect();
});

test('an exception in a contained callback ends only that connection, with a DISCONNECT', async () => {
  const { server, clientTransport } = await pair({});
  const faults: Error[] = [];
  server.on('fault', (fault: Error) => faults.push(fault));
  const callback = server.contain(() => {
    throw new TypeError('boom');
  });
  setImmediate(callback);
  const error = await clientTransport.closed;
  assert.ok(error instanceof DisconnectError, String(error));
  assert.equal(error.reason, DISCONNECT_REASON.BY_APPLICATION);
  assert.equal(error.byPeer, true);
  assert.equal(faults.length, 1);
  assert.match(faults[0]!.message, /^internal error: boom$/);
});
