/**
 * A session program's stdout on our own pipe, read into one reused buffer (issue 17): what is sent or queued
 * from it must be whole and in order although the buffer is overwritten by the next read, with pauses at any
 * point; and the channel's sendBorrowed must copy whatever it cannot send at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { OutputPipe } from '../../../src/sessions/output-pipe.ts';
import { startPipeProcess } from '../../../src/sessions/pipe-process.ts';
import { Channel, type ChannelHost } from '../../../src/connection/channel.ts';
import { SSH_MSG } from '../../../src/wire/message-numbers.ts';

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

/** A host that takes packets while `open` and records each CHANNEL_DATA's bytes. */
function recordingHost(): ChannelHost & { open: boolean; received: Buffer[]; drain(): void } {
  const waiting: Array<() => void> = [];
  return {
    open: true,
    received: [],
    send(payload: Buffer) {
      if (payload[0] === SSH_MSG.CHANNEL_DATA) this.received.push(Buffer.from(payload.subarray(9)));
      return true;
    },
    get transportWritable() {
      return this.open;
    },
    onceTransportDrain(callback: () => void) {
      waiting.push(callback);
    },
    releaseChannel() {},
    drain() {
      this.open = true;
      for (const callback of waiting.splice(0)) callback();
    },
  };
}

test('sendBorrowed sends what the window allows and copies the rest before the caller reuses its buffer', () => {
  const host = recordingHost();
  const channel = new Channel(host, 'session', 0);
  channel.attach(5, 10, 4);
  const buffer = Buffer.from('abcdefghijklmnop');
  let sent = 0;
  assert.equal(channel.sendBorrowed(buffer, () => sent++), false);
  buffer.fill('#');
  assert.deepEqual(host.received.map(String), ['abcd', 'efgh', 'ij']);
  host.open = false;
  channel.receiveWindowAdjust(4);
  assert.equal(sent, 0);
  host.drain();
  channel.receiveWindowAdjust(10);
  assert.deepEqual(host.received.map(String), ['abcd', 'efgh', 'ij', 'klmn', 'op']);
  assert.equal(sent, 1);
  // All of it sendable at once: true, and the callback is not for this call.
  assert.equal(channel.sendBorrowed(Buffer.from('qr'), () => sent++), true);
  assert.equal(sent, 1);
  assert.equal(String(host.received.at(-1)), 'qr');
});
