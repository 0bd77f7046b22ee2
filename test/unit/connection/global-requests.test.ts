/**
 * RFC 4254 §4: global-request replies carry no id, so they must reach the requester in request order even
 * when the handler answers a later request first (tcpip-forward answers only after binding). Client and
 * server connections in one process over an in-memory stream pair.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { duplexPair } from 'node:stream';
import { Transport } from '../../../src/transport/transport.ts';
import { Connection, type IncomingGlobalRequest } from '../../../src/connection/connection.ts';
import { generatePrivateKey } from '../../../src/keys/index.ts';

test('a later quick answer waits for an earlier slow one; repeated and unwanted answers send nothing', async () => {
  const [clientSide, serverSide] = duplexPair();
  const clientTransport = new Transport({ role: 'client', stream: clientSide, verifyHostKey: () => {} });
  const serverTransport = new Transport({ role: 'server', stream: serverSide, hostKeys: [generatePrivateKey('ed25519')] });
  await Promise.all([clientTransport.ready, serverTransport.ready]);
  const client = new Connection(clientTransport);
  const server = new Connection(serverTransport);

  const received: IncomingGlobalRequest[] = [];
  server.onGlobalRequest = (request) => {
    received.push(request);
    if (request.name === 'quick@test') request.reply(true, Buffer.from('quick'));
    if (request.name === 'unwanted@test') request.reply(true);
  };
  const answers: string[] = [];
  const slow = client.globalRequest('slow@test').then((r) => answers.push(`slow:${r.success}:${r.data.toString()}`));
  void client.globalRequest('unwanted@test', Buffer.alloc(0), false);
  const quick = client.globalRequest('quick@test').then((r) => answers.push(`quick:${r.success}:${r.data.toString()}`));

  const deadline = Date.now() + 5000;
  while (received.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(received.length, 3);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(answers, [], 'the quick reply is held back behind the slow request');

  const slowRequest = received.find((r) => r.name === 'slow@test')!;
  slowRequest.reply(true, Buffer.from('slow'));
  slowRequest.reply(false); // a second answer is ignored
  await Promise.all([slow, quick]);
  assert.deepEqual(answers, ['slow:true:slow', 'quick:true:quick']);
  clientTransport.disconnect();
});
