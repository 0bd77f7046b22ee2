/**
 * The holder's ring log (src/sessions/holder/output-log.ts): absolute offsets survive wrapping, reads from
 * an overwritten offset are clamped to the oldest byte held, and an oversized write keeps only its tail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OutputLog } from '../../../src/sessions/holder/output-log.ts';

function bytes(from: number, to: number): Buffer {
  return Buffer.from(Array.from({ length: to - from }, (_, i) => (from + i) % 251));
}

test('offsets are absolute and reads return exactly the bytes asked for, across the wrap', () => {
  const log = new OutputLog(10_000);
  let written = 0;
  for (const size of [3000, 4096, 1, 5000, 7777, 2]) {
    log.append(bytes(written, written + size));
    written += size;
  }
  assert.equal(log.end, written);
  assert.equal(log.start, written - 10_000);
  const read = log.read(written - 6000, 4000);
  assert.equal(read.offset, written - 6000);
  assert.deepEqual(read.data, bytes(written - 6000, written - 2000));
  assert.deepEqual(log.read(written, 100).data.length, 0);
});

test('a read from before the start is clamped: the gap is visible in the returned offset', () => {
  const log = new OutputLog(1024);
  log.append(bytes(0, 5000));
  const read = log.read(100, 64 * 1024);
  assert.equal(read.offset, 5000 - 1024);
  assert.deepEqual(read.data, bytes(5000 - 1024, 5000));
  assert.equal(log.clamp(99_999), 5000);
});

test('a write larger than the log keeps its last bytes and counts all of them', () => {
  const log = new OutputLog(1024);
  log.append(bytes(0, 10));
  log.append(bytes(10, 3000));
  assert.equal(log.end, 3000);
  assert.deepEqual(log.read(0, 2000).data, bytes(3000 - 1024, 3000));
});

test('the ring grows with the output and starts small', () => {
  const log = new OutputLog(1024 * 1024);
  log.append(Buffer.from('hello'));
  assert.ok((log as unknown as { ring: Buffer }).ring.length <= 4096);
  log.append(bytes(5, 100_000));
  assert.deepEqual(log.read(0, 5).data, Buffer.from('hello'));
  assert.deepEqual(log.read(5, 200_000).data, bytes(5, 100_000));
});

test('view() returns the bytes without a copy, ending at the wrap', () => {
  const log = new OutputLog(1000);
  log.append(bytes(0, 1600));
  // Offsets 600..999 sit at the ring's end, 1000..1599 at its start.
  const first = log.view(700, 10_000);
  assert.equal(first.offset, 700);
  assert.deepEqual(first.data, bytes(700, 1000));
  assert.equal(first.data.buffer, (log as unknown as { ring: Buffer }).ring.buffer, 'a view of the ring');
  const second = log.view(1000, 10_000);
  assert.deepEqual(second.data, bytes(1000, 1600));
  assert.equal(log.view(100, 50).offset, 600, 'clamped to the oldest byte held');
});

test('a pinned view keeps its bytes when later output overwrites them; a released one does not cost a copy', () => {
  const log = new OutputLog(1000);
  log.append(bytes(0, 1000));
  const pinned = log.view(0, 500);
  const release = log.pin(0);
  log.append(bytes(1000, 1300));
  assert.deepEqual(pinned.data, bytes(0, 500), 'the queued bytes did not change');
  assert.deepEqual(log.read(1000, 300).data, bytes(1000, 1300));
  release();
  const ring = (log as unknown as { ring: Buffer }).ring;
  const later = log.view(1300, 100);
  const releaseLater = log.pin(1300);
  releaseLater();
  log.append(bytes(1300, 2300));
  assert.equal((log as unknown as { ring: Buffer }).ring, ring, 'no pins left: written in place');
  assert.deepEqual(log.read(1300, 1000).data, bytes(1300, 2300));
  assert.equal(later.offset, 1300);
});
