/**
 * `tether server` holding sessions for stock OpenSSH clients (docs/PROTOCOL.sessions §5): `ssh -t host attach
 * NAME` in a real terminal is shown the program's current screen, then live output; `sessions` lists what is
 * held; a second attach displaces the first client, which is told why; the session survives a SIGKILLed
 * server; plain `ssh host true` and `ssh -t host` behave as before with PersistentSessions on and off; and
 * PersistentSessions no in a Match block turns holding off for that user.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProgram, startServerProcess, TEST_USER, type ServerProcess } from '../helpers/server-process.ts';
import { makeKey, publicKeyLine, tempDir } from '../helpers/openssh.ts';
import { TerminalSession } from '../helpers/tmux.ts';
import { stopHolders } from '../helpers/session-holders.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A server process holding sessions in a directory of its own. */
async function heldServer(extra: string[] = [], tail: string[] = []): Promise<{ server: ServerProcess; sessions: string }> {
  const sessions = tempDir('tether-held-');
  chmodSync(sessions, 0o755);
  // `extra` first: the first value of a keyword wins.
  const server = await startServerProcess({ config: [...extra, `PersistentSessionDirectory ${sessions}`] });
  if (tail.length > 0) {
    // Match blocks go last: rewrite the configuration and restart on the same port.
    const config = join(server.dir, 'sshd_config');
    writeFileSync(config, `${readFileSync(config, 'utf8')}${tail.join('\n')}\n`);
    await server.restart('SIGTERM');
  }
  return { server, sessions };
}

function ssh(server: ServerProcess, args: string[], input = '') {
  return runProgram('/usr/bin/ssh', [...server.sshArgs(), ...args], input, 20_000, { ...process.env, HOME: server.dir });
}

