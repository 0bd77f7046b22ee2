/**
 * The session holder through its client (holderFor → SessionHolder, HeldAttachment), with the holder in
 * this process: output with offsets, replay after a detach of exactly the bytes missed, the gap when the
 * ring overflowed, input counted and closed, one attachment at a time, tokens good once, and a socket that
 * breaks the framing closes alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { resumeProof } from '../../../src/auth/resume-credential.ts';
import { holderSocketPath } from '../../../src/sessions/holder/index.ts';
import type { RemoteAttachment } from '../../../src/sessions/holder/remote-attachment.ts';
import { inProcessHolder, readUntil, shellSession, USER, waitFor, within } from './holder-fixture.ts';

/** Prints "n\n" for n = 1.. every 10 ms, `count` lines. */
const COUNTER = (count: number): string => `i=1; while [ $i -le ${count} ]; do echo $i; i=$((i+1)); sleep 0.01; done; sleep 30`;

test('output arrives with offsets; after a detach the program goes on and a resume replays exactly what was missed', async () => {
  const fixture = await inProcessHolder();
  try {
    const first = await fixture.client.create(shellSession(COUNTER(60), { name: 'counter' }));
    assert.equal(first.reattached, false);
    assert.equal(first.outputOffset, 0);
    assert.equal(first.summary.name, 'counter');
    let received = await readUntil(first.output, (text) => text.includes('\n5\n'));
    first.output.pause();
    first.detach();
    await within(first.ended).catch(() => undefined);
    // The program keeps writing into the log with nobody attached.
    await waitFor(async () => (await fixture.client.list()).some((s) => s.name === 'counter' && !s.attached));
    await new Promise((resolve) => setTimeout(resolve, 200));

    const resumed = (await fixture.client.attach({ id: first.summary.id, replay: 'offsets', outputFrom: received.length, errorFrom: 0 }))!;
    assert.ok(resumed);
    assert.equal(resumed.reattached, true);
    assert.equal(resumed.outputOffset, received.length);
    assert.equal(resumed.redraw.length, 0);
    received += await readUntil(resumed.output, (text) => (received + text).includes('\n60\n'));
    const numbers = received.trim().split('\n').map(Number);
    assert.deepEqual(numbers, Array.from({ length: 60 }, (_, i) => i + 1));
    resumed.hangUp();
    assert.deepEqual(await within(resumed.exit), { code: null, signal: 'HUP', coreDumped: false });
    await waitFor(async () => (await fixture.client.list()).length === 0);
  } finally {
    await fixture.close();
  }
});

test('when the ring overflowed while detached, the resume starts at the oldest byte held and says so', async () => {
  const fixture = await inProcessHolder();
  try {
    const first = await fixture.client.create(
      shellSession('read go; head -c 5000 /dev/zero | tr "\\0" x; echo; echo "[done]" >&2; sleep 30', { logSize: 1024 }),
    );
    first.input.write('go\n');
    await waitFor(() => (first as RemoteAttachment).inputOffset >= 0);
    first.detach();
    // Detached, and no client ever acknowledged anything: the program is read on and the log wraps.
    const watcher = (await fixture.client.attach({ id: first.summary.id, replay: 'offsets', outputFrom: 99_999, errorFrom: 0 }))!;
    await readUntil(watcher.errorOutput!, (text) => text.includes('[done]'));
    watcher.detach();
    await waitFor(async () => !(await fixture.client.list())[0]!.attached);

    const late = (await fixture.client.attach({ id: first.summary.id, replay: 'offsets', outputFrom: 10 }))!;
    // 5001 bytes written, 1024 kept: the first byte still held is at 3977.
    assert.equal(late.outputOffset, 5001 - 1024);
    const text = await readUntil(late.output, (t) => t.length >= 1024);
    assert.equal(text, 'x'.repeat(1023) + '\n');
    late.hangUp();
  } finally {
    await fixture.close();
  }
});

