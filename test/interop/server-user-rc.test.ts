/**
 * What runs before a session's program and what a login on a terminal records, against the stock ssh
 * client: ~/.ssh/rc (PermitUserRC, authorized_keys no-user-rc / restrict, not for subsystems or ForceCommand),
 * /etc/ssh/sshrc in its place (the harness points it into the test directory), and PrintLastLog / PrintMotd
 * with lastlog and wtmp records (test files too, never the system's). A dedicated account keeps its
 * ~/.ssh/rc away from the other tests' sessions.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { keyAuth, ssh, startTestServer, type TestServer } from './server-harness.ts';
import { makeKey, publicKeyLine } from '../helpers/openssh.ts';
import { ctime, decodeLastLogin, LASTLOG_RECORD_SIZE } from '../../src/server/lastlog.ts';
import { UTMP_RECORD_SIZE } from '../../src/server/login-records.ts';

const RC_USER = 'tetherrc';
let test: TestServer;
let home: string;
let uid: number;
let userRc: string;
let systemRc: string;
let noUserRcKey: string;
let restrictKey: string;

/** Creates the account once; useradd takes a lock on /etc/passwd that parallel test files may hold. */
async function ensureRcUser(): Promise<void> {
  for (let attempt = 1; spawnSync('id', [RC_USER]).status !== 0; attempt++) {
    const made = spawnSync('useradd', ['--create-home', '--shell', '/bin/sh', RC_USER], { encoding: 'utf8' });
    if (made.status === 0) break;
    if (attempt >= 10) throw new Error(`cannot create ${RC_USER}: ${made.stderr}`);
    await sleep(200 * attempt);
  }
}

const target = `${RC_USER}@127.0.0.1`;
const withKey = (key: string) => [...test.sshBase(), '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes'];

async function run(args: string[], input?: string): Promise<string> {
  const result = await ssh(test, args, input === undefined ? {} : { input });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.toString();
}

before(async () => {
  await ensureRcUser();
  uid = Number(spawnSync('id', ['-u', RC_USER], { encoding: 'utf8' }).stdout.trim());
  home = spawnSync('getent', ['passwd', RC_USER], { encoding: 'utf8' }).stdout.split(':')[5]!;
  test = await startTestServer({
    config: ['PrintMotd yes', 'Subsystem rctest /bin/echo subsystem-output'],
    extraAddresses: ['127.0.0.2', '127.0.0.3'],
    tail: ['Match LocalAddress 127.0.0.2', '  PermitUserRC no', 'Match LocalAddress 127.0.0.3', '  ForceCommand echo forced'],
  });
  noUserRcKey = makeKey(test.dir, 'id_no_user_rc', 'ed25519');
  restrictKey = makeKey(test.dir, 'id_restrict', 'ed25519');
  appendFileSync(test.authorizedKeys, `no-user-rc ${publicKeyLine(noUserRcKey)}\nrestrict ${publicKeyLine(restrictKey)}\n`);
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o755 });
  userRc = join(home, '.ssh', 'rc');
  systemRc = join(test.dir, 'sshrc');
  rmSync(userRc, { force: true });
});
after(async () => {
  rmSync(join(home, '.ssh'), { recursive: true, force: true });
  rmSync(join(home, '.hushlogin'), { force: true });
  await test?.stop();
});

const USER_RC_TEXT = [
  'echo "user-rc: $(id -un) $HOME $(pwd) $0 ${SSH_CONNECTION:+has-connection}"',
  'if read line; then echo "stdin: $line"; else echo "stdin: eof"; fi',
  '',
].join('\n');

