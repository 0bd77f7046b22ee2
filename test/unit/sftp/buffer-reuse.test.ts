/**
 * The bulk path without per-packet copies or allocations (issue 20, "Speed"): the packet parser copies each
 * byte at most once (whole packets stay views of their chunk, spanning ones go into one pooled buffer), WRITE
 * packets are built around data read in place, and pooled buffers come back only once nothing holds them —
 * checked end to end, client and server reusing buffers over a stream that takes its writes late.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeRequest, encodeStatus, encodeWrite, finishWritePacket, PacketBufferPool, SftpPacketParser, SSH_FXP, writeDataOffset,
} from '../../../src/sftp/protocol.ts';
import { fastGet, fastPut, SftpClient } from '../../../src/sftp/client/index.ts';
import { createSftpLog } from '../../../src/sftp/server/log.ts';
import { SftpServerSession } from '../../../src/sftp/server/session.ts';

const dir = mkdtempSync(join(tmpdir(), 'tether-sftp-reuse-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** An SFTP packet (length field included) whose payload is `type` followed by `body`. */
function packet(type: number, body: Buffer): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(1 + body.length, 0);
  out[4] = type;
  body.copy(out, 5);
  return out;
}

test('the parser assembles a spanning packet once, in a pooled buffer, and leaves whole ones as views of their chunk', () => {
  const pool = new PacketBufferPool(300 * 1024, 4);
  const parser = new SftpPacketParser(undefined, pool);
  const big = packet(SSH_FXP.DATA, randomBytes(255 * 1024));
  const small = packet(SSH_FXP.STATUS, Buffer.from('after'));
  // The big packet arrives in 32 KiB pieces, as channel data does; the last piece also carries a whole small one.
  const pieces: Buffer[] = [];
  for (let at = 0; at < big.length; at += 32 * 1024) pieces.push(big.subarray(at, at + 32 * 1024));
  const last = Buffer.concat([pieces.pop()!, small]);
  for (const piece of pieces) assert.deepEqual(parser.push(piece), []);
  assert.equal(parser.buffered, big.length - big.length % (32 * 1024));
  const [assembled, whole, ...rest] = parser.push(last);
  assert.equal(rest.length, 0);
  assert.ok(assembled!.equals(big.subarray(4)));
  assert.ok(pool.owns(assembled!), 'a spanning data packet is assembled in a pooled buffer');
  assert.ok(whole!.equals(small.subarray(4)));
  assert.equal(whole!.buffer, last.buffer, 'a packet inside one chunk is a view of it, not a copy');
  assert.equal(parser.buffered, 0);
});

test('a borrowed chunk leaves no view behind: packets whole inside it are copied out, large ones into the pool', () => {
  const pool = new PacketBufferPool(64 * 1024, 4);
  const parser = new SftpPacketParser(undefined, pool);
  const small = packet(SSH_FXP.STATUS, Buffer.from('status'));
  const large = packet(SSH_FXP.DATA, randomBytes(20 * 1024));
  // One chunk as a channel consumer gets it: memory the channel reuses as soon as push() returns.
  const chunk = Buffer.concat([small, large, small.subarray(0, 7)]);
  const [first, second, ...rest] = parser.push(chunk, true);
  assert.equal(rest.length, 0);
  assert.ok(pool.owns(second!), 'a large one is copied into a pooled buffer');
  // Small ones may share Node's allocation pool with the chunk: what matters is that overwriting it leaves them.
  chunk.fill(0);
  assert.ok(first!.equals(small.subarray(4)) && second!.equals(large.subarray(4)), 'the packets outlive the chunk');
  const [tail] = parser.push(Buffer.from(small.subarray(7)), true);
  assert.ok(tail!.equals(small.subarray(4)), 'a packet begun in a borrowed chunk was copied as it came');
});

test('the parser is byte-exact for any split, including a length field cut in two', () => {
  const packets = Array.from({ length: 40 }, (_, index) => packet(SSH_FXP.DATA, randomBytes((index * 7919) % 20_000 + 1)));
  const stream = Buffer.concat(packets);
  for (const sizes of [[3], [4097], [32 * 1024], [5, 20_001, 2]]) {
    const parser = new SftpPacketParser(undefined, new PacketBufferPool(24 * 1024, 2));
    const seen: Buffer[] = [];
    for (let at = 0, turn = 0; at < stream.length; turn++) {
      const size = sizes[turn % sizes.length]!;
      seen.push(...parser.push(stream.subarray(at, at + size)));
      at += size;
    }
    assert.equal(seen.length, packets.length, `split ${sizes}`);
    seen.forEach((payload, index) => assert.ok(payload.equals(packets[index]!.subarray(4)), `split ${sizes}, packet ${index}`));
  }
});

