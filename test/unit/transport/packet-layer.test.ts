/**
 * The packet layer's send path (issue 17): messages encoded straight into the sealer's plaintext buffer
 * (writeEncoded) and finished payloads (write) interleave in order under every cipher and under zlib
 * compression, and the packets written in one tick leave in one writev (or, with eager data writes, one by
 * one while the stream takes them).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Duplex, duplexPair } from 'node:stream';
import { createOpener, createSealer } from '../../../src/crypto/cipher/index.ts';
import type { DirectionKeys } from '../../../src/crypto/cipher/index.ts';
import { PacketLayer } from '../../../src/transport/packet-layer.ts';
import { SSH_MSG } from '../../../src/wire/message-numbers.ts';
import { keysFor } from '../../helpers/cipher-keys.ts';

const ignore = (): void => {};


function layer(stream: Duplex, onPacket: (payload: Buffer) => void = ignore): PacketLayer {
  return new PacketLayer({ stream, onPacket, afterInput: ignore, onError: (error) => assert.fail(error), debug: ignore });
}

/** CHANNEL_DATA for `data`, written in place the way channel.ts does it. */
function channelData(data: Buffer): [number, (target: Buffer, at: number) => void] {
  return [
    9 + data.length,
    (target, at) => {
      target[at] = SSH_MSG.CHANNEL_DATA;
      target.writeUInt32BE(7, at + 1);
      target.writeUInt32BE(data.length, at + 5);
      target.set(data, at + 9);
    },
  ];
}

/** Sends `count` messages alternating between the two write paths; resolves with what arrived. */
async function roundTrip(keys: DirectionKeys | null, compression: string, count: number): Promise<{ sent: Buffer[]; received: Buffer[] }> {
  const [a, b] = duplexPair();
  const received: Buffer[] = [];
  const sender = layer(a);
  const receiver = layer(b, (payload) => received.push(Buffer.from(payload)));
  b.on('data', (chunk: Buffer) => receiver.receive(chunk));
  if (keys) {
    sender.newOutgoingKeys(createSealer(keys), compression, true);
    receiver.newIncomingKeys(createOpener(keys), compression, true);
  }
  const sent: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const data = randomBytes((i * 4099) % 33_000);
    if (i % 2 === 0) {
      const [length, encode] = channelData(data);
      sender.writeEncoded(length, encode);
      const message = Buffer.alloc(length);
      encode(message, 0);
      sent.push(message);
    } else {
      // SSH_MSG_IGNORE carrying the data as its string (RFC 4253 §11.2).
      const message = Buffer.alloc(5 + data.length);
      message[0] = SSH_MSG.IGNORE;
      message.writeUInt32BE(data.length, 1);
      data.copy(message, 5);
      sender.write(message);
      sent.push(message);
    }
  }
  for (let wait = 0; wait < 200 && received.length < count; wait++) await new Promise((resolve) => setTimeout(resolve, 10));
  sender.close();
  receiver.close();
  a.destroy();
  b.destroy();
  return { sent, received };
}

describe('packet layer send path', () => {
  const suites: [string, DirectionKeys | null][] = [
    ['none (before the first key exchange)', null],
    ['chacha20-poly1305@openssh.com', keysFor('chacha20-poly1305@openssh.com', '')],
    ['aes256-gcm@openssh.com', keysFor('aes256-gcm@openssh.com', '')],
    ['aes128-ctr + hmac-sha2-256-etm@openssh.com', keysFor('aes128-ctr', 'hmac-sha2-256-etm@openssh.com')],
    ['aes192-ctr + hmac-sha2-512', keysFor('aes192-ctr', 'hmac-sha2-512')],
  ];
  for (const [name, keys] of suites) {
    it(`${name}: encoded and finished messages arrive complete and in order`, async () => {
      const { sent, received } = await roundTrip(keys, 'none', 60);
      assert.equal(received.length, sent.length);
      received.forEach((payload, i) => assert.deepEqual(payload, sent[i], `message ${i}`));
    });
  }

  it('zlib: encoded messages are compressed like finished ones and arrive intact', async () => {
    const { sent, received } = await roundTrip(keysFor('chacha20-poly1305@openssh.com', ''), 'zlib', 40);
    assert.equal(received.length, sent.length);
    received.forEach((payload, i) => assert.deepEqual(payload, sent[i], `message ${i}`));
  });

  /**
   * A stream that records how many buffers each write it gets carries; `takes(n)` says whether its n-th
   * single write is taken at once (its callback called before it returns) or held back to the next turn.
   */
  function recordingStream(takes: (write: number) => boolean = () => true): { stream: Duplex; batches: number[] } {
    const batches: number[] = [];
    let writes = 0;
    const stream = new Duplex({
      read: ignore,
      writev(chunks, callback) {
        batches.push(chunks.length);
        callback();
      },
      write(_chunk, _encoding, callback) {
        batches.push(1);
        if (takes(++writes)) callback();
        else setImmediate(callback);
      },
    });
    return { stream, batches };
  }

  it('packets written in one tick leave in one writev', async () => {
    const { stream, batches } = recordingStream();
    const sender = layer(stream);
    sender.newOutgoingKeys(createSealer(keysFor('aes128-gcm@openssh.com', '')), 'none', true);
    for (let i = 0; i < 50; i++) {
      const [length, encode] = channelData(randomBytes(1000));
      sender.writeEncoded(length, encode);
    }
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(batches.length, 1, `batches: ${batches.join(', ')}`);
    assert.ok(batches[0]! >= 50, `${batches[0]} buffers for 50 packets`);
    sender.close();
    stream.destroy();
  });

  it('eager data writes: one by one while the stream takes each whole, then the rest of the tick in one writev', async () => {
    // The first five are taken at once; the sixth is held back, as a socket whose peer lags holds it.
    const { stream, batches } = recordingStream((write) => write <= 5);
    const sender = layer(stream);
    sender.newOutgoingKeys(createSealer(keysFor('aes128-gcm@openssh.com', '')), 'none', true, true);
    for (let i = 0; i < 20; i++) {
      const [length, encode] = channelData(randomBytes(1000));
      sender.writeEncoded(length, encode);
    }
    for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(batches, [1, 1, 1, 1, 1, 1, 14]);
    sender.close();
    stream.destroy();
  });
});