describe('~/.ssh/rc and /etc/ssh/sshrc', () => {
  it('without either file the command runs alone', async () => {
    assert.equal(await run([...keyAuth(test), target, 'echo cmd']), 'cmd\n');
  });

  it('~/.ssh/rc runs first, as the user in their home, with the session environment and stdin at EOF', async () => {
    writeFileSync(userRc, USER_RC_TEXT, { mode: 0o644 });
    writeFileSync(systemRc, 'echo "system-rc: $(id -un) $0"\n');
    try {
      const out = await run([...keyAuth(test), target, 'echo cmd']);
      assert.equal(out, `user-rc: ${RC_USER} ${home} ${home} ${userRc} has-connection\nstdin: eof\ncmd\n`, 'and /etc/ssh/sshrc does not run');
    } finally {
      rmSync(systemRc, { force: true });
    }
  });

  it('/etc/ssh/sshrc runs instead when PermitUserRC is no, or the key has no-user-rc or restrict', async () => {
    writeFileSync(userRc, USER_RC_TEXT, { mode: 0o644 });
    writeFileSync(systemRc, 'echo "system-rc: $(id -un) $0"\n');
    try {
      const expected = `system-rc: ${RC_USER} ${systemRc}\ncmd\n`;
      assert.equal(await run([...keyAuth(test), `${RC_USER}@127.0.0.2`, 'echo cmd']), expected, 'PermitUserRC no (Match)');
      assert.equal(await run([...withKey(noUserRcKey), target, 'echo cmd']), expected, 'no-user-rc');
      assert.equal(await run([...withKey(restrictKey), target, 'echo cmd']), expected, 'restrict');
      rmSync(systemRc);
      assert.equal(await run([...withKey(noUserRcKey), target, 'echo cmd']), 'cmd\n', 'neither may run');
    } finally {
      rmSync(systemRc, { force: true });
    }
  });

  it('subsystems and ForceCommand skip ~/.ssh/rc but still run /etc/ssh/sshrc', async () => {
    writeFileSync(userRc, USER_RC_TEXT, { mode: 0o644 });
    assert.equal(await run([...keyAuth(test), '-s', target, 'rctest']), 'subsystem-output\n');
    assert.equal(await run([...keyAuth(test), `${RC_USER}@127.0.0.3`, 'echo cmd']), 'forced\n');
    writeFileSync(systemRc, 'echo "system-rc"\n');
    try {
      assert.equal(await run([...keyAuth(test), '-s', target, 'rctest']), 'system-rc\nsubsystem-output\n');
      assert.equal(await run([...keyAuth(test), `${RC_USER}@127.0.0.3`, 'echo cmd']), 'system-rc\nforced\n');
    } finally {
      rmSync(systemRc, { force: true });
    }
  });
});

describe('a login on a terminal: lastlog, wtmp, PrintLastLog and PrintMotd', () => {
  const lastlog = () => join(test.dir, 'lastlog');
  const wtmp = () => join(test.dir, 'wtmp');

  it('`ssh -tt host cmd` is recorded but not greeted; the next shell login shows "Last login", the motd, then ~/.ssh/rc', async () => {
    rmSync(userRc, { force: true });
    writeFileSync(lastlog(), '');
    writeFileSync(wtmp(), '');
    writeFileSync(join(test.dir, 'motd'), 'motd line one\nmotd line two\n');
    const first = await run([...keyAuth(test), '-tt', target, 'tty']);
    const tty = first.trim();
    assert.match(tty, /^\/dev\/pts\/\d+$/, 'a command is not greeted');
    const record = decodeLastLogin(readFileSync(lastlog()).subarray(uid * LASTLOG_RECORD_SIZE, (uid + 1) * LASTLOG_RECORD_SIZE));
    assert.equal(record.line, tty.slice('/dev/'.length));
    assert.equal(record.host, '127.0.0.1');
    assert.ok(Math.abs(record.time - Date.now() / 1000) < 60, `lastlog time ${record.time}`);
    for (let i = 0; i < 50 && statSync(wtmp()).size < 2 * UTMP_RECORD_SIZE; i++) await sleep(100);
    assert.equal(statSync(wtmp()).size, 2 * UTMP_RECORD_SIZE, 'a login and a logout record in wtmp');

    writeFileSync(userRc, 'echo user-rc-on-terminal\n', { mode: 0o644 });
    const shell = await run([...keyAuth(test), '-tt', target], 'exit\n');
    const expected = `Last login: ${ctime(record.time)} from 127.0.0.1\r\nmotd line one\r\nmotd line two\r\n`;
    assert.ok(shell.startsWith(expected), JSON.stringify(shell));
    // The terminal may echo the typed "exit" at any point; the rc's output comes before the shell's prompt.
    const rcAt = shell.indexOf('user-rc-on-terminal\r\n');
    assert.ok(rcAt > 0 && rcAt < shell.indexOf('$ '), JSON.stringify(shell));
  });

  it('~/.hushlogin keeps a shell login quiet', async () => {
    rmSync(userRc, { force: true });
    writeFileSync(join(home, '.hushlogin'), '');
    chmodSync(join(home, '.hushlogin'), 0o644);
    try {
      const shell = await run([...keyAuth(test), '-tt', target], 'exit\n');
      assert.doesNotMatch(shell, /Last login|motd line/);
    } finally {
      rmSync(join(home, '.hushlogin'), { force: true });
    }
  });
});
