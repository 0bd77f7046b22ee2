/**
 * A session program's stdout on our own pipe, read into one reused buffer (issue 17): what is sent or queued
 * from it must be whole and in order although the buffer is overwritten by the next read, with pauses at any
 * point (Channel.sendBorrowed itself: test/unit/connection/borrowed-reads.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { OutputPipe } from '../../../src/sessions/program-pipes.ts';
import { startPipeProcess } from '../../../src/sessions/pipe-process.ts';

const program = (script: string) => ({ file: '/bin/sh', args: ['-c', script], env: { PATH: '/usr/bin:/bin' }, cwd: '/tmp' });
/** 4 MiB of numbered lines: any lost, repeated or reordered byte changes the digest. */
const NUMBERS = 'seq 1 550000';
const expectedDigest = (() => {
  const lines: string[] = [];
  for (let i = 1; i <= 550000; i++) lines.push(String(i));
  return createHash('sha256').update(lines.join('\n') + '\n').digest('hex');
})();

test('the addon makes the pipes (npm install builds native/fdpass)', () => {
  const pipe = OutputPipe.open();
  assert.ok(pipe, 'native/fdpass is not built: session output falls back to Node pipes');
  pipe.destroy();
});

test('borrowed reads, paused and resumed at random, deliver every byte once and in order before exit', async () => {
  const child = startPipeProcess(program(NUMBERS));
  assert.ok(child.borrowedOutput);
  const hash = createHash('sha256');
  let reads = 0;
  let pauses = 0;
  const ended = new Promise<void>((resolve) =>
    child.borrowedOutput!.start((bytes) => {
      hash.update(bytes);
      // The next read reuses this memory: scribbling over it must not matter once the bytes are taken.
      bytes.fill(0x2a);
      reads++;
      if (reads % 3 !== 0) return true;
      pauses++;
      setTimeout(() => child.borrowedOutput!.resume(), 1);
      return false;
    }, resolve),
  );
  const exit = await child.exit;
  await ended;
  assert.deepEqual(exit, { code: 0, signal: null, coreDumped: false });
  assert.equal(hash.digest('hex'), expectedDigest);
  assert.ok(pauses > 0);
});

test('the output as a plain stream, and only one way of reading it', async () => {
  const child = startPipeProcess(program('printf hello; printf oops >&2'));
  const chunks: Buffer[] = [];
  child.output.on('data', (chunk: Buffer) => chunks.push(chunk));
  assert.throws(() => child.borrowedOutput!.start(() => true, () => {}), /already being read/);
  const errors: Buffer[] = [];
  child.errorOutput!.on('data', (chunk: Buffer) => errors.push(chunk));
  assert.equal((await child.exit).code, 0);
  assert.equal(Buffer.concat(chunks).toString(), 'hello');
  assert.equal(Buffer.concat(errors).toString(), 'oops');
});

test('hangUp with nobody reading: the program meets the closed pipe and exit still resolves', async () => {
  const child = startPipeProcess(program('trap "" HUP; while :; do echo x || exit 7; done'));
  await new Promise((resolve) => setTimeout(resolve, 100));
  child.hangUp();
  const exit = await Promise.race([child.exit, new Promise((resolve) => setTimeout(() => resolve('timeout'), 5000))]);
  assert.notEqual(exit, 'timeout');
});

test('stdin and stdout on our pipes: blocking for the program; every byte read, then end of file', async () => {
  // fdinfo's flags are octal: O_NONBLOCK is 04000.
  const child = startPipeProcess(program('grep ^flags: /proc/self/fdinfo/0; grep ^flags: /proc/self/fdinfo/1; sha256sum'));
  const chunks: Buffer[] = [];
  child.output.on('data', (chunk: Buffer) => chunks.push(chunk));
  const data = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < data.length; i += 4) data.writeUInt32BE(i, i);
  for (let at = 0; at < data.length; at += 65536) {
    if (!child.input.write(data.subarray(at, at + 65536))) await new Promise((resolve) => child.input.once('drain', resolve));
  }
  child.input.end();
  assert.equal((await child.exit).code, 0);
  const [stdinFlags, stdoutFlags, digest] = Buffer.concat(chunks).toString().split('\n');
  for (const flags of [stdinFlags!, stdoutFlags!]) assert.equal(Number.parseInt(flags.split(/\s+/)[1]!, 8) & 0o4000, 0, flags);
  assert.equal(digest!.split(' ')[0], createHash('sha256').update(data).digest('hex'));
});
