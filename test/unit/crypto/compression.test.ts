import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { constants, deflateSync, inflateSync } from 'node:zlib';
import {
  COMPRESSIONS,
  MAX_DECOMPRESSED_PAYLOAD,
  createCompressor,
  createDecompressor,
} from '../../../src/crypto/compression.ts';
import { DecodeError } from '../../../src/wire/errors.ts';

/** Mixed payloads: text that compresses, random bytes that do not, empty, and large. */
function payloads(): Buffer[] {
  const text = Buffer.from('SSH_MSG_CHANNEL_DATA ls -la /usr/share/doc\n'.repeat(50));
  return [text, Buffer.alloc(0), randomBytes(100), text, Buffer.alloc(40000, 0x41), randomBytes(70000), text.subarray(0, 7)];
}

describe('zlib compression', () => {
  it('returns null for none and rejects unknown names', () => {
    assert.equal(createCompressor('none'), null);
    assert.equal(createDecompressor('none'), null);
    assert.throws(() => createCompressor('zstd'), RangeError);
    assert.deepEqual([...COMPRESSIONS], ['none', 'zlib@openssh.com', 'zlib']);
  });

  for (const name of ['zlib@openssh.com', 'zlib']) {
    it(`${name}: round-trips many packets through one persistent stream per direction`, () => {
      const compressor = createCompressor(name)!;
      const decompressor = createDecompressor(name)!;
      for (let round = 0; round < 5; round++) {
        for (const payload of payloads()) {
          const compressed = compressor.compress(payload);
          assert.deepEqual(decompressor.decompress(compressed), payload);
        }
      }
      compressor.close();
      decompressor.close();
    });
  }

  it('keeps the dictionary across packets (a repeated payload shrinks to a back-reference)', () => {
    const compressor = createCompressor('zlib@openssh.com')!;
    const payload = randomBytes(2000);
    const first = compressor.compress(payload);
    const second = compressor.compress(payload);
    assert.ok(first.length > 2000);
    assert.ok(second.length < 50, `second copy took ${second.length} bytes`);
    compressor.close();
  });

  it('emits a standard zlib stream flushed at every packet boundary', () => {
    // Concatenating all packets must inflate, with Node's own one-shot API, to all payloads in order; and
    // every prefix ending at a packet boundary must inflate to exactly the payloads so far.
    const compressor = createCompressor('zlib')!;
    const sent = payloads();
    const pieces = sent.map((payload) => compressor.compress(payload));
    for (let count = 1; count <= pieces.length; count++) {
      const inflated = inflateSync(Buffer.concat(pieces.slice(0, count)), { finishFlush: constants.Z_SYNC_FLUSH });
      assert.deepEqual(inflated, Buffer.concat(sent.slice(0, count)));
    }
    compressor.close();
  });

  it('inflates a stream produced by another deflater (level 9, sync flush)', () => {
    const decompressor = createDecompressor('zlib@openssh.com')!;
    const payload = Buffer.from('hello, world '.repeat(300));
    // One complete stream in a single packet is still a valid prefix of an SSH stream.
    const compressed = deflateSync(payload, { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
    assert.deepEqual(decompressor.decompress(compressed), payload);
    decompressor.close();
  });

  it('refuses to inflate a compression bomb beyond the per-packet cap', () => {
    const compressor = createCompressor('zlib@openssh.com')!;
    const bomb = compressor.compress(Buffer.alloc(MAX_DECOMPRESSED_PAYLOAD + 1));
    assert.ok(bomb.length < 2000);
    const decompressor = createDecompressor('zlib@openssh.com')!;
    assert.throws(() => decompressor.decompress(bomb), DecodeError);
    // The stream is dead afterwards: nothing more can be inflated from it.
    assert.throws(() => decompressor.decompress(compressor.compress(Buffer.from('x'))), DecodeError);
    compressor.close();
  });

  it('accepts exactly the cap', () => {
    const compressor = createCompressor('zlib@openssh.com')!;
    const decompressor = createDecompressor('zlib@openssh.com')!;
    const payload = Buffer.alloc(MAX_DECOMPRESSED_PAYLOAD, 7);
    assert.deepEqual(decompressor.decompress(compressor.compress(payload)), payload);
    compressor.close();
    decompressor.close();
  });

  it('reports corrupt input as DecodeError without crashing the process', async () => {
    const decompressor = createDecompressor('zlib')!;
    assert.throws(() => decompressor.decompress(Buffer.from('this is not a zlib stream at all')), DecodeError);
    assert.throws(() => decompressor.decompress(Buffer.from('more')), DecodeError);
    // Let any deferred 'error' event fire; an unhandled one would fail the test run.
    await new Promise((resolve) => setImmediate(resolve));
  });
});