function sshCommandLine(server: ServerProcess, args: string[]): string {
  return ['/usr/bin/ssh', ...server.sshArgs(), ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
}

/** The `sessions` table's rows as objects (NAME COMMAND AGE IDLE ATTACHED; COMMAND may contain blanks). */
async function listSessions(server: ServerProcess): Promise<Array<{ name: string; command: string; attached: string }>> {
  const result = await ssh(server, [`${TEST_USER}@127.0.0.1`, 'sessions']);
  assert.equal(result.status, 0, result.stderr);
  const [header, ...rows] = result.stdout.toString().trimEnd().split('\n');
  assert.match(header!, /^NAME +COMMAND +AGE +IDLE +ATTACHED$/);
  return rows.map((row) => {
    const words = row.trim().split(/ {2,}/);
    return { name: words[0]!, command: words[1]!, attached: words[words.length - 1]! };
  });
}

async function waitForSessions(server: ServerProcess, check: (rows: Awaited<ReturnType<typeof listSessions>>) => boolean): Promise<Awaited<ReturnType<typeof listSessions>>> {
  for (const deadline = Date.now() + 15_000; ; await sleep(200)) {
    const rows = await listSessions(server);
    if (check(rows)) return rows;
    if (Date.now() > deadline) throw new Error(`sessions never matched: ${JSON.stringify(rows)}`);
  }
}

describe('stock OpenSSH reattaches to a held session', { timeout: 120_000 }, () => {
  let server: ServerProcess;
  let sessions: string;
  const terminals: TerminalSession[] = [];
  let draw: string;

  before(async () => {
    ({ server, sessions } = await heldServer());
    // Draws at known positions, then a live counter on row 20.
    draw = join(server.dir, 'draw.sh');
    writeFileSync(draw, [
      "printf '\\033[2J\\033[5;10HFIVE-AT-10\\033[12;30HTWELVE-AT-30'",
      'i=0; while :; do i=$((i+1)); printf "\\033[20;1Htick %d " $i; sleep 0.2; done',
      '',
    ].join('\n'), { mode: 0o644 });
  });

  after(async () => {
    for (const terminal of terminals) terminal.close();
    await server?.stop();
    if (sessions) {
      await stopHolders(sessions);
      rmSync(sessions, { recursive: true, force: true });
    }
    // A job in its own group outlives the shell's hangup (dash does not pass SIGHUP on), as under sshd.
    for (const pid of sleepPids()) process.kill(pid, 'SIGKILL');
  });

  it('attach NAME redraws the screen, then live output; sessions lists it; the displaced client is told', async () => {
    const first = new TerminalSession(sshCommandLine(server, ['-tt', `${TEST_USER}@127.0.0.1`, `sh ${draw}`]), { width: 80, height: 24 });
    terminals.push(first);
    await first.waitFor(/TWELVE-AT-30[\s\S]*tick \d+/);
    const rows = await waitForSessions(server, (list) => list.some((row) => row.command === `sh ${draw}`));
    const held = rows.find((row) => row.command === `sh ${draw}`)!;
    assert.equal(held.attached, 'yes');

    const second = new TerminalSession(sshCommandLine(server, ['-t', `${TEST_USER}@127.0.0.1`, `attach ${held.name}`]), { width: 80, height: 24 });
    terminals.push(second);
    const screen = (await second.waitFor(/TWELVE-AT-30/)).split('\n');
    // The redraw puts everything where the program drew it (rows and columns count from 1).
    assert.equal(screen[4]!.indexOf('FIVE-AT-10'), 9, screen.join('\n'));
    assert.equal(screen[11]!.indexOf('TWELVE-AT-30'), 29, screen.join('\n'));
    const tick = () => Number(/tick (\d+)/.exec(second.screen())?.[1] ?? -1);
    const seen = tick();
    await second.waitFor(new RegExp(`tick (${seen + 1}|${seen + 2}|${seen + 3}|[1-9]\\d{2,})`));
    assert.ok(tick() > seen, 'live output continues after the redraw');

    // The first client learns why and its ssh ends; the session is now the second client's.
    await first.waitFor(/\[detached: [^\]]+\][\s\S]*\[exit status \d+\]/);
    const after = await listSessions(server);
    assert.equal(after.find((row) => row.name === held.name)?.attached, 'yes');
  });

  it('sessions and attach NAME work as a forced command (authorized_keys command=) too', async () => {
    const key = makeKey(server.dir, 'id_forced', 'ed25519');
    appendFileSync(join(server.dir, 'authorized_keys'), `command="sessions" ${publicKeyLine(key)}\n`);
    const args = server.sshArgs();
    args[args.indexOf('-i') + 1] = key;
    const result = await runProgram('/usr/bin/ssh', [...args, `${TEST_USER}@127.0.0.1`, 'echo not this'], '', 20_000, { ...process.env, HOME: server.dir });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout.toString(), /^NAME +COMMAND +AGE +IDLE +ATTACHED\n[\s\S]*sh \S+draw\.sh/);
  });

  it('attach with an unknown name fails with status 1', async () => {
    const result = await ssh(server, [`${TEST_USER}@127.0.0.1`, 'attach no-such-session']);
    assert.equal(result.status, 1);
    assert.equal(result.stderr, 'no session no-such-session\n');
    assert.equal(result.stdout.length, 0);
  });

  it('a SIGKILLed server leaves the session running; the restarted server reattaches it', async () => {
    const work = join(server.dir, 'work-dir');
    mkdirSync(work, { mode: 0o777 });
    chmodSync(work, 0o777);
    const shell = new TerminalSession(sshCommandLine(server, ['-tt', `${TEST_USER}@127.0.0.1`]), { width: 100, height: 30 });
    terminals.push(shell);
    shell.type(`cd ${work}; sleep 777 & echo STARTED-$((6*7))`);
    await shell.waitFor(/STARTED-42/);
    const before = await listSessions(server);
    const name = before.find((row) => row.attached === 'yes' && row.command === '-sh')?.name;
    assert.ok(name, `no attached shell in ${JSON.stringify(before)}`);

    await server.restart('SIGKILL');
    await shell.waitFor(/\[exit status \d+\]/);
    assert.ok(sleepRunning(), 'the sleep survived the server');

    const back = new TerminalSession(sshCommandLine(server, ['-t', `${TEST_USER}@127.0.0.1`, `attach ${name}`]), { width: 100, height: 30 });
    terminals.push(back);
    await back.waitFor(/STARTED-42/);
    back.type('pwd; jobs; echo DONE-$((5*5))');
    const screen = await back.waitFor(/DONE-25/);
    assert.ok(screen.includes(`\n${work}`), screen);
    assert.match(screen, /Running\s+sleep 777/);
  });
});

