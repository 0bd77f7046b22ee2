/**
 * Sessions on `tether server` driven by the stock OpenSSH client: byte-exact bulk data both ways, exit
 * statuses and signals, stdin EOF, stderr, environment (AcceptEnv, SSH_CONNECTION), a real pseudo-terminal
 * (`ssh -tt host tty`, window size, terminal modes) and an interactive shell driven through tmux.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execFileText, keyAuth, run, sh, ssh, startTestServer, type TestServer } from './server-harness.ts';

const SIZE = 256 * 1024 * 1024;
let test: TestServer;
let bigFile: string;
let bigHash: string;

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}

const quote = (args: string[]) => args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');

before(async () => {
  test = await startTestServer({ config: ['AcceptEnv LANG LC_* TETHER_*'] });
  bigFile = join(test.dir, 'random.bin');
  const made = await sh(`head -c ${SIZE} /dev/urandom > ${bigFile}`, { timeoutMs: 60_000 });
  assert.equal(made.status, 0, made.stderr);
  bigHash = await sha256File(bigFile);
});
after(async () => {
  await test?.stop();
});

describe('bulk data', () => {
  it('256 MiB each way through `ssh host cat`, byte for byte', async () => {
    const result = await sh(`ssh ${quote([...keyAuth(test), 'tethertest@127.0.0.1', 'cat'])} < ${bigFile} | sha256sum`, {
      timeoutMs: 120_000,
      home: join(test.dir, 'home'),
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString().split(' ')[0], bigHash);
  });

  it('256 MiB from the server: the remote digest matches what arrived', async () => {
    const command = `head -c ${SIZE} /dev/urandom > "$HOME/.tether-bulk"; sha256sum < "$HOME/.tether-bulk" >&2; cat "$HOME/.tether-bulk"; rm -f "$HOME/.tether-bulk"`;
    const received = join(test.dir, 'received.bin');
    const result = await sh(`ssh ${quote([...keyAuth(test), 'tethertest@127.0.0.1', command])} > ${received}`, {
      timeoutMs: 120_000,
      home: join(test.dir, 'home'),
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(await sha256File(received), result.stderr.trim().split(' ')[0]);
  });
});

describe('exec', () => {
  for (const code of [0, 1, 42]) {
    it(`exit status ${code}`, async () => {
      const result = await ssh(test, [...keyAuth(test), 'tethertest@127.0.0.1', `exit ${code}`]);
      assert.equal(result.status, code);
      assert.equal(result.stderr, '');
    });
  }

  it('a command killed by a signal: exit-signal, ssh exits 255 and prints nothing odd', async () => {
    const result = await ssh(test, [...keyAuth(test), 'tethertest@127.0.0.1', 'echo before; kill -TERM $$; echo after']);
    assert.equal(result.status, 255);
    assert.equal(result.stdout.toString(), 'before\n');
    assert.equal(result.stderr, '');
    await test.waitForLog(/Starting session: command/);
  });

  it('stdout and stderr stay apart; stdin EOF reaches the command', async () => {
    const input = randomBytes(100_000);
    const result = await ssh(test, [...keyAuth(test), 'tethertest@127.0.0.1', 'wc -c; echo to-stderr >&2'], { input });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString().trim(), '100000');
    assert.equal(result.stderr, 'to-stderr\n');
  });

  it('runs as the user, in their home, with their environment and the connection variables', async () => {
    const result = await ssh(test, [
      ...keyAuth(test), '-o', 'SendEnv=TETHER_SENT LC_TEST NOT_ACCEPTED', 'tethertest@127.0.0.1',
      'id -un; pwd; echo "$USER|$LOGNAME|$HOME|$SHELL|$MAIL"; echo "$SSH_CONNECTION"; echo "$SSH_CLIENT"; echo "${TETHER_SENT-unset}|${LC_TEST-unset}|${NOT_ACCEPTED-unset}|${SSH_TTY-notty}"',
    ], { input: '' });
    assert.equal(result.status, 0, result.stderr);
    const [user, pwd, vars, connection, client, sent] = result.stdout.toString().trim().split('\n');
    assert.equal(user, 'tethertest');
    assert.equal(pwd, '/home/tethertest');
    assert.equal(vars, 'tethertest|tethertest|/home/tethertest|/bin/sh|/var/mail/tethertest');
    assert.match(connection!, new RegExp(`^127\\.0\\.0\\.1 \\d+ 127\\.0\\.0\\.1 ${test.port}$`));
    assert.match(client!, new RegExp(`^127\\.0\\.0\\.1 \\d+ ${test.port}$`));
    assert.equal(sent, 'unset|unset|unset|notty');
  });

  it('env requests pass only names listed in AcceptEnv', async () => {
    const result = await sh(
      `TETHER_SENT=yes LC_TEST=fr NOT_ACCEPTED=x ssh ${quote([...keyAuth(test), '-o', 'SendEnv=TETHER_SENT LC_TEST NOT_ACCEPTED', 'tethertest@127.0.0.1', 'echo "${TETHER_SENT-unset}|${LC_TEST-unset}|${NOT_ACCEPTED-unset}"'])}`,
      { home: join(test.dir, 'home') },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'yes|fr|unset\n');
  });
});

describe('pseudo-terminals', () => {
  it('`ssh -tt host tty` prints a /dev/pts path, and SSH_TTY and TERM are set', async () => {
    const result = await run('/usr/bin/ssh', [...keyAuth(test), '-tt', 'tethertest@127.0.0.1', 'tty; echo "$SSH_TTY $TERM"'], {
      home: join(test.dir, 'home'),
      env: { TERM: 'xterm-256color' },
    });
    assert.equal(result.status, 0, result.stderr);
    const [tty, vars] = result.stdout.toString().split('\r\n');
    assert.match(tty!, /^\/dev\/pts\/\d+$/);
    assert.equal(vars, `${tty} xterm-256color`);
  });

  it('an interactive shell through tmux runs a command and exits', async () => {
    const socket = `tether-test-${process.pid}`;
    const sshCommand = `HOME=${join(test.dir, 'home')} ssh ${quote([...keyAuth(test), '-t', 'tethertest@127.0.0.1'])}`;
    const tmux = (...args: string[]) => execFileText('tmux', ['-L', socket, ...args]);
    const pane = async () => (await tmux('capture-pane', '-p', '-t', 'gw')).stdout;
    const waitForPane = async (pattern: RegExp) => {
      for (let i = 0; i < 150; i++) {
        const text = await pane();
        if (pattern.test(text)) return text;
        await sleep(100);
      }
      throw new Error(`tmux pane never showed ${pattern}:\n${await pane()}`);
    };
    try {
      const started = await tmux('new-session', '-d', '-s', 'gw', '-x', '100', '-y', '30', sshCommand);
      assert.equal(started.status, 0, started.stderr);
      await waitForPane(/^\$\s*$/m);
      await tmux('send-keys', '-t', 'gw', 'stty size; echo marker-$((6*7)); tty', 'Enter');
      // tty prints after the marker, possibly a moment later: wait for both.
      const text = await waitForPane(/marker-42[\s\S]*\/dev\/pts\/\d+/);
      assert.match(text, /^30 100$/m, 'the terminal has the size tmux gave the client');
      assert.match(text, /^\/dev\/pts\/\d+$/m);
      await tmux('send-keys', '-t', 'gw', 'exit', 'Enter');
      for (let i = 0; i < 100 && (await tmux('has-session', '-t', 'gw')).status === 0; i++) await sleep(100);
      assert.notEqual((await tmux('has-session', '-t', 'gw')).status, 0, 'the shell exited and ssh ended');
    } finally {
      await tmux('kill-server');
    }
  });

  it('window-change resizes the terminal', async () => {
    // `ssh -tt` with stdin from a pipe cannot resize; drive a PTY session through tmux resize instead.
    const socket = `tether-resize-${process.pid}`;
    const tmux = (...args: string[]) => execFileText('tmux', ['-L', socket, ...args]);
    const sshCommand = `HOME=${join(test.dir, 'home')} ssh ${quote([...keyAuth(test), '-t', 'tethertest@127.0.0.1', 'sleep 1; stty size; sleep 3'])}`;
    try {
      await tmux('new-session', '-d', '-s', 'rs', '-x', '80', '-y', '24', sshCommand);
      await sleep(300);
      await tmux('resize-window', '-t', 'rs', '-x', '132', '-y', '40');
      let text = '';
      for (let i = 0; i < 50 && !/^\d+ \d+$/m.test(text); i++) {
        await sleep(100);
        text = (await tmux('capture-pane', '-p', '-t', 'rs')).stdout;
      }
      assert.match(text, /^40 132$/m);
    } finally {
      await tmux('kill-server');
    }
  });

  it('terminal modes from pty-req are applied', async () => {
    // script(1) gives ssh a terminal; unusual settings on it (intr ^E, -echoe) must reach the remote pty.
    const inner = `stty intr ^E -echoe; ssh ${quote([...keyAuth(test), '-tt', 'tethertest@127.0.0.1', 'stty -a'])}`;
    const result = await sh(`script -qec ${quote([inner])} /dev/null < /dev/null`, { home: join(test.dir, 'home'), timeoutMs: 20_000 });
    assert.equal(result.status, 0, result.stderr);
    const modes = result.stdout.toString();
    assert.match(modes, /intr = \^E;/);
    assert.match(modes, /\s-echoe\s/);
    assert.match(modes, /\sicanon\s/);
  });
});

describe('Subsystem, ForceCommand and PermitTTY', () => {
  let forced: TestServer;
  before(async () => {
    forced = await startTestServer({
      config: ['Subsystem sftp /usr/lib/openssh/sftp-server', 'PermitTTY no'],
      tail: ['Match User tethertest', '\tForceCommand echo "forced[$SSH_ORIGINAL_COMMAND]"'],
    });
  });
  after(async () => {
    await forced?.stop();
  });

  it('ForceCommand runs instead of the request, with SSH_ORIGINAL_COMMAND', async () => {
    const result = await ssh(forced, [...keyAuth(forced), 'tethertest@127.0.0.1', 'id -u']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'forced[id -u]\n');
  });

  it('PermitTTY no refuses pty-req', async () => {
    const result = await ssh(forced, [...keyAuth(forced), '-tt', 'tethertest@127.0.0.1', 'true']);
    assert.match(result.stderr, /PTY allocation request failed/);
  });

  it('the sftp subsystem runs OpenSSH\'s sftp-server for the stock sftp client', async () => {
    const plain = await startTestServer({ config: ['Subsystem sftp /usr/lib/openssh/sftp-server'] });
    try {
      // sftp takes the port as -P; drop ssh's -p from the common arguments.
      const args = keyAuth(plain);
      args.splice(args.indexOf('-p'), 2);
      const result = await run('/usr/bin/sftp', ['-b', '-', '-P', String(plain.port), ...args, 'tethertest@127.0.0.1'], {
        input: 'pwd\n',
        home: join(plain.dir, 'home'),
      });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout.toString(), /Remote working directory: \/home\/tethertest/);
    } finally {
      await plain.stop();
    }
  });
});
