/**
 * Re-assembly of received packets (issue 17): ByteQueue hands out views of one chunk and copies slices that
 * span chunks (into a reused buffer when given one), and the packet layer's receive path delivers every
 * payload intact whatever the chunk boundaries, under every cipher, even when the payloads are kept (not
 * copied) until the end: none of them may lie in the buffer that is reused for the next packet.
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
    it(`delivers payloads intact across any chunk boundaries (${name})`, () => {
      const sealer = keys ? createSealer(keys) : undefined;
      const payloads = Array.from({ length: 60 }, (_, i) => randomBytes(1 + ((i * 4099) % 33_000)));
      const wire = Buffer.concat(
        payloads.map((payload, sequence) => (sealer ? sealer.seal(sequence, payload) : noneSeal(sequence, payload))),
      );
      const received: Buffer[] = [];
      const receiver = new PacketLayer({
        stream: new PassThrough(),
        onPacket: (payload) => received.push(payload),
        afterInput: ignore,
        onError: (error) => assert.fail(error),
        debug: ignore,
      });
      if (keys) receiver.newIncomingKeys(createOpener(keys), 'none', true);
      // Chunks of irregular sizes (1 byte to 64 KiB), so that packets and headers span chunks at every offset.
      for (let at = 0, i = 0; at < wire.length; i++) {
        const size = i % 5 === 0 ? 1 + (i % 7) : 1 + ((i * 48_271) % 65_536);
        receiver.receive(wire.subarray(at, at + size));
        at += size;
      }
      assert.equal(received.length, payloads.length);
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
