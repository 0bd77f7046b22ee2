/**
 * The login records a terminal session writes: lastlog (struct lastlog at uid × 292, read back for
 * PrintLastLog's "Last login" line), and utmp / wtmp records that util-linux's utmpdump decodes as glibc's
 * struct utmp. Missing files are never created.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctime, decodeLastLogin, encodeLastLogin, LASTLOG_RECORD_SIZE, lastLoginMessage, readLastLogin, writeLastLogin } from '../../../src/server/lastlog.ts';
import { encodeUtmp, recordLogin, UTMP_RECORD_SIZE, utmpId, writeUtmp } from '../../../src/server/login-records.ts';
import { DEFAULT_SYSTEM_PATHS, systemPathsFromEnvironment } from '../../../src/server/system-paths.ts';

const dir = mkdtempSync(join(tmpdir(), 'tether-lastlog-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function paths(name: string) {
  const base = join(dir, name);
  mkdirSync(base);
  return { systemRc: join(base, 'sshrc'), motd: join(base, 'motd'), lastlog: join(base, 'lastlog'), wtmp: join(base, 'wtmp'), utmp: join(base, 'utmp') };
}

/** utmpdump's lines: [type] [pid] [id] [user] [line] [host] [addr] [time]. */
function utmpdump(file: string): string[][] {
  const result = spawnSync('/usr/bin/utmpdump', [file], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.trim().split('\n').filter(Boolean).map((line) => {
    const fields = [...line.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]!.trim());
    fields[1] = String(Number(fields[1])); // the pid, zero-padded by utmpdump
    return fields;
  });
}

