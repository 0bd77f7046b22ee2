/**
 * Dead links noticed from both ends (issue 16, "Keepalive both ways"): a link proxy between client and server
 * stalls — sockets open, no byte moving either way, as when a NAT or VPN drops a flow silently — and with
 * 1-second intervals and a count of 2 each side gives up within interval × (count + 1) = 3 s plus scheduling
 * slack: `tether ssh` with ServerAliveInterval says ssh's "Timeout, server HOST not responding." and exits 255
 * (against tether server and stock sshd); tether server with ClientAliveInterval logs sshd's "Timeout, client
 * not responding from user U ADDR port N" and drops the connection (against tether ssh and stock ssh).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { makeKey, publicKeyLine, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { descendants, startServerProcess, TEST_USER, type ServerProcess } from '../helpers/server-process.ts';
import { startLinkProxy, type LinkProxy } from '../helpers/link-proxy.ts';
import { TETHER_BIN } from '../helpers/tether.ts';
import { stopProcess } from '../helpers/processes.ts';
import { waitFor } from '../helpers/services.ts';

const INTERVAL = 1;
const COUNT_MAX = 2;
/** interval × (count + 1), the bound both sides must meet, plus slack for two shared cores. */
const DETECTION_BOUND_MS = INTERVAL * (COUNT_MAX + 1) * 1000 + 4000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client process with its output collected, and a way to wait for it to print or end (bounded). */
interface RunningClient {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  waitForStdout(text: string, timeoutMs?: number): Promise<void>;
  exited(timeoutMs: number): Promise<number | null>;
}

