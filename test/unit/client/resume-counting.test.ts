/**
 * The client's counting and retrying for held sessions, without a server: output-counter.ts (what a resumed
 * stream repeats is skipped, what the log lost is counted, when ack@ is due; docs/PROTOCOL.sessions §4, §7)
 * and reconnect-loop.ts (backoff, fatal errors, the time limit, stopping).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACK_EVERY_BYTES, OutputCounter } from '../../../src/client/output-counter.ts';
import { fullPolicy, reconnectWithBackoff } from '../../../src/client/reconnect-loop.ts';
import { SessionResumeError } from '../../../src/client/persistent-session-options.ts';
import { AuthenticationError } from '../../../src/auth/client-auth.ts';
import { decodeSessionInfo, encodeSessionInfo, outputAckSpacing, type SessionInfo } from '../../../src/connection/persistent-session-requests.ts';

describe('OutputCounter', () => {
  it('skips what a resumed stream repeats and counts what the log no longer had', () => {
    const counter = new OutputCounter();
    counter.start({ output: 100, error: 7 });
    assert.equal(counter.accept('output', Buffer.from('abcdef'))?.toString(), 'abcdef');
    assert.deepEqual(counter.received, { output: 106, error: 7 });
    // The server resends from 103: three bytes we have, then three new ones.
    assert.deepEqual(counter.resync({ output: 103, error: 7 }), { output: 0, error: 0 });
    assert.equal(counter.accept('output', Buffer.from('def')), undefined);
    assert.equal(counter.accept('output', Buffer.from('ghi'))?.toString(), 'ghi');
    // The log reaches back only to 120 (and stderr to 9): 11 and 2 bytes lost.
    assert.deepEqual(counter.resync({ output: 120, error: 9 }), { output: 11, error: 2 });
    assert.equal(counter.accept('error', Buffer.from('x'))?.toString(), 'x');
    assert.deepEqual(counter.received, { output: 120, error: 10 });
  });

  it('acknowledges every 64 KiB, and periodically whatever is pending', () => {
    const counter = new OutputCounter();
    counter.start({ output: 0, error: 0 });
    assert.equal(counter.due(true), undefined);
    counter.accept('output', Buffer.alloc(10));
    assert.equal(counter.due(false), undefined);
    assert.deepEqual(counter.due(true), { output: 10, error: 0 });
    assert.equal(counter.due(true), undefined, 'nothing new since');
    counter.accept('error', Buffer.alloc(ACK_EVERY_BYTES));
    assert.deepEqual(counter.due(false), { output: 10, error: ACK_EVERY_BYTES });
  });

  it('acknowledges at the spacing a small log asks for', () => {
    const counter = new OutputCounter();
    counter.start({ output: 0, error: 0 });
    counter.spacing = 4096;
    counter.accept('output', Buffer.alloc(4095));
    assert.equal(counter.due(false), undefined);
    counter.accept('output', Buffer.alloc(1));
    assert.deepEqual(counter.due(false), { output: 4096, error: 0 });
  });
});

describe('session@ acknowledgement spacing (PROTOCOL.sessions §3, §7)', () => {
  const info: SessionInfo = {
    id: 'id', name: 'name', token: Buffer.alloc(32, 7), inputOffset: 1, outputOffset: 2, errorOffset: 3, inputClosed: false, reattached: true,
  };

  it('is a quarter of the log, between 1 KiB and 1 MiB', () => {
    const MiB = 1024 * 1024;
    assert.deepEqual(
      [4096, 16 * 1024, 64 * 1024, 256 * 1024, 4 * MiB, 64 * MiB].map(outputAckSpacing),
      [1024, 4096, 16384, 65536, MiB, MiB],
    );
  });

  it('is an optional last field: absent, the message is as before; present, it is read and kept in range', () => {
    const plain = encodeSessionInfo(info);
    assert.deepEqual(decodeSessionInfo(plain), info);
    const spaced = encodeSessionInfo({ ...info, outputAckSpacing: 4096 });
    assert.equal(spaced.length, plain.length + 4);
    assert.equal(decodeSessionInfo(spaced).outputAckSpacing, 4096);
    assert.equal(decodeSessionInfo(encodeSessionInfo({ ...info, outputAckSpacing: 1 })).outputAckSpacing, 1024, 'a hostile 1 would ask an ack per byte');
    assert.equal(decodeSessionInfo(encodeSessionInfo({ ...info, outputAckSpacing: 1024 * 1024 })).outputAckSpacing, 1024 * 1024);
    assert.equal(decodeSessionInfo(encodeSessionInfo({ ...info, outputAckSpacing: 0xffffffff })).outputAckSpacing, 1024 * 1024, 'a hostile 4 GiB would pin the whole log');
    assert.throws(() => decodeSessionInfo(Buffer.concat([spaced, Buffer.from([0])])), /trailing/);
  });
});

describe('reconnectWithBackoff', () => {
  const policy = (timeoutMs = 5000) => fullPolicy({ initialDelayMs: 1, maxDelayMs: 4, timeoutMs });
  const noSignal = () => new AbortController().signal;

  it('retries until an attempt succeeds, telling each attempt the last error', async () => {
    const seen: string[] = [];
    let calls = 0;
    const outcome = await reconnectWithBackoff(policy(), new Error('drop'), {
      attempt: async () => (++calls < 3 ? Promise.reject(new Error(`refused ${calls}`)) : 'resumed'),
      onAttempt: (attempt, error) => seen.push(`${attempt}:${error.message}`),
      signal: noSignal(),
    });
    assert.deepEqual(outcome, { value: 'resumed', attempt: 3 });
    assert.deepEqual(seen, ['1:drop', '2:refused 1', '3:refused 2']);
  });

  it('gives up at once on a fatal error, and after the time limit on others', async () => {
    const fatal = await reconnectWithBackoff(policy(), new Error('drop'), {
      attempt: () => Promise.reject(new AuthenticationError(['publickey'])), onAttempt: () => {}, signal: noSignal(),
    });
    assert.ok('error' in fatal && fatal.error instanceof SessionResumeError && fatal.error.reason === 'fatal');
    const timedOut = await reconnectWithBackoff(policy(30), new Error('drop'), {
      attempt: () => Promise.reject(new Error('refused')), onAttempt: () => {}, signal: noSignal(),
    });
    assert.ok('error' in timedOut && timedOut.error.reason === 'timeout', JSON.stringify(timedOut));
  });

  it('stops when its signal is aborted (~. during an outage)', async () => {
    const stop = new AbortController();
    const outcome = await reconnectWithBackoff(fullPolicy({ initialDelayMs: 60_000, timeoutMs: 600_000 }), new Error('drop'), {
      attempt: () => {
        setImmediate(() => stop.abort());
        return Promise.reject(new Error('refused'));
      },
      onAttempt: () => {},
      signal: stop.signal,
    });
    assert.deepEqual(outcome, { stopped: true });
  });
});
