/**
 * Channel data written straight to a socket's descriptor (issue 17): data lent from a buffer that is
 * overwritten after every packet still arrives byte-exact at a reader that is slower than the sender, the
 * window is held while the socket's own stream has a backlog, and the channel's EOF ends the socket after
 * the last byte; with a framing, every piece arrives whole behind its header, however the writes were cut.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { Channel, type ChannelHost } from '../../../src/connection/channel.ts';
import { consumeInto, type DataFraming } from '../../../src/connection/descriptor-writes.ts';
import { SSH_MSG } from '../../../src/wire/message-numbers.ts';
import { handleRead } from '../../../src/transport/read-batch.ts';

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

/** Reassembles frames of a 4-byte length and a type byte 0x46: the data, and the length of every piece. */
function unframe(stream: Buffer): { data: Buffer; pieces: number[] } {
  const parts: Buffer[] = [];
  const pieces: number[] = [];
  for (let at = 0; at < stream.length; ) {
    const length = stream.readUInt32BE(at);
    assert.equal(stream[at + 4], 0x46, `a frame header at ${at}`);
    assert.ok(at + 4 + length <= stream.length, 'the last frame is whole');
    parts.push(stream.subarray(at + 5, at + 4 + length));
    pieces.push(length - 1);
    at += 4 + length;
  }
  return { data: Buffer.concat(parts), pieces };
}

const FRAMING: DataFraming = {
  maxData: 10_000,
  header: (length) => {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(length + 1);
    header[4] = 0x46;
    return header;
  },
};

test('lent data reaches a slow reader intact, the window waits for it, and EOF follows the last byte', async () => {
  const received = await consumeThroughSlowReader(undefined);
  assert.equal(received.length, SENT.length);
  assert.equal(createHash('sha256').update(received).digest('hex'), createHash('sha256').update(SENT).digest('hex'));
});

test('framed: each piece of at most maxData bytes arrives behind its own header, in order, byte-exact', async () => {
  const { data, pieces } = unframe(await consumeThroughSlowReader(FRAMING));
  assert.equal(data.length, SENT.length);
  assert.ok(data.equals(SENT), 'the data reassembled from the frames is what was sent');
  assert.ok(pieces.every((length) => length > 0 && length <= FRAMING.maxData), 'no piece is empty or over maxData');
  assert.ok(pieces.length >= SENT.length / FRAMING.maxData, 'the 32 KiB packets were cut into pieces');
});

test('the packets of one socket read are written together after it, from the read buffer, and arrive byte-exact', async () => {
  // Eight 32 KiB packets lent from one 256 KiB read buffer, scribbled over once the read has been handled:
  // what the descriptor did not take at once (the reader is slow at first) must have been copied by then.
  const received = await consumeThroughSlowReader(undefined, 8);
  assert.equal(received.length, SENT.length);
  assert.ok(received.equals(SENT), 'in order and byte-exact');
});

test('framed, several packets a read: headers and pieces written together after it arrive whole and in order', async () => {
  // The holder's input frames: each piece's header is kept beside the lent piece until the read ends.
  const { data, pieces } = unframe(await consumeThroughSlowReader(FRAMING, 8));
  assert.ok(data.equals(SENT), 'the data reassembled from the frames is what was sent');
  assert.ok(pieces.every((length) => length > 0 && length <= FRAMING.maxData), 'no piece is empty or over maxData');
});

const SENT = randomBytes(8 * 1024 * 1024);

/**
 * Sends SENT through a channel consumed into a TCP socket whose reader pauses first; what the reader got.
 * `perRead`: packets lent from one read buffer at a time, handled as the packet layer handles a read.
 */
async function consumeThroughSlowReader(framing: DataFraming | undefined, perRead = 1): Promise<Buffer> {
  const data = SENT;
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
    assert.ok(consumeInto(channel, socket, framing), 'a connected socket has a descriptor');
    // As bridge() does: the channel's EOF ends the socket, after every byte consumed.
    channel.once('end', () => socket.end());

    // The reader: slow at first (paused for a while), then drains everything.
    const chunks: Buffer[] = [];
    const done = new Promise<void>((resolve) => peer.on('end', resolve));
    peer.on('data', (chunk: Buffer) => chunks.push(chunk));
    peer.pause();

    // The sender: 32 KiB packets lent from one buffer that is scribbled over after each, within the window.
    const packetSize = 32 * 1024;
    const lent = Buffer.alloc(packetSize * perRead);
    let sent = 0;
    let heldAt = -1;
    const sendOneRead = () => {
      for (let packet = 0; packet < perRead && sent < data.length && sent < host.granted + window; packet++) {
        const size = Math.min(packetSize, data.length - sent, host.granted + window - sent);
        const slice = lent.subarray(packet * packetSize, packet * packetSize + size);
        data.copy(slice, 0, sent, sent + size);
        channel.receiveData(slice, undefined, true);
        sent += size;
      }
    };
    const sendWithinWindow = () => {
      while (sent < data.length && sent < host.granted + window) {
        if (perRead === 1) sendOneRead();
        else handleRead(sendOneRead);
        lent.fill(0x5a);
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
    return Buffer.concat(chunks);
  } finally {
    socket.destroy();
    peer.destroy();
    server.close();
  }
}