/** PIDs of the test's `sleep 777` (the shell's background job, in a process group of its own). */
function sleepPids(): number[] {
  return readdirSync('/proc').filter((entry) => {
    try {
      return /^\d+$/.test(entry) && readFileSync(`/proc/${entry}/cmdline`, 'utf8') === 'sleep\x00777\x00';
    } catch {
      return false;
    }
  }).map(Number);
}

const sleepRunning = (): boolean => sleepPids().length > 0;

describe('plain sessions behave as before, with PersistentSessions on and off', { timeout: 120_000 }, () => {
  const servers: Array<{ server: ServerProcess; sessions: string }> = [];

  before(async () => {
    servers.push(await heldServer(['PersistentSessions yes']));
    servers.push(await heldServer(['PersistentSessions no']));
    servers.push(await heldServer([], ['Match User ' + TEST_USER, '  PersistentSessions no']));
    // A holder that cannot be started (its directory cannot be made): sessions run unheld, logins work.
    servers.push(await heldServer(['PersistentSessionDirectory /dev/null/held']));
  });

  after(async () => {
    for (const { server, sessions } of servers) {
      await server.stop();
      await stopHolders(sessions);
      rmSync(sessions, { recursive: true, force: true });
    }
  });

  it('ssh host true / a command with status, stdout and stderr / ssh -tt host', async () => {
    for (const { server } of servers) {
      const plain = await ssh(server, [`${TEST_USER}@127.0.0.1`, 'true']);
      assert.equal(plain.status, 0, plain.stderr);
      assert.equal(plain.stdout.length, 0);
      const command = await ssh(server, [`${TEST_USER}@127.0.0.1`, 'echo out; echo err >&2; read line; echo "got $line"; exit 4'], 'typed\n');
      assert.deepEqual([command.status, command.stdout.toString(), command.stderr], [4, 'out\ngot typed\n', 'err\n']);
      const terminal = await ssh(server, ['-tt', `${TEST_USER}@127.0.0.1`, 'echo on-a-tty; tty; exit 3']);
      assert.equal(terminal.status, 3, terminal.stderr);
      assert.match(terminal.stdout.toString(), /^on-a-tty\r\n\/dev\/pts\/\d+\r\n$/);
    }
  });

  it('PersistentSessions no (globally or in a Match block) holds nothing: `sessions` is an ordinary command', async () => {
    const [on, off, matched] = servers.map((entry) => entry.server);
    assert.equal((await ssh(on!, [`${TEST_USER}@127.0.0.1`, 'sessions'])).status, 0);
    for (const server of [off!, matched!]) {
      const result = await ssh(server, [`${TEST_USER}@127.0.0.1`, 'sessions']);
      assert.equal(result.status, 127, 'the shell looks for a program called sessions');
      assert.doesNotMatch(server.log(), /Holding session/);
    }
    assert.match(on!.log(), /Holding session \S+ for tethertest/);
    const broken = servers[3]!.server;
    assert.match(broken.log(), /session holder for tethertest unavailable \(create\): .*; session not held/);
    assert.doesNotMatch(broken.log(), /Holding session/);
  });
});