test('a slow attachment holds the program up instead of losing its output; acknowledged output survives a detach', async () => {
  const fixture = await inProcessHolder();
  try {
    const size = 3 * 1024 * 1024;
    const attachment = (await fixture.client.create(
      shellSession(`read go; head -c ${size} /dev/urandom | od -An -v -tx1 | head -c ${size}; echo "[written]" >&2; sleep 30`, { logSize: 256 * 1024 }),
    )) as RemoteAttachment;
    const gaps: unknown[] = [];
    attachment.onOutputLost((gap) => gaps.push(gap));
    attachment.output.pause();
    attachment.input.write('go\n');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The client acknowledges every 16 KiB it receives (as ack@tether-ssh.org would carry it).
    let received = 0;
    let acknowledged = 0;
    attachment.output.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received - acknowledged >= 16 * 1024) attachment.acknowledgeOutput((acknowledged = received), 0);
    });
    attachment.output.resume();
    // Half way the connection drops: the client has `received`, the holder heard of `acknowledged`.
    await waitFor(() => received >= size / 2, 10_000);
    attachment.output.pause();
    attachment.detach();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const resumed = (await fixture.client.attach({ id: attachment.summary.id, replay: 'offsets', outputFrom: received, errorFrom: 0 }))!;
    assert.equal(resumed.outputOffset, received, 'nothing the client had not acknowledged was overwritten');
    let rest = 0;
    resumed.output.on('data', (chunk: Buffer) => (rest += chunk.length));
    await readUntil(resumed.errorOutput!, (text) => text.includes('[written]'), 10_000);
    await waitFor(() => received + rest === size, 10_000);
    assert.deepEqual(gaps, []);
    resumed.hangUp();
  } finally {
    await fixture.close();
  }
});

test('input is counted as the program takes it, acknowledged, and an EOF closes stdin after all of it', async () => {
  const fixture = await inProcessHolder();
  try {
    const attachment = await fixture.client.create(shellSession('cat; echo "[closed]"; sleep 30'));
    const acks: number[] = [];
    attachment.onInputAck((offset) => acks.push(offset));
    attachment.input.write('one\n');
    attachment.input.write('two\n');
    await readUntil(attachment.output, (text) => text.includes('two\n'));
    await waitFor(() => acks.at(-1) === 8);
    attachment.detach();
    await waitFor(async () => !(await fixture.client.list())[0]!.attached);

    const again = (await fixture.client.attach({ id: attachment.summary.id, replay: 'offsets', outputFrom: 8 }))!;
    assert.equal(again.inputOffset, 8);
    assert.equal(again.inputClosed, false);
    again.input.end('three\n');
    const text = await readUntil(again.output, (t) => t.includes('[closed]'));
    assert.equal(text, 'three\n[closed]\n');
    again.detach();
    await waitFor(async () => !(await fixture.client.list())[0]!.attached);
    const third = (await fixture.client.attach({ id: attachment.summary.id, replay: 'offsets', outputFrom: 0 }))!;
    assert.equal(third.inputOffset, 14);
    assert.equal(third.inputClosed, true);
    third.hangUp();
  } finally {
    await fixture.close();
  }
});

test('stderr has its own offsets; the exit is reported once all output is delivered, then the session is collected', async () => {
  const fixture = await inProcessHolder();
  try {
    const attachment = await fixture.client.create(shellSession('echo out; echo err >&2; exit 7'));
    assert.equal(attachment.terminal, false);
    const [output, error, exit] = await within(
      Promise.all([readUntil(attachment.output, (t) => t === 'out\n'), readUntil(attachment.errorOutput!, (t) => t === 'err\n'), attachment.exit]),
    );
    assert.equal(output, 'out\n');
    assert.equal(error, 'err\n');
    assert.deepEqual(exit, { code: 7, signal: null, coreDumped: false });
    assert.deepEqual(await attachment.ended, { kind: 'exited' });
    attachment.detach();
    await waitFor(async () => (await fixture.client.list()).length === 0);
  } finally {
    await fixture.close();
  }
});