describe('lastlog', () => {
  it('encodes struct lastlog: int32 time, 32-byte line without /dev/, 256-byte host', () => {
    const record = encodeLastLogin({ time: 1_700_000_000, line: '/dev/pts/7', host: '192.0.2.1' });
    assert.equal(record.length, LASTLOG_RECORD_SIZE);
    assert.equal(record.readInt32LE(0), 1_700_000_000);
    assert.equal(record.subarray(4, 9).toString(), 'pts/7');
    assert.equal(record[9], 0);
    assert.equal(record.subarray(36, 45).toString(), '192.0.2.1');
    assert.deepEqual(decodeLastLogin(record), { time: 1_700_000_000, line: 'pts/7', host: '192.0.2.1' });
  });

  it('writes the record at uid × 292 and reads it back; other uids have none', () => {
    const file = join(dir, 'lastlog');
    writeFileSync(file, '');
    assert.equal(readLastLogin(file, 1001, 'u'), undefined);
    assert.equal(writeLastLogin(file, 1001, 'u', { time: 1234567890, line: 'pts/1', host: '2001:db8::1' }), true);
    assert.equal(statSync(file).size, 1002 * LASTLOG_RECORD_SIZE);
    assert.deepEqual(readLastLogin(file, 1001, 'u'), { time: 1234567890, line: 'pts/1', host: '2001:db8::1' });
    assert.equal(readLastLogin(file, 1000, 'v'), undefined, 'a hole reads as time 0: no last login');
    assert.equal(readLastLogin(file, 5000, 'w'), undefined, 'past the end of the file');
  });

  it('never creates a missing lastlog file; a directory holds one file per user', () => {
    const missing = join(dir, 'no-lastlog');
    assert.equal(writeLastLogin(missing, 0, 'root', { time: 1, line: 'pts/0', host: 'h' }), false);
    assert.equal(existsSync(missing), false);
    const perUser = join(dir, 'lastlog.d');
    mkdirSync(perUser);
    assert.equal(writeLastLogin(perUser, 1001, 'alice', { time: 42, line: 'pts/2', host: 'h' }), true);
    assert.equal(statSync(join(perUser, 'alice')).size, LASTLOG_RECORD_SIZE);
    assert.deepEqual(readLastLogin(perUser, 1001, 'alice'), { time: 42, line: 'pts/2', host: 'h' });
  });

  it('formats "Last login" as sshlogin.c does, with ctime(3) in the local zone', () => {
    const zone = process.env.TZ;
    process.env.TZ = 'UTC';
    try {
      assert.equal(ctime(0), 'Thu Jan  1 00:00:00 1970');
      assert.equal(ctime(1_700_000_000), 'Tue Nov 14 22:13:20 2023');
      assert.equal(lastLoginMessage({ time: 0 + 86400 * 9, line: 'pts/0', host: '198.51.100.4' }), 'Last login: Sat Jan 10 00:00:00 1970 from 198.51.100.4\r\n');
      assert.equal(lastLoginMessage({ time: 60, line: 'pts/0', host: '' }), 'Last login: Thu Jan  1 00:01:00 1970\r\n');
      assert.equal(lastLoginMessage(undefined), '');
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });
});

describe('utmp and wtmp', () => {
  it('records are glibc struct utmp as utmpdump reads them; logouts are DEAD_PROCESS with no user or host', () => {
    const p = paths('dump');
    writeFileSync(p.wtmp, '');
    writeFileSync(p.lastlog, '');
    const login = recordLogin(p, { uid: 1001, user: 'alice', pid: 4242, tty: '/dev/pts/5', host: '203.0.113.7', address: '203.0.113.7', printLastLog: true }, Date.UTC(2024, 0, 2, 3, 4, 5));
    assert.equal(login.lastLogin, '', 'no earlier login');
    login.logout();
    login.logout();
    assert.equal(statSync(p.wtmp).size, 2 * UTMP_RECORD_SIZE, 'one login and one logout record');
    const [entry, exit] = utmpdump(p.wtmp);
    assert.deepEqual(entry!.slice(0, 7), ['7', '4242', 'ts/5', 'alice', 'pts/5', '203.0.113.7', '203.0.113.7']);
    assert.match(entry![7]!, /^2024-01-02T03:04:05/);
    assert.deepEqual(exit!.slice(0, 6), ['8', '4242', 'ts/5', '', 'pts/5', '']);
    assert.equal(existsSync(p.utmp), false, 'a missing utmp is not created');
    assert.match(recordLogin(p, { uid: 1001, user: 'alice', pid: 1, tty: '/dev/pts/6', host: 'h', address: 'h', printLastLog: true }).lastLogin, /^Last login: .* 2024 from 203\.0\.113\.7\r\n$/);
  });

  it('a utmp login takes the slot of its terminal (same ut_id), others are appended', () => {
    const p = paths('slots');
    writeFileSync(p.utmp, Buffer.concat([
      encodeUtmp({ type: 'logout', pid: 1, tty: 'pts/1', user: '', host: '', address: '', time: 0 }),
      encodeUtmp({ type: 'login', pid: 2, tty: 'pts/2', user: 'bob', host: 'b', address: '192.0.2.2', time: 0 }),
    ]));
    writeUtmp(p.utmp, encodeUtmp({ type: 'login', pid: 3, tty: '/dev/pts/1', user: 'carol', host: 'c', address: '::1', time: 1000 }));
    writeUtmp(p.utmp, encodeUtmp({ type: 'login', pid: 4, tty: '/dev/pts/3', user: 'dave', host: 'd', address: '192.0.2.4', time: 1000 }));
    const rows = utmpdump(p.utmp).map((row) => row.slice(0, 7));
    assert.deepEqual(rows, [
      ['7', '3', 'ts/1', 'carol', 'pts/1', 'c', '::1'],
      ['7', '2', 'ts/2', 'bob', 'pts/2', 'b', '192.0.2.2'],
      ['7', '4', 'ts/3', 'dave', 'pts/3', 'd', '192.0.2.4'],
    ]);
    assert.equal(readFileSync(p.utmp).length, 3 * UTMP_RECORD_SIZE);
  });

  it('ut_id is the last four characters of the line, as loginrec.c abbreviates it', () => {
    assert.equal(utmpId('/dev/pts/12'), 's/12');
    assert.equal(utmpId('pts/0'), 'ts/0');
    assert.equal(utmpId('tty1'), 'tty1');
  });
});

describe('system paths', () => {
  it('default to the system files; TETHER_* variables move them', () => {
    assert.equal(DEFAULT_SYSTEM_PATHS.lastlog, '/var/log/lastlog');
    assert.equal(DEFAULT_SYSTEM_PATHS.systemRc, '/etc/ssh/sshrc');
    const moved = systemPathsFromEnvironment({ TETHER_SSHRC: '/tmp/x/sshrc', TETHER_LASTLOG: '/tmp/x/lastlog', TETHER_WTMP: '' });
    assert.deepEqual(moved, { ...DEFAULT_SYSTEM_PATHS, systemRc: '/tmp/x/sshrc', lastlog: '/tmp/x/lastlog' });
  });
});
