/**
 * Channel data written straight to a socket's descriptor (issue 17): data lent from a buffer that is
 * overwritten after every packet still arrives byte-exact at a reader that is slower than the sender, the
 * window is held while the socket's own stream has a backlog, and the channel's EOF ends the socket after
 * the last byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { Channel, type ChannelHost } from '../../../src/connection/channel.ts';
import { consumeInto } from '../../../src/connection/descriptor-writes.ts';
import { SSH_MSG } from '../../../src/wire/message-numbers.ts';

function adjustingHost(): ChannelHost & { granted: number } {
  return {
    granted: 0,
    send(payload: Buffer) {
      if (payload[0] === SSH_MSG.CHANNEL_WINDOW_ADJUST) this.granted += payload.readUInt32BE(5);
      return true;
    },
    transportWritable: true,
    onceTransportDrain() {},
    releaseChannel() {},
  };
}

test('lent data reaches a slow reader intact, the window waits for it, and EOF follows the last byte', async () => {
  const data = randomBytes(8 * 1024 * 1024);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  await new Promise((resolve) => socket.once('connect', resolve));
  const peer = await accepted;
  try {
    const host = adjustingHost();
    const window = 1024 * 1024;
    const channel = new Channel(host, 'direct-tcpip', 0, window, 32 * 1024);
    channel.attach(3, 0, 32 * 1024);
    assert.ok(consumeInto(channel, socket), 'a connected socket has a descriptor');
    // As bridge() does: the channel's EOF ends the socket, after every byte consumed.
    channel.once('end', () => socket.end());

    // The reader: slow at first (paused for a while), then drains everything.
    const hash = createHash('sha256');
    let received = 0;
    const done = new Promise<void>((resolve) => peer.on('end', resolve));
    peer.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      received += chunk.length;
    });
    peer.pause();

    // The sender: 32 KiB packets lent from one buffer that is scribbled over after each, within the window.
    const lent = Buffer.alloc(32 * 1024);
    let sent = 0;
    let heldAt = -1;
    const sendWithinWindow = () => {
      while (sent < data.length && sent < host.granted + window) {
        const size = Math.min(lent.length, data.length - sent, host.granted + window - sent);
        data.copy(lent, 0, sent, sent + size);
        channel.receiveData(lent.subarray(0, size), undefined, true);
        lent.fill(0x5a);
        sent += size;
      }
    };
    sendWithinWindow();
    heldAt = sent;
    assert.ok(heldAt < data.length, 'the paused reader holds the sender at its window');
    await new Promise((resolve) => setTimeout(resolve, 200));
    sendWithinWindow();
    assert.equal(sent, heldAt, 'no window is granted while the socket has a backlog');
    peer.resume();
    for (let i = 0; i < 2000 && sent < data.length; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      sendWithinWindow();
    }
    assert.equal(sent, data.length, 'the window reopened as the reader drained');
    channel.receiveEof();
    await done;
    assert.equal(received, data.length);
    assert.equal(hash.digest('hex'), createHash('sha256').update(data).digest('hex'));
  } finally {
    socket.destroy();
    peer.destroy();
    server.close();
  }
});
