/**
 * Issue 16's failover must-show: a session held on an internal `tether server` outlives the gateway in front
 * of it. The client reaches the internal host through a jump host whose Host block lists gateway A then B
 * (`HostName 127.0.0.2,127.0.0.3`, two stock sshd sharing one host key); A is killed (SIGKILL, by PID)
 * mid-stream; the client comes back through B, says so, and resumes: every number printed every 10 ms, and
 * every numbered line typed every 10 ms into `tee`, exactly once and in order. The client's -L and -R forwards
 * work again over the connection it came back on.
 */
import { after, before, beforeEach, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tcpConnect, createServer, type Server } from 'node:net';
import { freePort, makeKey, publicKeyLine, tempDir } from '../helpers/openssh.ts';
import { startServerProcess, TEST_USER, type ServerProcess } from '../helpers/server-process.ts';
import { stopHolders } from '../helpers/session-holders.ts';
import { keyText, killGateway, startGatewayPair, type GatewayPair } from '../helpers/gateways.ts';
import {
  exitWithin, numbers, PRINTER, range, runSshClient, sleep, typeNumberedLines, waitFor, type RunningClient,
} from '../helpers/held-session-client.ts';

const REACHED_B = 'Connected to 127.0.0.3 (alternate of 127.0.0.2).';

/** Sends `text` to 127.0.0.1:`port` and resolves with what comes back once it has all of it (bounded). */
function roundTrip(port: number, text: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => finish(new Error(`no echo of ${text} on port ${port} within ${timeoutMs} ms (got ${JSON.stringify(received)})`)), timeoutMs);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(received);
    };
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error(`port ${port} closed after ${JSON.stringify(received)}`)));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      if (received.length >= text.length) finish();
    });
    socket.write(text);
  });
}