test('an exited session nobody collected stays: a later resume gets the rest of the output and the exit', async () => {
  const fixture = await inProcessHolder();
  try {
    const attachment = await fixture.client.create(shellSession('read x; echo bye; echo oops >&2; exit 3'));
    attachment.detach();
    await waitFor(async () => !(await fixture.client.list())[0]!.attached);
    const writer = (await fixture.client.attach({ id: attachment.summary.id, replay: 'offsets', outputFrom: 0 }))!;
    writer.input.write('\n');
    await readUntil(writer.output, (t) => t.includes('bye'));
    writer.output.pause();
    // The connection drops before the exit is read: detach without having collected it.
    (writer as RemoteAttachment).detach();
    await waitFor(async () => (await fixture.client.list())[0]?.exited === true && !(await fixture.client.list())[0]!.attached);

    const last = (await fixture.client.attach({ id: attachment.summary.id, replay: 'offsets', outputFrom: 4, errorFrom: 0 }))!;
    let rest = '';
    last.output.on('data', (chunk: Buffer) => (rest += chunk.toString()));
    const [error, exit] = await within(Promise.all([readUntil(last.errorOutput!, (t) => t === 'oops\n'), last.exit]));
    assert.equal(last.outputOffset, 4);
    assert.equal(rest, '', 'the client had all of stdout already');
    assert.equal(error, 'oops\n');
    assert.deepEqual(exit, { code: 3, signal: null, coreDumped: false });
    last.detach();
    await waitFor(async () => (await fixture.client.list()).length === 0);
  } finally {
    await fixture.close();
  }
});

test('a new attachment displaces the older one, which is told why', async () => {
  const fixture = await inProcessHolder();
  try {
    const first = await fixture.client.create(shellSession('sleep 30', { name: 'work' }));
    const second = (await fixture.client.attach({ name: 'work', replay: 'screen', reason: 'session taken over by 127.0.0.1' }))!;
    assert.deepEqual(await within(first.ended), { kind: 'displaced', reason: 'session taken over by 127.0.0.1' });
    const third = (await fixture.client.attach({ name: 'work', replay: 'screen' }))!;
    assert.deepEqual(await within(second.ended), { kind: 'displaced', reason: 'session attached from elsewhere' });
    assert.equal(await fixture.client.attach({ name: 'nonesuch', replay: 'screen' }), undefined);
    const sessions = await fixture.client.list();
    assert.equal(sessions.length, 1);
    assert.equal(sessions[0]!.attached, true);
    await assert.rejects(fixture.client.create(shellSession('true', { name: 'work' })), /session name work is in use/);
    third.hangUp();
  } finally {
    await fixture.close();
  }
});

test('a resume token is fresh at every attach, good once, and only for its session, user and connection', async () => {
  const fixture = await inProcessHolder();
  try {
    const first = await fixture.client.create(shellSession('sleep 30'));
    const other = await fixture.client.create(shellSession('sleep 30'));
    const id = first.summary.id;
    const connection = Buffer.alloc(32, 1);
    const proof = (token: Buffer, sessionId = id, user = USER, h = connection): Buffer => resumeProof(token, h, user, sessionId);
    assert.equal(first.token.length, 32);
    assert.notDeepEqual(first.token, other.token);
    assert.equal(await fixture.client.spendToken(id, proof(first.token, id, 'mallory'), connection, USER), false);
    assert.equal(await fixture.client.spendToken(other.summary.id, proof(first.token, other.summary.id), connection, USER), false);
    assert.equal(await fixture.client.spendToken(id, proof(first.token, id, USER, Buffer.alloc(32, 2)), connection, USER), false);
    assert.equal(await fixture.client.spendToken('no-such-session', proof(first.token, 'no-such-session'), connection, USER), false);
    assert.equal(await fixture.client.spendToken(id, proof(first.token), connection, USER), true);
    assert.equal(await fixture.client.spendToken(id, proof(first.token), connection, USER), false, 'spent');

    first.detach();
    const resumed = (await fixture.client.attach({ id, replay: 'offsets', outputFrom: 0 }))!;
    assert.notDeepEqual(resumed.token, first.token);
    assert.equal(await fixture.client.spendToken(id, proof(first.token), connection, USER), false, 'the old token is no longer good');
    assert.equal(await fixture.client.spendToken(id, proof(resumed.token), connection, USER), true);
    resumed.hangUp();
    other.hangUp();
  } finally {
    await fixture.close();
  }
});

