/**
 * native/fdpass's descriptor calls the bulk paths rely on (issue 17): a pipe widened with widenPipe takes that
 * much before a non-blocking write is refused, write() with a head sends head and data in one writev, and
 * setSendBuffer reports what the kernel granted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, readSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { descriptorOf, fdPass, widenPipe, widenSendBuffer } from '../../../src/crypto/fdpass.ts';

/** Bytes a non-blocking write end takes before EAGAIN (bounded: at most 64 writes of 64 KiB). */
function fill(fd: number): number {
  const block = Buffer.alloc(64 * 1024, 0x61);
  let total = 0;
  for (let i = 0; i < 64; i++) {
    const written = fdPass().write(fd, block);
    if (written < 0) return total;
    total += written;
  }
  return total;
}

test('widenPipe: the pipe then holds 1 MiB, where it held 64 KiB', () => {
  const addon = fdPass();
  const [narrowRead, narrowWrite] = addon.pipe(0);
  const [wideRead, wideWrite] = addon.pipe(0);
  try {
    addon.setBlocking(narrowWrite, false);
    addon.setBlocking(wideWrite, false);
    widenPipe(wideWrite, 1024 * 1024);
    assert.equal(fill(narrowWrite), 64 * 1024, 'a new pipe holds 64 KiB');
    assert.equal(fill(wideWrite), 1024 * 1024, 'the widened one holds 1 MiB');
  } finally {
    for (const fd of [narrowRead, narrowWrite, wideRead, wideWrite]) closeSync(fd);
  }
});

test('widenPipe on something that is not a pipe changes nothing and does not throw', () => {
  assert.doesNotThrow(() => widenPipe(-1, 1024 * 1024));
});

test('write with a head: head then data, counted together', () => {
  const addon = fdPass();
  const [readEnd, writeEnd] = addon.pipe(0);
  try {
    assert.equal(addon.write(writeEnd, Buffer.from('data'), Buffer.from('head:')), 9);
    const got = Buffer.alloc(16);
    const length = readSync(readEnd, got);
    assert.equal(got.subarray(0, length).toString(), 'head:data');
  } finally {
    closeSync(readEnd);
    closeSync(writeEnd);
  }
});

test('setSendBuffer: the size the kernel grants (Linux doubles what is asked, for its own bookkeeping)', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = connect((server.address() as { port: number }).port, '127.0.0.1');
  try {
    await new Promise((resolve) => socket.once('connect', resolve));
    assert.equal(fdPass().setSendBuffer(descriptorOf(socket)!, 8192), 16384);
  } finally {
    socket.destroy();
    server.close();
  }
});

test('widenSendBuffer on a closed descriptor or on a pipe changes nothing and does not throw', () => {
  const [readEnd, writeEnd] = fdPass().pipe(0);
  try {
    assert.doesNotThrow(() => widenSendBuffer(-1, 4 * 1024 * 1024));
    assert.doesNotThrow(() => widenSendBuffer(writeEnd, 4 * 1024 * 1024));
    assert.equal(fdPass().write(writeEnd, Buffer.from('still a pipe')), 12);
  } finally {
    closeSync(readEnd);
    closeSync(writeEnd);
  }
});