/** roundTrip retried until it succeeds (a forward being set up again), bounded by `timeoutMs`. */
async function roundTripSoon(port: number, text: string, timeoutMs = 15_000): Promise<string> {
  for (const deadline = Date.now() + timeoutMs; ; await sleep(200)) {
    try {
      return await roundTrip(port, text);
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
  }
}

describe('a held session behind a jump host survives the death of its gateway', { timeout: 120_000 }, () => {
  let home: string;
  let gatewayKey: string;
  let sessions: string;
  let inner: ServerProcess;
  let gateways: GatewayPair;
  let config: string;

  before(async () => {
    home = tempDir('tether-failover-resume-');
    gatewayKey = makeKey(home, 'id_gateway', 'ed25519');
    sessions = tempDir('tether-failover-held-');
    chmodSync(sessions, 0o755);
    inner = await startServerProcess({ config: [`PersistentSessionDirectory ${sessions}`] });
  });
  after(async () => {
    await inner?.stop();
    // Holders outlive the server by design: a test that failed midway leaves sessions held.
    await stopHolders(sessions);
    rmSync(sessions, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  // A fresh pair for each test: each test kills its gateway A.
  beforeEach(async () => {
    gateways = await startGatewayPair([publicKeyLine(gatewayKey)]);
    const knownHosts = join(home, 'known_hosts');
    // The gateways' shared key is known under the first name only (shared keys, as failover.test.ts has it).
    writeFileSync(knownHosts, [
      `[127.0.0.2]:${gateways.port} ${keyText(gateways.hostKey)}`,
      `[127.0.0.1]:${inner.port} ${keyText(join(inner.dir, 'ssh_host_ed25519_key'))}`,
      '',
    ].join('\n'));
    const common = [`  UserKnownHostsFile ${knownHosts}`, '  GlobalKnownHostsFile /dev/null', '  StrictHostKeyChecking yes', '  BatchMode yes', '  IdentitiesOnly yes', '  ConnectTimeout 10'];
    config = join(home, 'config');
    writeFileSync(config, [
      'Host gw', '  HostName 127.0.0.2,127.0.0.3', `  Port ${gateways.port}`, '  User root', `  IdentityFile ${gatewayKey}`, ...common,
      'Host inner', '  HostName 127.0.0.1', `  Port ${inner.port}`, `  User ${TEST_USER}`, `  IdentityFile ${inner.clientKey}`, ...common,
      'Host inner-via-gw', '  HostName 127.0.0.1', `  Port ${inner.port}`, `  User ${TEST_USER}`, `  IdentityFile ${inner.clientKey}`, '  ProxyJump gw', ...common,
      '',
    ].join('\n'));
  });
  afterEach(async () => {
    await gateways.stop();
  });

  const client = (...args: string[]): RunningClient => runSshClient(['-F', config, ...args], { HOME: home });

  /** Kills gateway A once `ready` holds; the client must come back through B. */
  async function killGatewayA(running: RunningClient, ready: () => boolean): Promise<void> {
    await waitFor('output before the gateway dies', ready, 20_000, () => `${running.stdout().slice(-500)}\n${running.stderr()}`);
    assert.equal(running.stderr(), '', 'the first connection went through gateway A without a word');
    killGateway(gateways.a);
  }

  /** What the client said: the outage, then which gateway it reached. */
  function assertCameBackThroughB(running: RunningClient): void {
    const stderr = running.stderr().replace(/\r\n/g, '\n');
    const lost = stderr.indexOf('Connection to 127.0.0.1 lost; reconnecting (attempt 1)...\n');
    const reached = stderr.indexOf(`${REACHED_B}\n`);
    assert.ok(lost >= 0 && reached > lost, stderr);
  }

  test('output: every line exactly once, in order (-J gw)', async () => {
    const running = client('-J', 'gw', 'inner', PRINTER(400));
    try {
      await killGatewayA(running, () => numbers(running.stdout(), 'line').length >= 50);
      const status = await exitWithin(running, 40_000);
      assert.deepEqual(numbers(running.stdout(), 'line'), range(1, 400), `stderr: ${running.stderr()}`);
      assert.match(running.stdout(), /^END$/m);
      assert.equal(status, 0, running.stderr());
      assertCameBackThroughB(running);
    } finally {
      running.child.kill('SIGKILL');
    }
  });

  /**
   * Lines typed (`tty`) or piped into `running`, whose command tees its input to `file` after printing READY,
   * while gateway A is killed: each arrives exactly once, in the output and in the file.
   */
  async function everyLineOnce(running: RunningClient, tty: boolean, file: string): Promise<void> {
    const typist = typeNumberedLines(running, { tty, ready: () => running.stdout().includes('READY'), limit: 600 });
    try {
      await killGatewayA(running, () => numbers(running.stdout(), 'input').length >= 50);
      const typed = await typist.typed;
      const status = await exitWithin(running, 40_000);
      assert.deepEqual(numbers(running.stdout(), 'input'), range(1, typed), `stderr: ${running.stderr()}`);
      assert.deepEqual(numbers(readFileSync(file, 'latin1'), 'input'), range(1, typed));
      assert.equal(status, 0, running.stderr());
      assertCameBackThroughB(running);
    } finally {
      typist.stop();
      running.child.kill('SIGKILL');
      rmSync(file, { force: true });
    }
  }

  test('input: every typed line exactly once (ProxyJump, -tt)', async () => {
    // Written by the test user, who cannot enter our temporary home.
    const file = `/tmp/tether-failover-input-${process.pid}`;
    rmSync(file, { force: true });
    // stty -echo: only tee's copy comes back, so each line is seen once in the output too.
    await everyLineOnce(client('-tt', 'inner-via-gw', `stty -echo; echo READY; tee ${file}`), true, file);
  });

  test('input from a pipe: every line exactly once (ProxyJump, no terminal)', async () => {
    // Without a terminal the client reads its stdin pipe into a reused buffer (borrowed-stdin.ts), kept in
    // the input log's ring until acknowledged.
    const file = `/tmp/tether-failover-pipe-input-${process.pid}`;
    rmSync(file, { force: true });
    await everyLineOnce(client('inner-via-gw', `echo READY; tee ${file}`), false, file);
  });

  test('-L and -R work again over the connection the session resumed on', async () => {
    const echo: Server = createServer((socket) => socket.on('error', () => {}).pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const echoPort = (echo.address() as { port: number }).port;
    const [localPort, remotePort] = [await freePort(), await freePort()];
    const running = client(
      '-J', 'gw', '-L', `${localPort}:127.0.0.1:${echoPort}`, '-R', `${remotePort}:127.0.0.1:${echoPort}`, 'inner', 'echo READY; exec cat',
    );
    try {
      await waitFor('the session', () => running.stdout().includes('READY'), 20_000, running.stderr);
      assert.equal(await roundTrip(localPort, 'before-L'), 'before-L');
      assert.equal(await roundTrip(remotePort, 'before-R'), 'before-R');
      killGateway(gateways.a);
      // A line through cat comes back once the session has resumed (through B).
      running.child.stdin!.write('resumed?\n');
      await waitFor('the resumed session', () => running.stdout().includes('resumed?\n'), 30_000, running.stderr);
      assertCameBackThroughB(running);
      assert.equal(await roundTrip(localPort, 'after-L'), 'after-L', 'the -L listener opens its channels on the new connection');
      assert.equal(await roundTripSoon(remotePort, 'after-R'), 'after-R', 'the -R forward was asked for again');
      running.child.stdin!.end();
      assert.equal(await exitWithin(running, 20_000), 0, running.stderr());
    } finally {
      running.child.kill('SIGKILL');
      await new Promise((resolve) => echo.close(resolve));
    }
  });
});
