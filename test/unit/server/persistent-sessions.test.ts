// The pieces of persistent sessions on the server that need no process: the sshd_config keywords (defaults,
// Match, global-only PersistentSessionDirectory, `sshd -T`), the `attach NAME` / `sessions` commands and
// their table, and the unlisted resume@tether-ssh.org method in the userauth engine's method list.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dashTSettings, formatDashT, parseSshdConfigText, resolveForConnection, SshdConfigError } from '../../../src/config/sshd/index.ts';
import { formatDuration, formatSessionTable, parseSessionCommand } from '../../../src/server/session-commands.ts';
import { defaultSessionDirectory } from '../../../src/config/sshd/persistent-settings.ts';
import { ResumeMethod } from '../../../src/auth/server-resume.ts';
import { Reader } from '../../../src/wire/reader.ts';
import { encodeResumeAuth } from '../../../src/auth/resume-credential.ts';
import type { AuthAttemptContext } from '../../../src/auth/server-auth.ts';

const conn = (user: string) => ({ user, address: '10.0.0.1', localAddress: '127.0.0.1', localPort: 22 });

describe('PersistentSession* keywords', () => {
  it('default to on, 3 hours, 4 MiB and the default directory, and print nothing extra in sshd -T', () => {
    const config = parseSshdConfigText('', 'x');
    const s = config.settings;
    assert.deepEqual([s.persistentSessions, s.persistentSessionTimeout, s.persistentSessionLogSize, s.persistentSessionDirectory], [true, 10800, 4 * 1024 * 1024, null]);
    assert.doesNotMatch(formatDashT(dashTSettings(config)), /persistent/);
  });

  it('are set by the first value, PersistentSessions / Timeout / LogSize in Match too, and printed in lower case', () => {
    const config = parseSshdConfigText(
      'PersistentSessionTimeout 10m\nPersistentSessionLogSize 64K\nPersistentSessionDirectory /srv/held\nPersistentSessionTimeout 1h\n' +
        'Match User alice\n  PersistentSessions no\n  PersistentSessionLogSize 2M\n',
      'x',
    );
    const alice = resolveForConnection(config, conn('alice'));
    const bob = resolveForConnection(config, conn('bob'));
    assert.deepEqual([alice.persistentSessions, alice.persistentSessionLogSize, alice.persistentSessionTimeout], [false, 2 * 1024 * 1024, 600]);
    assert.deepEqual([bob.persistentSessions, bob.persistentSessionLogSize, bob.persistentSessionDirectory], [true, 64 * 1024, '/srv/held']);
    const lines = formatDashT(dashTSettings(config, 'user=alice,host=h,addr=10.0.0.1')).split('\n').filter((l) => l.startsWith('persistent'));
    assert.deepEqual(lines, ['persistentsessions no', 'persistentsessiontimeout 600', 'persistentsessionlogsize 2097152', 'persistentsessiondirectory /srv/held']);
  });

  it('refuses PersistentSessionDirectory in Match and log sizes out of range', () => {
    assert.throws(() => parseSshdConfigText('Match User a\n  PersistentSessionDirectory /x\n', 'x'), SshdConfigError);
    assert.throws(() => parseSshdConfigText('PersistentSessionLogSize 12\n', 'x'), /must be between 4K and 1G/);
    assert.throws(() => parseSshdConfigText('PersistentSessions maybe\n', 'x'), SshdConfigError);
  });

  it('default the directory to /run/tether/sessions as root, else a private one in the runtime directory', () => {
    assert.equal(defaultSessionDirectory(0, {}), '/run/tether/sessions');
    assert.equal(defaultSessionDirectory(1000, { XDG_RUNTIME_DIR: '/run/user/1000' }), '/run/user/1000/tether-sessions-1000');
  });
});

describe('attach NAME and sessions', () => {
  it('are recognised exactly, blanks aside; anything else is an ordinary command', () => {
    assert.deepEqual(parseSessionCommand('attach work'), { kind: 'attach', name: 'work' });
    assert.deepEqual(parseSessionCommand('  attach\twork  '), { kind: 'attach', name: 'work' });
    assert.deepEqual(parseSessionCommand('sessions'), { kind: 'list' });
    for (const other of ['', 'attach', 'attach a b', 'sessions -l', 'echo attach x', 'attach \x1b[2J']) assert.equal(parseSessionCommand(other), undefined, other);
  });

  it('list NAME COMMAND AGE IDLE ATTACHED, oldest first, aligned, without control characters', () => {
    const now = 1_000_000_000;
    const table = formatSessionTable([
      { id: 'b', name: 'build', command: 'make -j4', createdAt: now - 3 * 3600_000 - 5 * 60_000, lastActivityAt: now - 42_000, attached: false, terminal: false, exited: false },
      { id: 'a', name: '1', command: '-bash\x1b]0;x', createdAt: now - 4 * 86400_000, lastActivityAt: now, attached: true, terminal: true, exited: false },
    ], now);
    assert.equal(table, [
      'NAME   COMMAND     AGE    IDLE  ATTACHED',
      '1      -bash?]0;x  4d00h  0s    yes',
      'build  make -j4    3h05m  42s   no',
      '',
    ].join('\n'));
    assert.deepEqual([formatDuration(59_999), formatDuration(60_000), formatDuration(-5)], ['59s', '1m', '0s']);
  });
});

describe('resume@tether-ssh.org on the server', () => {
  const context = (valid: boolean): AuthAttemptContext => ({
    user: 'alice', requestedUser: 'alice', service: 'ssh-connection', sessionId: Buffer.alloc(32, 7), valid,
    send: () => {}, next: () => Promise.reject(new Error('no second round')),
  });
  const body = () => new Reader(encodeResumeAuth('s1', Buffer.alloc(32, 1)));

  it('asks the token keeper with the connection\'s session id, and is unlisted', async () => {
    const asked: unknown[] = [];
    const method = new ResumeMethod(async (...args) => (asked.push(args), true));
    assert.equal(method.unlisted, true);
    assert.deepEqual(await method.attempt(body(), context(true)), { outcome: 'success', detail: 'session s1' });
    assert.deepEqual(asked, [['alice', 's1', Buffer.alloc(32, 1), Buffer.alloc(32, 7)]]);
  });

  it('fails without asking for an invalid user, and when the keeper says no or throws', async () => {
    let asked = 0;
    const no = new ResumeMethod(async () => (asked++, false));
    assert.equal((await no.attempt(body(), context(false))).outcome, 'failure');
    assert.equal(asked, 0);
    assert.equal((await no.attempt(body(), context(true))).outcome, 'failure');
    const broken = new ResumeMethod(async () => {
      throw new Error('holder gone');
    });
    assert.equal((await broken.attempt(body(), context(true))).outcome, 'failure');
  });
});
