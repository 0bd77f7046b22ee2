/**
 * The pieces of the client's persistent sessions that need no server: the input kept until acknowledged
 * (input-log.ts) and the ssh_config keywords Session, SessionResume and SessionResumeTimeout.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputLog } from '../../../src/client/input-log.ts';
import { formatDashG, resolveSshConfigSync } from '../../../src/config/ssh/index.ts';

const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: '/home/tester', SHELL: '/bin/sh' };
const concat = (chunks: Buffer[]) => Buffer.concat(chunks).toString();

describe('InputLog', () => {
  it('keeps what is unacknowledged and gives back exactly what follows an offset', () => {
    const log = new InputLog(10);
    log.append(Buffer.from('abc'));
    log.append(Buffer.from('defg'));
    assert.equal(concat(log.from(0)), 'abcdefg');
    assert.equal(concat(log.from(2)), 'cdefg');
    assert.equal(concat(log.from(5)), 'fg');
    log.trimTo(4);
    assert.equal(log.start, 4);
    assert.equal(log.size, 3);
    assert.equal(concat(log.from(4)), 'efg');
    // Offsets outside what is kept change nothing.
    log.trimTo(2);
    log.trimTo(99);
    assert.equal(concat(log.from(4)), 'efg');
  });

  it('is full at its limit until an acknowledgement trims it', () => {
    const log = new InputLog(4);
    log.append(Buffer.from('abcd'));
    assert.equal(log.full, true);
    log.trimTo(1);
    assert.equal(log.full, false);
  });

  it('copies what it is given, wraps around its ring and grows, and views handed out keep their bytes', () => {
    const log = new InputLog(200 * 1024);
    const reused = Buffer.alloc(48 * 1024);
    const expected: Buffer[] = [];
    let held: { offset: number; views: Buffer[]; bytes: Buffer } | undefined;
    for (let round = 0; round < 40; round++) {
      // The caller's buffer is overwritten after every append, as a borrowed read is.
      reused.fill(round + 1);
      const length = 1000 + ((round * 7919) % reused.length);
      log.append(reused.subarray(0, length));
      expected.push(Buffer.from(reused.subarray(0, length)));
      reused.fill(0xee);
      const all = Buffer.concat(expected);
      assert.ok(Buffer.concat(log.from(log.start)).equals(all.subarray(log.start - (log.end - all.length))), `round ${round}: what is kept is what was appended`);
      // Views of unacknowledged bytes stay as they were while more is appended (a channel may still hold them).
      if (held) assert.ok(Buffer.concat(held.views).equals(held.bytes), `round ${round}: views taken earlier are unchanged`);
      if (round % 5 === 0) held = { offset: log.end - length, views: log.from(log.end - length), bytes: Buffer.concat(log.from(log.end - length)) };
      // Acknowledge all but the last 100 KiB: the ring is reused from its start.
      if (log.size > 100 * 1024) {
        const acked = log.end - 100 * 1024;
        if (held && held.offset < acked) held = undefined;
        log.trimTo(acked);
        const total = expected.reduce((sum, chunk) => sum + chunk.length, 0);
        const keep = Buffer.concat(expected).subarray(total - log.size);
        expected.length = 0;
        expected.push(Buffer.from(keep));
      }
    }
    assert.ok(log.size <= 100 * 1024 + reused.length);
  });

  it('moves to the session\'s input offset on a reattach', () => {
    const log = new InputLog(100);
    log.append(Buffer.from('xy'));
    log.rebase(1000);
    assert.deepEqual([log.start, log.end], [1000, 1002]);
    assert.equal(concat(log.from(1001)), 'y');
  });
});

describe('ssh_config: Session, SessionResume, SessionResumeTimeout', () => {
  it('defaults to resuming for 10 minutes, and -G prints nothing of them unless set', () => {
    const resolved = resolveSshConfigSync({ host: 'clint', configFile: 'none', env });
    assert.equal(resolved.session, undefined);
    assert.equal(resolved.sessionResume, true);
    assert.equal(resolved.sessionResumeTimeout, 600);
    assert.doesNotMatch(formatDashG(resolved), /^session(resume|resumetimeout)? /m);
  });

  it('takes them from -o and prints them in lower case', () => {
    const resolved = resolveSshConfigSync({
      host: 'clint',
      configFile: 'none',
      env,
      commandLineOptions: ['Session=work', 'SessionResume=no', 'SessionResumeTimeout=2m'],
    });
    assert.equal(resolved.session, 'work');
    assert.equal(resolved.sessionResume, false);
    assert.equal(resolved.sessionResumeTimeout, 120);
    const dashG = formatDashG(resolved);
    assert.match(dashG, /^session work$/m);
    assert.match(dashG, /^sessionresume no$/m);
    assert.match(dashG, /^sessionresumetimeout 120$/m);
  });
});