test('a pool takes back only what it lent, and a buffer once per loan', () => {
  const pool = new PacketBufferPool(1024, 4);
  const first = pool.take(100);
  assert.equal(first.length, 100);
  assert.ok(pool.owns(first.subarray(10, 20)));
  pool.release(first.subarray(50));
  assert.equal(pool.owns(first), false);
  pool.release(first); // released already: the free list must not hold it twice
  const second = pool.take(1024);
  assert.equal(second.buffer, first.buffer, 'a released buffer is lent again');
  assert.notEqual(pool.take(10).buffer, second.buffer, 'and only to one borrower');
  pool.release(Buffer.alloc(10)); // not the pool's
  assert.equal(pool.take(2048).length, 2048, 'larger than the pool: a buffer of its own');
  assert.equal(pool.owns(pool.take(2048)), false);
  // After a transfer, trim() keeps only a few of the buffers it had in flight.
  const inFlight = [pool.take(1), pool.take(1), pool.take(1)];
  for (const buffer of inFlight) pool.release(buffer);
  pool.trim(1);
  const stores = new Set(inFlight.map((buffer) => buffer.buffer));
  assert.equal([pool.take(1), pool.take(1), pool.take(1)].filter((buffer) => stores.has(buffer.buffer)).length, 1);
});

test('a WRITE built around data read in place decodes as encodeWrite encodes it, offsets beyond 2^32 included', () => {
  const handle = Buffer.from([0, 0, 0, 9]);
  const data = randomBytes(1000);
  const room = Buffer.alloc(writeDataOffset(handle) + 4096, 0xee);
  data.copy(room, writeDataOffset(handle));
  const offset = 2 ** 40 + 12345;
  const built = finishWritePacket(room, 77, handle, offset, data.length);
  assert.ok(built.equals(encodeWrite(77, handle, offset, data)));
  const request = decodeRequest(built.subarray(4));
  assert.deepEqual(request, { type: SSH_FXP.WRITE, id: 77, handle, offset, data });
  assert.throws(() => finishWritePacket(Buffer.alloc(10), 1, handle, 0, 100), RangeError);
});

/**
 * One end of a pair that takes each write late (a turn of the event loop after write()), copying it before
 * calling back, as a channel copies into its packets: a buffer reused before its callback would show here.
 */
function latePair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const make = (index: number) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        setImmediate(() => {
          ends[1 - index]!.push(Buffer.from(chunk));
          callback();
        });
      },
      final(callback) {
        ends[1 - index]!.push(null);
        callback();
      },
    });
  ends.push(make(0), make(1));
  return [ends[0]!, ends[1]!];
}

test('fastPut and fastGet through the server session, both reusing their buffers, are byte-exact', async () => {
  const [clientEnd, serverEnd] = latePair();
  const session = new SftpServerSession({
    input: serverEnd, output: serverEnd, log: createSftpLog('ERROR', () => {}), root: null, cwd: dir,
    account: { name: 'tester', uid: 0, home: dir }, clientAddress: '127.0.0.1', readOnly: false, outputCopiesWrites: true,
  });
  const done = session.start();
  const client = await SftpClient.open(clientEnd, { streamCopiesWrites: true });
  assert.equal(client.writeSize, 255 * 1024, 'the server\'s limits@openssh.com sets 255 KiB requests');
  const content = randomBytes(6 * 1024 * 1024 + 777);
  writeFileSync(join(dir, 'source'), content);
  await fastPut(client, join(dir, 'source'), join(dir, 'uploaded'));
  assert.ok(readFileSync(join(dir, 'uploaded')).equals(content), 'upload byte-exact');
  await fastGet(client, join(dir, 'uploaded'), join(dir, 'downloaded'));
  assert.ok(readFileSync(join(dir, 'downloaded')).equals(content), 'download byte-exact');
  client.end();
  await done;
  assert.equal(session.exitCode, 0);
});

test('a reply or request that is not a pooled packet is never taken for one', () => {
  const pool = new PacketBufferPool(64 * 1024, 2);
  const status = encodeStatus(1, 0);
  assert.equal(pool.owns(status), false);
  pool.release(status);
  assert.notEqual(pool.take(10).buffer, status.buffer);
});
