/**
 * Data sent into a channel straight from a reader's reused buffer (issue 17): Channel.sendBorrowed copies what
 * must wait, and a bridged socket made with SocketReads delivers everything, including what its peer sent
 * before the bridge existed, then EOF after the last byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo } from 'node:net';
import { Channel, type ChannelHost } from '../../../src/connection/channel.ts';
import { SocketReads } from '../../../src/transport/socket-reads.ts';
import { bridge } from '../../../src/connection/socket-bridge.ts';
import { SSH_MSG } from '../../../src/wire/message-numbers.ts';

/** A host that takes packets while `open` and records each CHANNEL_DATA's bytes and the order of EOF. */
function recordingHost(): ChannelHost & { open: boolean; received: Buffer[]; eofAfter: number; drain(): void } {
  const waiting: Array<() => void> = [];
  return {
    open: true,
    received: [],
    eofAfter: -1,
    send(payload: Buffer) {
      if (payload[0] === SSH_MSG.CHANNEL_DATA) this.received.push(Buffer.from(payload.subarray(9)));
      if (payload[0] === SSH_MSG.CHANNEL_EOF) this.eofAfter = this.received.length;
      return true;
    },
    get transportWritable() {
      return this.open;
    },
    onceTransportDrain(callback: () => void) {
      waiting.push(callback);
    },
    releaseChannel() {},
    drain() {
      this.open = true;
      for (const callback of waiting.splice(0)) callback();
    },
  };
}

test('sendBorrowed sends what the window allows and copies the rest before the caller reuses its buffer', () => {
  const host = recordingHost();
  const channel = new Channel(host, 'session', 0);
  channel.attach(5, 10, 4);
  const buffer = Buffer.from('abcdefghijklmnop');
  let sent = 0;
  assert.equal(channel.sendBorrowed(buffer, () => sent++), false);
  buffer.fill('#');
  assert.deepEqual(host.received.map(String), ['abcd', 'efgh', 'ij']);
  host.open = false;
  channel.receiveWindowAdjust(4);
  assert.equal(sent, 0);
  host.drain();
  channel.receiveWindowAdjust(10);
  assert.deepEqual(host.received.map(String), ['abcd', 'efgh', 'ij', 'klmn', 'op']);
  assert.equal(sent, 1);
  // All of it sendable at once: true, and the callback is not for this call.
  assert.equal(channel.sendBorrowed(Buffer.from('qr'), () => sent++), true);
  assert.equal(sent, 1);
  assert.equal(String(host.received.at(-1)), 'qr');
});

test('a bridged socket read into a reused buffer: early bytes, a small window, then EOF after the last byte', async () => {
  const payload = Buffer.concat([Buffer.from('banner first\n'), randomBytes(3 * 1024 * 1024)]);
  const server = createServer((peer) => peer.end(payload));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const reads = new SocketReads();
    const socket = reads.bind(connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, allowHalfOpen: true, onread: reads.onread }));
    await new Promise((resolve) => socket.once('connect', resolve));
    // The peer speaks before the channel exists.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const host = recordingHost();
    const channel = new Channel(host, 'direct-tcpip', 0);
    channel.attach(9, 100_000, 32 * 1024);
    const done = bridge(socket, channel, reads);
    // Window granted in steps while the transport blocks now and then: reads wait, queued bytes are copies.
    const deadline = Date.now() + 20_000;
    for (let step = 0; host.eofAfter < 0 && Date.now() < deadline; step++) {
      host.open = step % 3 !== 0;
      await new Promise((resolve) => setTimeout(resolve, 1));
      host.drain();
      channel.receiveWindowAdjust(100_000);
    }
    assert.equal(host.eofAfter, host.received.length, 'EOF follows the last data');
    const got = Buffer.concat(host.received);
    assert.equal(got.length, payload.length);
    assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(payload).digest('hex'));
    channel.receiveClose();
    await done;
  } finally {
    server.close();
  }
});