test('a peer that breaks the framing loses its own socket only', async () => {
  const fixture = await inProcessHolder();
  try {
    const attachment = await fixture.client.create(shellSession('cat'));
    const rogue = connect(holderSocketPath(fixture.userDirectory));
    rogue.on('error', () => {});
    await new Promise((resolve) => rogue.once('connect', resolve));
    const closed = new Promise((resolve) => rogue.once('close', resolve));
    rogue.write(Buffer.from([0, 0, 0, 5, 1, 0x7b, 0x7b, 0x7b, 0x7b])); // a control frame that is not JSON
    await within(closed);
    const half = connect(holderSocketPath(fixture.userDirectory));
    half.on('error', () => {});
    await new Promise((resolve) => half.once('connect', resolve));
    half.end(Buffer.from([0, 0, 1])); // dies mid-header
    attachment.input.write('still here\n');
    await readUntil(attachment.output, (t) => t.includes('still here'));
    assert.equal((await fixture.client.list()).length, 1);
    attachment.hangUp();
  } finally {
    await fixture.close();
  }
});

test('the greeting comes first in the log; a detached session expires after its idle time and its program is hung up', async () => {
  const fixture = await inProcessHolder();
  try {
    const attachment = await fixture.client.create(shellSession('echo program; exec sleep 30', { greeting: Buffer.from('Last login: never\n'), idleTimeoutSeconds: 1 }));
    assert.equal(await readUntil(attachment.output, (t) => t.includes('program\n')), 'Last login: never\nprogram\n');
    const pid = attachment.pid;
    attachment.detach();
    await waitFor(async () => (await fixture.client.list()).length === 0, 5_000);
    await waitFor(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
    assert.equal(await fixture.client.attach({ id: attachment.summary.id, replay: 'offsets' }), undefined);
  } finally {
    await fixture.close();
  }
});

test('a program that cannot be started fails the create with SessionSpawnError; the holder goes on', async () => {
  const fixture = await inProcessHolder();
  try {
    const request = shellSession('true');
    await assert.rejects(
      fixture.client.create({ ...request, program: { ...request.program, cwd: '/nonexistent/directory' } }),
      (error: Error) => error.name === 'SessionSpawnError',
    );
    assert.deepEqual(await fixture.client.list(), []);
    const ok = await fixture.client.create(shellSession('echo fine'));
    assert.equal(await readUntil(ok.output, (t) => t.includes('fine')), 'fine\n');
  } finally {
    await fixture.close();
  }
});

test('output arrives byte-exact through a log smaller than a read, to a slow attachment that never acknowledges', async () => {
  // The holder frames output straight from its log (no copies): bytes still queued on the socket must not
  // change when the program's next output wraps the ring over them. And a read of the program's output
  // (up to 64 KiB) larger than the room left in the log waits for room instead of overwriting unsent bytes.
  const fixture = await inProcessHolder();
  try {
    const lines = 300_000;
    const attachment = await fixture.client.create(shellSession(`seq 1 ${lines}`, { logSize: 16 * 1024 }));
    const chunks: Buffer[] = [];
    let reads = 0;
    attachment.output.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // Slow: every few reads the reader stops for a moment, so the socket and the log back up.
      if (++reads % 4 === 0) {
        attachment.output.pause();
        setTimeout(() => attachment.output.resume(), 2);
      }
    });
    await within(attachment.exit, 30_000);
    const expected = Array.from({ length: lines }, (_, i) => `${i + 1}\n`).join('');
    await waitFor(() => Buffer.concat(chunks).length >= expected.length, 10_000);
    assert.equal(Buffer.concat(chunks).toString(), expected);
  } finally {
    await fixture.close();
  }
});
