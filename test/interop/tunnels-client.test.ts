/**
 * `tether ssh` forwarding through a real OpenSSH sshd: -L (TCP and Unix sockets), -D (SOCKS4, 4a, 5 with
 * IPv4, names and IPv6), -R (fixed and allocated ports), -W, a refused destination that leaves the session
 * up, ExitOnForwardFailure, GatewayPorts, -f, and the data paths: 256 MiB with matching SHA-256 into a reader
 * that sleeps (with the client's memory measured), a stalled reader stopping the sender, and 50 concurrent
 * connections.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { connect as netConnect, createServer, type Server } from 'node:net';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Server as HttpServer } from 'node:http';
import { freePort, makeKey, publicKeyLine, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { runTether, startTetherCollecting } from '../helpers/tether.ts';
import { connectAsRoot } from '../helpers/library-client.ts';
import { resolveSshConfig } from '../../src/config/ssh/index.ts';
import { startForwarding } from '../../src/cli/ssh-forwarding.ts';
import {
  canConnect, closeServer, dualStackHttpService, echoService, hashUntilEnd, httpGetText, httpService, listen, rssKiB, socksConnect, waitFor,
} from '../helpers/services.ts';
import { stopProcess } from '../helpers/processes.ts';

const BIG_TRANSFER = 256 * 1024 * 1024;

describe('tether ssh forwarding through OpenSSH sshd', () => {
  let home: string;
  let key: string;
  let sshd: RunningSshd;
  /** An sshd whose PermitListen allows one port only, for refused remote forwards. */
  let restricted: RunningSshd;
  let permittedListenPort: number;
  let http: HttpServer;
  let httpPort: number;
  let http6: HttpServer;
  let unixHttp: HttpServer;
  let unixHttpPath: string;
  let echo: Server;
  let echoPort: number;
  let forbidden: Server;
  let forbiddenPort: number;
  let source: Server;
  let sourcePort: number;
  /** Connections the data source has accepted (readiness probes included). */
  let sourceConnections = 0;
  /** What the data source sends next: bytes, and the SHA-256 it computed of what it wrote. */
  let sourcePlan: { bytes: number; written: number; sha256: Promise<string> } | undefined;
  const children: ChildProcess[] = [];

  before(async () => {
    home = tempDir();
    key = makeKey(home, 'id_ed25519', 'ed25519');
    ({ servers: [http, http6], port: httpPort } = await dualStackHttpService());
    unixHttpPath = join(home, 'http.sock');
    unixHttp = httpService();
    await listen(unixHttp, { path: unixHttpPath });
    echo = echoService();
    echoPort = await listen(echo);
    forbidden = echoService();
    forbiddenPort = await listen(forbidden);
    // Sends sourcePlan.bytes of random data to whoever connects, hashing as it writes, honouring backpressure.
    source = createServer((socket) => {
      sourceConnections++;
      // Only the one connection a test planned for gets data (a readiness probe gets nothing).
      const plan = sourcePlan;
      sourcePlan = undefined;
      if (!plan) return void socket.destroy();
      const hash = createHash('sha256');
      let resolveHash!: (value: string) => void;
      plan.sha256 = new Promise((resolve) => (resolveHash = resolve));
      socket.on('error', () => {});
      const block = randomBytes(256 * 1024);
      const pump = () => {
        while (plan.written < plan.bytes) {
          // Fresh bytes at the head of every block, so a misplaced or repeated block changes the hash.
          const chunk = Buffer.concat([randomBytes(32), block.subarray(32)]);
          const piece = chunk.subarray(0, Math.min(chunk.length, plan.bytes - plan.written));
          hash.update(piece);
          plan.written += piece.length;
          if (!socket.write(piece)) return void socket.once('drain', pump);
        }
        resolveHash(hash.digest('hex'));
        socket.end();
      };
      pump();
    });
    sourcePort = await listen(source);
    sshd = await startSshd({
      authorizedKeys: [publicKeyLine(key)],
      config: [
        'AllowTcpForwarding yes',
        'GatewayPorts no',
        `PermitOpen 127.0.0.1:${httpPort} localhost:${httpPort} [::1]:${httpPort} 127.0.0.1:${echoPort} 127.0.0.1:${sourcePort}`,
        'AllowStreamLocalForwarding yes',
      ],
    });
    permittedListenPort = await freePort();
    restricted = await startSshd({
      authorizedKeys: [publicKeyLine(key)],
      config: ['AllowTcpForwarding yes', 'GatewayPorts no', `PermitListen localhost:${permittedListenPort}`],
    });
  });

  after(async () => {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) continue;
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Exited just now.
      }
    }
    await sshd.stop();
    await restricted.stop();
    await Promise.all([http, http6, unixHttp, echo, forbidden, source].map(closeServer));
  });

  const baseArgs = (server = sshd) => [
    'ssh', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`,
    '-o', 'BatchMode=yes', '-i', key, '-p', String(server.port),
  ];

  /** Starts `tether ssh -N …` in the background and collects its stderr. (-p is first-wins, as in ssh.c.) */
  function startForwarder(extra: string[], server = sshd): { child: ChildProcess; stderr: () => string } {
    const started = startTetherCollecting([...baseArgs(server), '-N', ...extra, 'root@127.0.0.1'], { env: { HOME: home } });
    children.push(started.child);
    return started;
  }

  const stop = (child: ChildProcess) => stopProcess(child);

  test('-L forwards TCP to an HTTP service; a refused destination is reported and the session goes on', async () => {
    const [localPort, refusedPort] = [await freePort(), await freePort()];
    const { child, stderr } = startForwarder(['-L', `${localPort}:127.0.0.1:${httpPort}`, '-L', `${refusedPort}:127.0.0.1:${forbiddenPort}`]);
    await waitFor('the -L listener', () => canConnect({ port: localPort }));
    const first = await httpGetText({ port: localPort, path: '/first' });
    assert.equal(first.status, 200);
    assert.equal(first.body, 'hello from the tunnelled service: /first');

    // sshd's PermitOpen does not list the destination: the channel is refused, only that connection drops.
    const refused = netConnect(refusedPort, '127.0.0.1');
    await new Promise<void>((resolve) => refused.once('close', () => resolve()).on('error', () => {}));
    await waitFor('the refusal message', () => /channel( \d+)?: open failed: administratively prohibited: open failed/.test(stderr()) || undefined).catch((error: Error) => {
      throw new Error(`${error.message}; stderr: ${stderr()}`);
    });
    const second = await httpGetText({ port: localPort, path: '/second' });
    assert.equal(second.body, 'hello from the tunnelled service: /second');
    assert.equal(child.exitCode, null, 'the session must still be up');
    assert.match(sshd.log(), new RegExp(`to connect to host 127\\.0\\.0\\.1 port ${forbiddenPort}, but the request was denied`));
    await stop(child);
  });

  test('-L to and from Unix-domain sockets', async () => {
    const localSocket = join(home, 'local-fwd.sock');
    const tcpPort = await freePort();
    // The restricted sshd: a PermitOpen list of host:port entries denies every socket path, so not the main one.
    const { child, stderr } = startForwarder(['-L', `${localSocket}:127.0.0.1:${httpPort}`, '-L', `${tcpPort}:${unixHttpPath}`], restricted);
    await waitFor('the Unix listener', () => existsSync(localSocket) && canConnect({ path: localSocket }));
    const viaLocalSocket = await httpGetText({ socketPath: localSocket, path: '/unix-listen' }).catch((error: Error) => {
      throw new Error(`${error.message}; stderr: ${stderr()}`);
    });
    assert.equal(viaLocalSocket.body, 'hello from the tunnelled service: /unix-listen');
    // StreamLocalBindMask 0177: only the owner may connect.
    const { statSync } = await import('node:fs');
    assert.equal(statSync(localSocket).mode & 0o777, 0o600);
    await waitFor('the TCP listener', () => canConnect({ port: tcpPort }));
    const toRemoteSocket = await httpGetText({ port: tcpPort, path: '/unix-connect' });
    assert.equal(toRemoteSocket.body, 'hello from the tunnelled service: /unix-connect');
    await stop(child);
  });

  test('-D speaks SOCKS4, SOCKS4a and SOCKS5 (IPv4, domain name, IPv6) to a real HTTP service', async () => {
    const socksPort = await freePort();
    const { child, stderr } = startForwarder(['-D', `${socksPort}`]);
    await waitFor('the SOCKS listener', () => canConnect({ port: socksPort }));
    const cases: Array<['4' | '4a' | '5', string]> = [['4', '127.0.0.1'], ['4a', 'localhost'], ['5', '127.0.0.1'], ['5', 'localhost'], ['5', '::1']];
    for (const [version, host] of cases) {
      const socket = await socksConnect(socksPort, version, host, httpPort);
      const result = await httpGetText({ path: `/socks${version}`, createConnection: () => socket });
      assert.equal(result.body, `hello from the tunnelled service: /socks${version}`, `SOCKS${version} to ${host}`);
    }
    // A destination sshd refuses is refused to the SOCKS client as "not allowed" (RFC 1928 reply 2).
    await assert.rejects(socksConnect(socksPort, '5', '127.0.0.1', forbiddenPort), /SOCKS5 refused: 2/);
    assert.match(stderr(), /open failed: administratively prohibited/);
    assert.equal(child.exitCode, null);
    await stop(child);
  });

  test('-R with a fixed port and with port 0 (prints the allocated port)', async () => {
    const fixed = await freePort();
    const { child, stderr } = startForwarder(['-R', `${fixed}:127.0.0.1:${httpPort}`, '-R', `0:127.0.0.1:${httpPort}`]);
    const allocated = await waitFor('the allocated port message', () => {
      const match = /Allocated port (\d+) for remote forward to 127\.0\.0\.1:(\d+)/.exec(stderr());
      return match ? Number(match[1]) : undefined;
    });
    assert.ok(allocated > 0 && allocated !== fixed);
    await waitFor('the fixed remote listener', () => canConnect({ port: fixed }));
    assert.equal((await httpGetText({ port: fixed, path: '/fixed' })).body, 'hello from the tunnelled service: /fixed');
    assert.equal((await httpGetText({ port: allocated, path: '/allocated' })).body, 'hello from the tunnelled service: /allocated');
    await stop(child);
    // The server stops listening once the connection is gone.
    await waitFor('sshd to drop the remote listener', async () => !(await canConnect({ port: allocated })));
  });

  test('-W joins stdin and stdout to a remote TCP service and exits 0 when it closes', async () => {
    const payload = randomBytes(3 * 1024 * 1024);
    const result = await runTether([...baseArgs(), '-W', `127.0.0.1:${echoPort}`, 'root@127.0.0.1'], { env: { HOME: home }, input: payload, timeoutMs: 30_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.ok(result.stdout.equals(payload), 'the echo came back byte for byte');
  });

  test('-W to a refused destination exits 255 with ssh\'s messages', async () => {
    const result = await runTether([...baseArgs(), '-W', `127.0.0.1:${forbiddenPort}`, 'root@127.0.0.1'], { env: { HOME: home }, timeoutMs: 30_000 });
    assert.equal(result.status, 255);
    assert.match(result.stderr, /open failed: administratively prohibited: open failed/);
    assert.match(result.stderr, /stdio forwarding failed/);
  });

  test('ExitOnForwardFailure: a local port in use and a refused remote listen end with 255', async () => {
    const busy = createServer();
    const busyPort = await listen(busy);
    const local = await runTether([...baseArgs(), '-N', '-o', 'ExitOnForwardFailure=yes', '-L', `${busyPort}:127.0.0.1:${httpPort}`, 'root@127.0.0.1'], { env: { HOME: home }, timeoutMs: 30_000 });
    await closeServer(busy);
    assert.equal(local.status, 255);
    assert.match(local.stderr, new RegExp(`bind \\[127\\.0\\.0\\.1\\]:${busyPort}: Address already in use`));
    assert.match(local.stderr, /Could not request local forwarding\./);
    // The restricted sshd's PermitListen allows one port only.
    const refusedListen = await freePort();
    const remote = await runTether([...baseArgs(restricted), '-N', '-o', 'ExitOnForwardFailure=yes', '-R', `${refusedListen}:127.0.0.1:${httpPort}`, 'root@127.0.0.1'], { env: { HOME: home }, timeoutMs: 30_000 });
    assert.equal(remote.status, 255, remote.stderr);
    assert.match(remote.stderr, new RegExp(`Error: remote port forwarding failed for listen port ${refusedListen}`));
  });

  test('without ExitOnForwardFailure a refused remote listen is a warning and the other forwards work', async () => {
    const refusedListen = await freePort();
    const { child, stderr } = startForwarder(['-R', `${refusedListen}:127.0.0.1:${httpPort}`, '-R', `${permittedListenPort}:127.0.0.1:${httpPort}`], restricted);
    await waitFor('the warning', () => stderr().includes(`Warning: remote port forwarding failed for listen port ${refusedListen}`));
    await waitFor('the permitted remote listener', () => canConnect({ port: permittedListenPort }));
    assert.equal((await httpGetText({ port: permittedListenPort, path: '/permitted' })).body, 'hello from the tunnelled service: /permitted');
    assert.equal(child.exitCode, null);
    await stop(child);
  });

  test('GatewayPorts: loopback only by default, every interface with -g', async () => {
    const [quiet, open] = [await freePort(), await freePort()];
    const a = startForwarder(['-L', `${quiet}:127.0.0.1:${httpPort}`]);
    const b = startForwarder(['-g', '-L', `${open}:127.0.0.1:${httpPort}`]);
    await waitFor('both listeners', async () => (await canConnect({ port: quiet })) && canConnect({ port: open }));
    const listening = (port: number) => {
      const hex = port.toString(16).toUpperCase().padStart(4, '0');
      return readFileSync('/proc/net/tcp', 'utf8').split('\n').filter((line) => line.includes(`:${hex} 00000000:0000 0A`)).map((line) => line.trim().split(/\s+/)[1]!.split(':')[0]);
    };
    assert.deepEqual(listening(quiet), ['0100007F'], 'default: 127.0.0.1 only');
    assert.deepEqual(listening(open), ['00000000'], 'GatewayPorts: 0.0.0.0');
    await Promise.all([stop(a.child), stop(b.child)]);
  });

  test('-f goes to the background after authentication with its forwards up', async () => {
    const localPort = await freePort();
    const marker = `tether-f-test-${process.pid}-${localPort}`;
    const result = await runTether([...baseArgs(), '-f', '-N', '-o', `SetEnv=MARK=${marker}`, '-L', `${localPort}:127.0.0.1:${httpPort}`, 'root@127.0.0.1'], { env: { HOME: home }, timeoutMs: 30_000 });
    assert.equal(result.status, 0, result.stderr);
    // The forward is already up when the foreground process has exited.
    assert.equal((await httpGetText({ port: localPort, path: '/bg' })).body, 'hello from the tunnelled service: /bg');
    const pid = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).find((entry) => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    });
    assert.ok(pid, 'the background process is running');
    process.kill(Number(pid), 'SIGTERM');
    await waitFor('the background process to exit', () => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/status`, 'utf8').includes('zombie'));
  });

  test('flow control: a stalled reader stops the sender; 256 MiB into a sleeping reader is byte-exact in bounded memory', { timeout: 180_000 }, async () => {
    const localPort = await freePort();
    const { child } = startForwarder(['-L', `${localPort}:127.0.0.1:${sourcePort}`]);
    const before = sourceConnections;
    await waitFor('the -L listener', () => canConnect({ port: localPort }));
    // The probe's channel reaches the source too; let it arrive (and be turned away) before planning data.
    await waitFor('the probe to reach the source', () => sourceConnections > before);
    const baseline = rssKiB(child.pid!);
    const plan = { bytes: BIG_TRANSFER, written: 0, sha256: Promise.resolve('') };
    sourcePlan = plan;
    const socket = netConnect(localPort, '127.0.0.1');
    socket.pause();
    // Stalled: after the buffers along the way fill, the source cannot write any more.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const stalledAt = plan.written;
    const stalledRss = rssKiB(child.pid!);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(plan.written, stalledAt, 'the sender made no progress while the reader slept');
    assert.ok(stalledAt < 64 * 1024 * 1024, `only buffers' worth was sent (${stalledAt} bytes)`);

    // While stalled nothing accumulates: memory stays where it was when the buffers along the way filled.
    const growthWhileStalledMiB = (rssKiB(child.pid!) - stalledRss) / 1024;
    assert.ok(growthWhileStalledMiB < 2, `tether grew ${growthWhileStalledMiB.toFixed(1)} MiB while the reader slept`);
    // And what it holds is a few tens of MiB at most: a channel window, socket buffers, plus the heap and
    // compiled code that the first data through this path brought in (noise of a few MiB between runs).
    const stalledGrowthMiB = (stalledRss - baseline) / 1024;
    assert.ok(stalledGrowthMiB < 40, `tether holds ${stalledGrowthMiB.toFixed(1)} MiB more while the reader is stalled`);

    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(child.pid!))), 50);
    const hash = createHash('sha256');
    let received = 0;
    let sinceNap = 0;
    await new Promise<void>((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        received += chunk.length;
        sinceNap += chunk.length;
        // A reader that sleeps: 100 ms every 16 MiB.
        if (sinceNap >= 16 * 1024 * 1024) {
          sinceNap = 0;
          socket.pause();
          setTimeout(() => socket.resume(), 100);
        }
      });
      socket.once('end', () => resolve());
      socket.once('error', reject);
      socket.resume();
    });
    clearInterval(sampler);
    assert.equal(received, BIG_TRANSFER);
    assert.equal(hash.digest('hex'), await plan.sha256);
    // While data flows, RSS also carries Buffers already released but not yet collected: V8 collects them
    // when about 64 MiB of external memory has built up, whatever the size of the transfer (1 GiB measured
    // the same as 256 MiB). The bound is on that, far below the 256 MiB that went through.
    const growthMiB = (peak - baseline) / 1024;
    assert.ok(growthMiB < 110, `tether grew by ${growthMiB.toFixed(1)} MiB (baseline ${(baseline / 1024).toFixed(1)} MiB)`);
    await stop(child);
  });

  test('50 concurrent tunnelled connections each carry their own data intact', { timeout: 120_000 }, async () => {
    const localPort = await freePort();
    const { child } = startForwarder(['-L', `${localPort}:127.0.0.1:${echoPort}`]);
    await waitFor('the -L listener', () => canConnect({ port: localPort }));
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, index) => {
        const payload = randomBytes(256 * 1024 + index * 997);
        const socket = netConnect(localPort, '127.0.0.1');
        const echoed = hashUntilEnd(socket);
        socket.end(payload);
        return { sent: createHash('sha256').update(payload).digest('hex'), bytes: payload.length, echoed: await echoed };
      }),
    );
    for (const result of results) {
      assert.equal(result.echoed.bytes, result.bytes);
      assert.equal(result.echoed.sha256, result.sent);
    }
    await stop(child);
  });

  test('the ~C command line adds and cancels -L, -D and -R forwards at run time', async () => {
    const client = await connectAsRoot(sshd.port, key);
    const messages: string[] = [];
    const config = await resolveSshConfig({ host: '127.0.0.1', configFile: 'none', homeDir: home });
    const forwarding = await startForwarding(client, config, { log: (_level, message) => messages.push(message), debug: undefined });
    try {
      const [localPort, socksPort] = [await freePort(), await freePort()];
      assert.equal(await forwarding.commandLine(`-L ${localPort}:127.0.0.1:${httpPort}`), 'Forwarding port.\r\n');
      assert.equal((await httpGetText({ port: localPort, path: '/runtime' })).body, 'hello from the tunnelled service: /runtime');
      assert.equal(await forwarding.commandLine(`-D${socksPort}`), 'Forwarding port.\r\n');
      const socket = await socksConnect(socksPort, '5', '127.0.0.1', httpPort);
      assert.equal((await httpGetText({ path: '/runtime-socks', createConnection: () => socket })).body, 'hello from the tunnelled service: /runtime-socks');
      assert.equal(await forwarding.commandLine(`-R 0:127.0.0.1:${httpPort}`), 'Forwarding port.\r\n');
      const allocated = Number(/Allocated port (\d+)/.exec(messages.join('\n'))?.[1]);
      assert.equal((await httpGetText({ port: allocated, path: '/runtime-remote' })).body, 'hello from the tunnelled service: /runtime-remote');

      assert.equal(await forwarding.commandLine(`-KL ${localPort}`), 'Canceled forwarding.\r\n');
      assert.equal(await canConnect({ port: localPort }), false);
      assert.equal(await forwarding.commandLine(`-KD ${socksPort}`), 'Canceled forwarding.\r\n');
      assert.equal(await forwarding.commandLine(`-KR ${allocated}`), 'Canceled forwarding.\r\n');
      await waitFor('sshd to stop listening', async () => !(await canConnect({ port: allocated })));
      assert.equal(await forwarding.commandLine(`-KL ${localPort}`), 'Unknown port forwarding.\r\n');
      assert.equal(await forwarding.commandLine('-X'), 'Invalid command.\r\n');
      assert.equal(await forwarding.commandLine('-L nonsense'), 'Bad local forwarding specification.\r\n');
      assert.match(await forwarding.commandLine('?'), /-KD\[bind_address:\]port +Cancel dynamic forward/);
    } finally {
      forwarding.close();
      client.end();
    }
  });
});
