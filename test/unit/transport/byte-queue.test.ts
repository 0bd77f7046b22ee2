/**
 * Re-assembly of received packets (issue 17): ByteQueue hands out views of one chunk and copies slices that
 * span chunks (into a reused buffer when given one), and the packet layer's receive path delivers every
 * payload intact whatever the chunk boundaries, under every cipher, even when the payloads are kept until the
 * end: only channel data may lie in reused memory (said so by `borrowed`), and input that arrives in a buffer
 * its reader reuses is copied where it must be.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { createNoneSealer, createOpener, createSealer } from '../../../src/crypto/cipher/index.ts';
import type { DirectionKeys } from '../../../src/crypto/cipher/index.ts';
import { ByteQueue } from '../../../src/transport/byte-queue.ts';
import { PacketLayer } from '../../../src/transport/packet-layer.ts';
import { keysFor } from '../../helpers/cipher-keys.ts';

const ignore = (): void => {};

describe('ByteQueue', () => {
  it('returns views inside a chunk and copies across chunks, leaving earlier views intact', () => {
    const queue = new ByteQueue();
    const first = Buffer.from('abcdef');
    queue.push(first);
    queue.push(Buffer.from('ghij'));
    queue.push(Buffer.from('klmnop'));
    assert.equal(queue.length, 16);
    assert.equal(queue.contiguous, 6);
    const view = queue.take(4);
    assert.equal(view.toString(), 'abcd');
    assert.equal(view.buffer, first.buffer, 'a slice inside one chunk is a view, not a copy');
    const scratch = Buffer.alloc(32);
    assert.equal(queue.peek(7, scratch).toString(), 'efghijk');
    const spanning = queue.take(7, scratch);
    assert.equal(spanning.toString(), 'efghijk');
    assert.equal(spanning.buffer, scratch.buffer, 'a spanning slice is copied into the scratch buffer');
    assert.equal(view.toString(), 'abcd');
    assert.equal(queue.length, 5);
    assert.equal(queue.take(5, Buffer.alloc(2)).toString(), 'lmnop', 'a scratch buffer too small is not used');
    assert.equal(queue.length, 0);
    assert.equal(queue.contiguous, 0);
    assert.throws(() => queue.take(1), RangeError);
  });

  it('keeps order over many chunks and consumptions', () => {
    const queue = new ByteQueue();
    const data = randomBytes(200_000);
    for (let at = 0; at < data.length; ) {
      const size = 1 + ((at * 7919) % 997);
      queue.push(data.subarray(at, at + size));
      at += size;
    }
    const scratch = Buffer.alloc(5000);
    const out: Buffer[] = [];
    for (let i = 0; queue.length > 0; i++) out.push(Buffer.from(queue.take(Math.min(queue.length, 1 + ((i * 104_729) % 4999)), scratch)));
    assert.ok(Buffer.concat(out).equals(data));
  });
});


describe('packet layer receive path', () => {
  const cases: Array<[string, DirectionKeys | null]> = [
    ['none', null],
    ['chacha20-poly1305@openssh.com', keysFor('chacha20-poly1305@openssh.com', '')],
    ['aes128-gcm@openssh.com', keysFor('aes128-gcm@openssh.com', '')],
    ['aes128-ctr + hmac-sha2-256-etm', keysFor('aes128-ctr', 'hmac-sha2-256-etm@openssh.com')],
    ['aes128-ctr + hmac-sha2-256', keysFor('aes128-ctr', 'hmac-sha2-256')],
  ];
  for (const [name, keys] of cases) {
    for (const borrowedInput of [false, true]) it(`delivers payloads intact across any chunk boundaries (${name}${borrowedInput ? ', input in a reused buffer' : ''})`, () => {
      const sealer = keys ? createSealer(keys) : undefined;
      const payloads = Array.from({ length: 60 }, (_, i) => randomBytes(1 + ((i * 4099) % 33_000)));
      // Every third a channel data message (RFC 4254 §5.2 numbers), which the packet layer may lend.
      for (const [i, payload] of payloads.entries()) if (i % 3 === 0) payload[0] = i % 2 === 0 ? 94 : 95;
      for (const [i, payload] of payloads.entries()) if (i % 3 !== 0 && (payload[0] === 94 || payload[0] === 95)) payload[0] = 2;
      const wire = Buffer.concat(
        payloads.map((payload, sequence) => (sealer ? sealer.seal(sequence, payload) : noneSeal(sequence, payload))),
      );
      const received: Buffer[] = [];
      let borrowedCount = 0;
      const receiver = new PacketLayer({
        stream: new PassThrough(),
        // A borrowed payload is valid only during the call (channel data, whose consumer takes or copies it).
        onPacket: (payload, borrowed) => {
          if (borrowed) {
            assert.ok(payload[0] === 94 || payload[0] === 95, 'only channel data is lent');
            borrowedCount++;
          }
          received.push(borrowed ? Buffer.from(payload) : payload);
        },
        afterInput: ignore,
        onError: (error) => assert.fail(error),
        debug: ignore,
      });
      if (keys) receiver.newIncomingKeys(createOpener(keys), 'none', true);
      // Chunks of irregular sizes (1 byte to 64 KiB), so that packets and headers span chunks at every offset.
      // Borrowed, each lands in one buffer that is scribbled over once receive() returns, as a socket's next read would.
      const reused = Buffer.alloc(65_536);
      for (let at = 0, i = 0; at < wire.length; i++) {
        const size = i % 5 === 0 ? 1 + (i % 7) : 1 + ((i * 48_271) % 65_536);
        const piece = wire.subarray(at, at + size);
        if (borrowedInput) {
          piece.copy(reused);
          receiver.receive(reused.subarray(0, piece.length), true);
          reused.fill(0xa5);
        } else {
          receiver.receive(piece);
        }
        at += size;
      }
      assert.equal(received.length, payloads.length);
      const channelData = payloads.filter((payload) => payload[0] === 94 || payload[0] === 95).length;
      if (borrowedInput) assert.equal(borrowedCount, channelData, 'all channel data from reused input is lent');
      // Compared only now: a payload left in the reused re-assembly buffer would have been overwritten.
      for (let i = 0; i < payloads.length; i++) assert.ok(received[i]!.equals(payloads[i]!), `payload ${i}`);
      receiver.close();
    });
  }
});

const noneSealer = createNoneSealer();
/** A packet before any keys (RFC 4253 §6). */
function noneSeal(sequence: number, payload: Buffer): Buffer {
  return noneSealer.seal(sequence, payload);
}
