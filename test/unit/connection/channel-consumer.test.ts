/**
 * Channel data taken by a consumer as it arrives (issue 17): what the readable side already holds goes first,
 * borrowed data reaches the consumer as it is but the readable sides only as a copy, a full consumer stops
 * the window from being granted until it drains, and EOF still ends the readable side.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Channel, type ChannelHost } from '../../../src/connection/channel.ts';
import { SSH_MSG } from '../../../src/wire/message-numbers.ts';

/** A host that records the window each CHANNEL_WINDOW_ADJUST grants. */
function adjustingHost(): ChannelHost & { grants: number[] } {
  return {
    grants: [],
    send(payload: Buffer) {
      if (payload[0] === SSH_MSG.CHANNEL_WINDOW_ADJUST) this.grants.push(payload.readUInt32BE(5));
      return true;
    },
    transportWritable: true,
    onceTransportDrain() {},
    releaseChannel() {},
  };
}

test('a consumer takes data in order, borrowed as it is, and holds the window while it is full', async () => {
  const host = adjustingHost();
  const channel = new Channel(host, 'session', 0, 100, 50);
  channel.attach(7, 1000, 1000);
  channel.receiveData(Buffer.from('early '));
  const taken: string[] = [];
  let full = false;
  const borrowedView = Buffer.from('lent');
  channel.consume({
    take(data) {
      taken.push(data.toString());
      return !full;
    },
  });
  channel.receiveData(borrowedView, undefined, true);
  assert.deepEqual(taken, ['early ', 'lent']);

  full = true;
  channel.receiveData(Buffer.alloc(45, 'x'), undefined, true);
  assert.deepEqual(host.grants, [], 'a full consumer gets no more window granted');
  full = false;
  channel.consumerDrained();
  assert.deepEqual(host.grants, [55], 'drained, the consumed bytes are granted back (half the window or more)');

  // Extended data still goes to stderr, and borrowed, as a copy.
  const stderr: Buffer[] = [];
  channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const lent = Buffer.from('warning');
  channel.receiveData(lent, 1, true);
  lent.fill('#');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(Buffer.concat(stderr).toString(), 'warning');

  const ended = once(channel, 'end');
  channel.receiveEof();
  await ended;
});

test('without a consumer, borrowed data is copied before the readable side keeps it', async () => {
  const channel = new Channel(adjustingHost(), 'session', 0);
  channel.attach(1, 1000, 1000);
  const lent = Buffer.from('payload');
  channel.receiveData(lent, undefined, true);
  lent.fill('#');
  channel.receiveEof();
  const chunks: Buffer[] = [];
  for await (const chunk of channel) chunks.push(chunk as Buffer);
  assert.equal(Buffer.concat(chunks).toString(), 'payload');
});