function startClient(program: string, args: string[], env: NodeJS.ProcessEnv): RunningClient {
  const child = spawn(program, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr.replace(/\r\n/g, '\n'),
    async waitForStdout(text, timeoutMs = 20_000) {
      for (const deadline = Date.now() + timeoutMs; !stdout.includes(text); await sleep(25)) {
        if (child.exitCode !== null) throw new Error(`client exited (${child.exitCode}) before printing ${text}: ${stderr}`);
        if (Date.now() > deadline) throw new Error(`client did not print ${text} within ${timeoutMs} ms: ${stderr}`);
      }
    },
    exited(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`client still running after ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
      });
      return Promise.race([exit, timeout]).finally(() => clearTimeout(timer));
    },
  };
}

/**
 * Whether a server process (or one of its children) still holds the TCP connection from `peerPort` to its
 * `port`, from /proc: a socket among the processes' descriptors that /proc/net/tcp lists with those ports.
 */
function holdsConnection(pid: number, port: number, peerPort: number): boolean {
  const inodes = new Set<string>();
  for (const owner of [pid, ...descendants(pid)]) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${owner}/fd`);
    } catch {
      continue; // ended meanwhile
    }
    for (const fd of fds) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${owner}/fd/${fd}`));
        if (match) inodes.add(match[1]!);
      } catch {
        // closed meanwhile
      }
    }
  }
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1).some((line) => {
    const fields = line.trim().split(/\s+/);
    return fields.length > 9 && fields[1]!.endsWith(`:${hex(port)}`) && fields[2]!.endsWith(`:${hex(peerPort)}`) && inodes.has(fields[9]!);
  });
}

describe('keepalives notice a stalled link', () => {
  let home: string;
  let key: string;
  /** tether server with ClientAliveInterval 1, ClientAliveCountMax 2. */
  let tether: ServerProcess;
  let sshd: RunningSshd;
  /** Stock sshd with ClientAliveInterval 1, ClientAliveCountMax 2. */
  let probingSshd: RunningSshd;
  const proxies: LinkProxy[] = [];
  const clients: RunningClient[] = [];

  before(async () => {
    home = tempDir('tether-keepalive-');
    key = makeKey(home, 'id_ed25519', 'ed25519');
    tether = await startServerProcess({ config: [`ClientAliveInterval ${INTERVAL}`, `ClientAliveCountMax ${COUNT_MAX}`] });
    sshd = await startSshd({ authorizedKeys: [publicKeyLine(key)], hostKeyTypes: ['ed25519'] });
    probingSshd = await startSshd({ authorizedKeys: [publicKeyLine(key)], hostKeyTypes: ['ed25519'], config: [`ClientAliveInterval ${INTERVAL}`, `ClientAliveCountMax ${COUNT_MAX}`] });
  });
  after(async () => {
    await Promise.all(clients.map((client) => stopProcess(client.child)));
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await Promise.all([tether.stop(), sshd.stop(), probingSshd.stop()]);
  });

  const proxyTo = async (port: number) => {
    const proxy = await startLinkProxy('127.0.0.1', port);
    proxies.push(proxy);
    return proxy;
  };

  /** ssh options shared by tether ssh and stock ssh: no configuration, no questions, a fresh known_hosts. */
  const clientOptions = (proxy: LinkProxy, identity: string, extra: string[]) => [
    '-F', 'none', '-o', `UserKnownHostsFile=${join(home, `known_hosts-${proxy.port}`)}`, '-o', 'StrictHostKeyChecking=no',
    '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', identity, '-p', String(proxy.port), ...extra,
  ];

  const tetherSsh = (args: string[]) => {
    const client = startClient(process.execPath, [TETHER_BIN, 'ssh', ...args], { HOME: home });
    clients.push(client);
    return client;
  };

  for (const [label, server] of [['tether server', () => ({ port: tether.port, user: TEST_USER, identity: tether.clientKey })], ['stock sshd', () => ({ port: sshd.port, user: 'root', identity: key })]] as const) {
    test(`tether ssh, ServerAliveInterval: "Timeout, server HOST not responding." against ${label}`, async () => {
      const { port, user, identity } = server();
      const proxy = await proxyTo(port);
      // SessionResume=no: a held session would reconnect instead of ending (session-resume.test.ts covers that).
      const alive = ['-o', `ServerAliveInterval=${INTERVAL}`, '-o', `ServerAliveCountMax=${COUNT_MAX}`, '-o', 'SessionResume=no'];
      const client = tetherSsh([...clientOptions(proxy, identity, alive), `${user}@127.0.0.1`, 'echo ready; exec sleep 60']);
      await client.waitForStdout('ready\n');
      proxy.stall();
      const stalledAt = Date.now();
      const status = await client.exited(DETECTION_BOUND_MS + 5000);
      const elapsed = Date.now() - stalledAt;
      assert.equal(status, 255);
      assert.equal(client.stderr(), 'Timeout, server 127.0.0.1 not responding.\n');
      assert.ok(elapsed <= DETECTION_BOUND_MS, `noticed after ${elapsed} ms`);
      await proxy.close();
    });
  }

  const serverSide = [
    ['tether ssh', (proxy: LinkProxy) => tetherSsh([...clientOptions(proxy, tether.clientKey, ['-o', 'ServerAliveInterval=0']), `${TEST_USER}@127.0.0.1`, 'echo ready; exec sleep 60'])],
    ['stock ssh', (proxy: LinkProxy) => {
      const client = startClient('ssh', [...clientOptions(proxy, tether.clientKey, ['-o', 'ServerAliveInterval=0']), `${TEST_USER}@127.0.0.1`, 'echo ready; exec sleep 60'], { HOME: home });
      clients.push(client);
      return client;
    }],
  ] as const;
  for (const [label, start] of serverSide) {
    test(`tether server, ClientAliveInterval: sshd's timeout message and the connection dropped, against ${label}`, async () => {
      const proxy = await proxyTo(tether.port);
      const logFrom = tether.log().length;
      const client = start(proxy);
      await client.waitForStdout('ready\n');
      // The server sees the proxy's side of the link: its one upstream socket's port.
      const [peerPort] = proxy.upstreamPorts;
      assert.ok(peerPort !== undefined && holdsConnection(tether.pid, tether.port, peerPort), 'the server holds the connection');
      proxy.stall();
      const stalledAt = Date.now();
      const line = await tether.waitForLog(/Timeout, client not responding from user /, DETECTION_BOUND_MS + 5000, logFrom);
      const elapsed = Date.now() - stalledAt;
      assert.match(line, new RegExp(`Timeout, client not responding from user ${TEST_USER} 127\\.0\\.0\\.1 port ${peerPort}$`));
      assert.ok(elapsed <= DETECTION_BOUND_MS, `noticed after ${elapsed} ms`);
      // The server closes its side even though the stalled peer never reads the DISCONNECT.
      await waitFor('the server to let the connection go', () => !holdsConnection(tether.pid, tether.port, peerPort!), 5000);
      await stopProcess(client.child);
      await proxy.close();
    });
  }

  test('stock sshd, ClientAliveInterval, against tether ssh: probes answered while the link lives, the stalled link dropped', async () => {
    const proxy = await proxyTo(probingSshd.port);
    const logFrom = probingSshd.log().length;
    const client = tetherSsh([...clientOptions(proxy, key, ['-o', 'ServerAliveInterval=0']), 'root@127.0.0.1', 'echo ready; exec sleep 60']);
    await client.waitForStdout('ready\n');
    // Longer than interval × (count + 1) on a live link: tether ssh answers sshd's keepalive@openssh.com.
    await sleep(INTERVAL * (COUNT_MAX + 1) * 1000 + 1000);
    assert.equal(client.child.exitCode, null, client.stderr());
    assert.doesNotMatch(probingSshd.log().slice(logFrom), /Timeout, client not responding/);
    const [peerPort] = proxy.upstreamPorts;
    proxy.stall();
    const stalledAt = Date.now();
    for (const deadline = stalledAt + DETECTION_BOUND_MS + 5000; !/Timeout, client not responding/.test(probingSshd.log().slice(logFrom)); await sleep(50)) {
      if (Date.now() > deadline) assert.fail(`sshd did not time the client out; log:\n${probingSshd.log().slice(logFrom)}`);
    }
    const elapsed = Date.now() - stalledAt;
    assert.match(probingSshd.log().slice(logFrom), new RegExp(`Timeout, client not responding from user root 127\\.0\\.0\\.1 port ${peerPort}\\b`));
    assert.ok(elapsed <= DETECTION_BOUND_MS, `noticed after ${elapsed} ms`);
    await stopProcess(client.child);
    await proxy.close();
  });
});
