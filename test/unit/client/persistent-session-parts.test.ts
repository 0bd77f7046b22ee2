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
