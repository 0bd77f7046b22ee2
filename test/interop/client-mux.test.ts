/**
 * Connection multiplexing (PROTOCOL.mux) against real OpenSSH, both ways round: a Tether ControlMaster
 * serving stock `ssh -S` clients (sessions with their descriptors, exit statuses, SendEnv, -O check/forward/
 * proxy/exit), and `tether ssh -S` using a stock `ssh -M -S -fN` master (sessions, -O proxy, -W, -O
 * forward/cancel/exit, ssh's messages when no master runs), plus ControlPersist's idle timeout.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, makeKey, publicKeyLine, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { runProgram, runTether, startTether } from '../helpers/tether.ts';
import { canConnect, echoService, listen, closeServer, waitFor } from '../helpers/services.ts';
import { isAlive, stopProcess } from '../helpers/processes.ts';
import type { Server } from 'node:net';

const SSH = '/usr/bin/ssh';

describe('connection multiplexing with OpenSSH', () => {
  let home: string;
  let sshd: RunningSshd;
  let config: string;
  let data: Buffer;
  let dataFile: string;
  let echo: Server;
  let echoPort: number;
  const children: ChildProcess[] = [];
  /** Masters that went to the background by themselves (ssh -f), stopped by the PID they reported. */
  const backgroundPids: number[] = [];

  before(async () => {
    home = tempDir('tether-mux-');
    const key = makeKey(home, 'id_ed25519', 'ed25519');
    sshd = await startSshd({ authorizedKeys: [publicKeyLine(key)], config: ['AcceptEnv MUX_TEST_*'] });
    const hostKey = readFileSync(`${sshd.hostKeys.ed25519}.pub`, 'utf8').trim();
    writeFileSync(join(home, 'known_hosts'), `[127.0.0.1]:${sshd.port} ${hostKey}\n`);
    config = join(home, 'ssh_config');
    writeFileSync(config, [
      'Host *',
      '  HostName 127.0.0.1',
      `  Port ${sshd.port}`,
      '  User root',
      `  IdentityFile ${key}`,
      `  UserKnownHostsFile ${join(home, 'known_hosts')}`,
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '',
    ].join('\n'));
    data = randomBytes(3 * 1024 * 1024 + 17);
    dataFile = join(home, 'data');
    writeFileSync(dataFile, data);
    echo = echoService();
    echoPort = await listen(echo);
  });

  after(async () => {
    for (const child of children) await stopProcess(child);
    for (const pid of backgroundPids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await closeServer(echo);
    await sshd.stop();
    rmSync(home, { recursive: true, force: true });
  });

  const ssh = (args: string[], options: { input?: string; timeoutMs?: number } = {}) => runProgram(SSH, ['-F', config, ...args], { timeoutMs: 20_000, ...options });
  const tether = (args: string[], options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}) =>
    runTether(['ssh', '-F', config, ...args], { timeoutMs: 30_000, ...options });

  describe('a Tether master serving stock ssh clients', () => {
    let ctl: string;
    let master: ChildProcess;
    /** A forward on the master's own command line, which -O cancel may name too (mux.c). */
    let ownPort: number;

    before(async () => {
      ctl = join(home, 'tether-ctl');
      ownPort = await freePort();
      master = startTether(['ssh', '-F', config, '-N', '-n', '-M', '-S', ctl, '-o', 'SendEnv=MUX_TEST_*', '-L', `127.0.0.1:${ownPort}:127.0.0.1:${echoPort}`, 'somehost']);
      children.push(master);
      await waitFor('the control socket', () => existsSync(ctl), 20_000);
    });

    test('-O check names the master', async () => {
      const result = await ssh(['-S', ctl, '-O', 'check', 'somehost']);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stderr, `Master running (pid=${master.pid})\r\n`);
    });

    test('sessions get the client\'s stdin, stdout and stderr, its environment, and the exit status', async () => {
      const withEnv = await runProgram(SSH, ['-F', config, '-S', ctl, '-o', 'SendEnv=MUX_TEST_*', 'somehost', 'cat; echo "[$MUX_TEST_VALUE]"; echo oops >&2; exit 3'], {
        input: 'through stdin\n',
        env: { MUX_TEST_VALUE: 'shared' },
        timeoutMs: 20_000,
      });
      assert.equal(withEnv.status, 3, withEnv.stderr);
      assert.equal(withEnv.stdout.toString(), 'through stdin\n[shared]\n');
      assert.match(withEnv.stderr, /oops/);
    });

    test('output arrives byte for byte', async () => {
      const result = await ssh(['-S', ctl, 'somehost', 'cat', dataFile], { timeoutMs: 30_000 });
      assert.equal(result.status, 0, result.stderr);
      assert.ok(result.stdout.equals(data));
    });

    test('-O proxy sessions run over the master', async () => {
      const result = await ssh(['-S', ctl, '-O', 'proxy', 'somehost', 'echo proxied; exit 5']);
      assert.equal(result.status, 5, result.stderr);
      assert.equal(result.stdout.toString(), 'proxied\n');
    });

    test('-O forward -L listens through the master, -O cancel stops it', async () => {
      const port = await freePort();
      const forward = await ssh(['-S', ctl, '-O', 'forward', '-L', `127.0.0.1:${port}:127.0.0.1:${echoPort}`, 'somehost']);
      assert.equal(forward.status, 0, forward.stderr);
      await waitFor('the forwarded port', () => canConnect({ port }));
      const cancel = await ssh(['-S', ctl, '-O', 'cancel', '-L', `127.0.0.1:${port}:127.0.0.1:${echoPort}`, 'somehost']);
      assert.equal(cancel.status, 0, cancel.stderr);
      await waitFor('the forward to close', async () => !(await canConnect({ port })));
    });

    test('-O cancel stops a forward the master set up itself', async () => {
      await waitFor('the master\'s own forward', () => canConnect({ port: ownPort }));
      const cancel = await ssh(['-S', ctl, '-O', 'cancel', '-L', `127.0.0.1:${ownPort}:127.0.0.1:${echoPort}`, 'somehost']);
      assert.equal(cancel.status, 0, cancel.stderr);
      await waitFor('the forward to close', async () => !(await canConnect({ port: ownPort })));
      const again = await ssh(['-S', ctl, '-O', 'cancel', '-L', `127.0.0.1:${ownPort}:127.0.0.1:${echoPort}`, 'somehost']);
      // ssh reports a failed cancel and still exits 0 (mux.c SSHMUX_COMMAND_CANCEL_FWD).
      assert.match(again.stderr, /forwarding request failed: port not forwarded/);
    });

    test('-O exit ends the master and removes the socket', async () => {
      const result = await ssh(['-S', ctl, '-O', 'exit', 'somehost']);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stderr, 'Exit request sent.\r\n');
      await waitFor('the master to exit', () => master.exitCode !== null, 15_000);
      assert.equal(existsSync(ctl), false);
    });
  });

  describe('tether ssh -S with a stock OpenSSH master', () => {
    let ctl: string;
    let masterPid: number;

    before(async () => {
      ctl = join(home, 'openssh-ctl');
      const started = await ssh(['-M', '-S', ctl, '-f', '-N', 'somehost']);
      assert.equal(started.status, 0, started.stderr);
      const check = await ssh(['-S', ctl, '-O', 'check', 'somehost']);
      masterPid = Number(/pid=(\d+)/.exec(check.stderr)?.[1]);
      assert.ok(masterPid > 0, check.stderr);
      backgroundPids.push(masterPid);
    });

    test('-O check reports the master like ssh', async () => {
      const result = await tether(['-S', ctl, '-O', 'check', 'somehost']);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stderr, `Master running (pid=${masterPid})\r\n`);
    });

    test('a session passes our descriptors and returns the remote exit status', async () => {
      const result = await tether(['-S', ctl, 'somehost', 'cat; echo err >&2; exit 7'], { input: 'hello master\n' });
      assert.equal(result.status, 7, result.stderr);
      assert.equal(result.stdout.toString(), 'hello master\n');
      assert.match(result.stderr, /err/);
      const big = await tether(['-S', ctl, 'somehost', 'cat', dataFile]);
      assert.equal(big.status, 0, big.stderr);
      assert.ok(big.stdout.equals(data));
    });

    test('-O proxy speaks the connection protocol over the socket', async () => {
      const result = await tether(['-S', ctl, '-O', 'proxy', 'somehost', 'echo proxied; exit 4']);
      assert.equal(result.status, 4, result.stderr);
      assert.equal(result.stdout.toString(), 'proxied\n');
    });

    test('-W forwards stdio through the master', async () => {
      const result = await tether(['-S', ctl, '-W', `127.0.0.1:${echoPort}`, 'somehost'], { input: 'echo me' });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.toString(), 'echo me');
    });

    test('-O forward and -O cancel', async () => {
      const port = await freePort();
      const spec = `127.0.0.1:${port}:127.0.0.1:${echoPort}`;
      assert.equal((await tether(['-S', ctl, '-O', 'forward', '-L', spec, 'somehost'])).status, 0);
      await waitFor('the forwarded port', () => canConnect({ port }));
      assert.equal((await tether(['-S', ctl, '-O', 'cancel', '-L', spec, 'somehost'])).status, 0);
      await waitFor('the forward to close', async () => !(await canConnect({ port })));
    });

    test('-O exit, then ssh\'s message when no master answers', async () => {
      const result = await tether(['-S', ctl, '-O', 'exit', 'somehost']);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stderr, 'Exit request sent.\r\n');
      await waitFor('the master to exit', () => !isAlive(masterPid), 15_000);
      const check = await tether(['-S', ctl, '-O', 'check', 'somehost']);
      assert.equal(check.status, 255);
      assert.equal(check.stderr.trim(), `Control socket connect(${ctl}): No such file or directory`);
    });
  });

  test('ControlPersist: the master outlives its first session, then exits when idle', async () => {
    const ctl = join(home, 'persist-%r-%p');
    const expanded = join(home, `persist-root-${sshd.port}`);
    const options = ['-o', 'ControlMaster=auto', '-o', `ControlPath=${ctl}`, '-o', 'ControlPersist=2'];
    const first = await tether([...options, 'somehost', 'echo first; exit 2']);
    assert.equal(first.status, 2, first.stderr);
    assert.equal(first.stdout.toString(), 'first\n');
    assert.ok(existsSync(expanded), 'the master keeps listening');
    const check = await tether(['-S', expanded, '-O', 'check', 'somehost']);
    assert.equal(check.status, 0, check.stderr);
    const pid = Number(/pid=(\d+)/.exec(check.stderr)?.[1]);
    backgroundPids.push(pid);
    const second = await tether([...options, 'somehost', 'echo second']);
    assert.equal(second.stdout.toString(), 'second\n');
    await waitFor('the idle master to exit', () => !isAlive(pid) && !existsSync(expanded), 15_000);
  });
});
