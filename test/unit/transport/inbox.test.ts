/**
 * PacketInbox is bounded (issue 21): a peer sending packets faster than the sequential reader takes them
 * (thousands of large banners while a password prompt waits) pauses the transport once about 1 MiB waits,
 * and everything still arrives, in order, as the reader catches up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { duplexPair } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Transport } from '../../../src/transport/transport.ts';
import { INBOX_HIGH_WATER, PacketInbox } from '../../../src/transport/inbox.ts';
import { generatePrivateKey } from '../../../src/keys/index.ts';
import { Writer } from '../../../src/wire/writer.ts';
import { SSH_MSG } from '../../../src/wire/message-numbers.ts';

test('a flood of large banners while nobody reads the inbox: bounded, then delivered in order', async () => {
  const [clientSide, serverSide] = duplexPair();
  const client = new Transport({ role: 'client', stream: clientSide, verifyHostKey: () => {} });
  const server = new Transport({ role: 'server', stream: serverSide, hostKeys: [generatePrivateKey('ed25519')] });
  await Promise.all([client.ready, server.ready]);
  const inbox = new PacketInbox(client);
  const COUNT = 600;
  const banner = (index: number) =>
    Buffer.from(new Writer().byte(SSH_MSG.USERAUTH_BANNER).string(`${index}:`.padEnd(32 * 1024, 'x')).string('').finish());
  for (let i = 0; i < COUNT; i++) server.send(banner(i));
  await sleep(500);
  assert.ok(inbox.queued <= INBOX_HIGH_WATER + 64 * 1024, `${inbox.queued} bytes queued in the inbox`);
  for (let i = 0; i < COUNT; i++) {
    const payload = await inbox.next();
    assert.equal(payload[0], SSH_MSG.USERAUTH_BANNER);
    assert.ok(payload.subarray(5, 5 + `${i}:`.length).toString() === `${i}:`, `banner ${i} in order`);
  }
  client.disconnect();
});
