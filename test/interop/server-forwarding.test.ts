/**
 * Port forwarding through `tether server` with the stock OpenSSH client: -L (TCP and Unix socket), -R
 * (fixed and allocated ports, and to a Unix socket), -D (SOCKS5 with a domain name), -W, -J to a real sshd,
 * a 256 MiB transfer and 50 concurrent connections with checksums, and the policy: PermitOpen, authorized_keys
 * permitopen=, AllowTcpForwarding no, GatewayPorts. Per-connection policies come from Match LocalAddress
 * blocks, reached by connecting to other loopback addresses of the same server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { freePort, makeKey, publicKeyLine, startSshd, type RunningSshd } from '../helpers/openssh.ts';
import { keyAuth, run, ssh, startTestServer, TEST_USER, type TestServer } from './server-harness.ts';
import {
  canConnect,
  closeService,
  echoService,
  exchange,
  hashWhatArrives,
  httpGetText,
  httpService,
  listenOn,
  listeningAddresses,
  socks5Connect,
  sourceService,
  startSsh,
  waitFor,
  type BackgroundSsh,
} from './server-forwarding-helpers.ts';

const BIG = 256 * 1024 * 1024;
/** Connections to these addresses get the Match LocalAddress policies below. */
const NO_TCP_FORWARDING = '127.0.0.2';
const PERMIT_OPEN_HTTP_ONLY = '127.0.0.3';
const GATEWAY_CLIENTSPECIFIED = '127.0.0.4';

let test: TestServer;
let http: Server;
let httpPort: number;
let echo: Server;
let echoPort: number;
let source: ReturnType<typeof sourceService>;
let sourcePort: number;
let unixHttp: Server;
let unixHttpPath: string;
const running: BackgroundSsh[] = [];

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * The harness's key-auth arguments with LogLevel INFO, at which ssh reports "open failed" and the allocated
 * port of -R 0 (ssh takes the first value given, so ERROR is replaced rather than overridden).
 */
function loginArgs(key?: string): string[] {
  const args = key
    ? [...test.sshBase(), '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes']
    : keyAuth(test);
  return args.map((arg) => (arg === 'LogLevel=ERROR' ? 'LogLevel=INFO' : arg));
}

function at(address: string): string {
  return `${TEST_USER}@${address}`;
}

/** ssh -N with the given forwards, kept running until the test ends; -o ExitOnForwardFailure=yes. */
function forwardWith(forwards: string[], options: { address?: string; extra?: string[] } = {}): BackgroundSsh {
  const child = startSsh(test, [...loginArgs(), '-N', '-o', 'ExitOnForwardFailure=yes', ...(options.extra ?? []), ...forwards, at(options.address ?? '127.0.0.1')]);
  running.push(child);
  return child;
}

async function waitForLocalForward(child: BackgroundSsh, port: number): Promise<void> {
  await waitFor(`ssh -L on port ${port} (ssh said: ${child.stderr()})`, () => canConnect(port));
}

before(async () => {
  http = httpService('tunnelled-http');
  httpPort = await listenOn(http);
  echo = echoService();
  echoPort = await listenOn(echo);
  source = sourceService(BIG);
  sourcePort = await listenOn(source.server);
  test = await startTestServer({
    extraAddresses: [NO_TCP_FORWARDING, PERMIT_OPEN_HTTP_ONLY, GATEWAY_CLIENTSPECIFIED],
    tail: [
      `Match LocalAddress ${NO_TCP_FORWARDING}`,
      '\tAllowTcpForwarding no',
      `Match LocalAddress ${PERMIT_OPEN_HTTP_ONLY}`,
      `\tPermitOpen 127.0.0.1:${httpPort} [::1]:${httpPort}`,
      '\tPermitListen 127.0.0.1:*',
      `Match LocalAddress ${GATEWAY_CLIENTSPECIFIED}`,
      '\tGatewayPorts clientspecified',
    ],
  });
  // A Unix-socket service the test user may reach: the harness directory is 0755, the socket 0666.
  unixHttp = httpService('unix-http');
  unixHttpPath = join(test.dir, 'http.sock');
  await listenOn(unixHttp, { path: unixHttpPath });
  chmodSync(unixHttpPath, 0o666);
});

after(async () => {
  await Promise.all(running.map((child) => child.stop()));
  await test?.stop();
  await Promise.all([http, echo, source?.server, unixHttp].filter(Boolean).map((server) => closeService(server!)));
});

describe('ssh -L through tether server', () => {
  it('reaches an HTTP service behind the server', async () => {
    const port = await freePort();
    const child = forwardWith(['-L', `${port}:127.0.0.1:${httpPort}`]);
    await waitForLocalForward(child, port);
    const response = await httpGetText({ port, path: '/through-L' });
    assert.equal(response.status, 200);
    assert.equal(response.body, 'tunnelled-http says hello to /through-L');
  });

  it('reaches a Unix-socket service (direct-streamlocal@openssh.com)', async () => {
    const port = await freePort();
    const child = forwardWith(['-L', `${port}:${unixHttpPath}`]);
    await waitForLocalForward(child, port);
    const response = await httpGetText({ port, path: '/over-unix' });
    assert.equal(response.body, 'unix-http says hello to /over-unix');
  });

  it('refuses a Unix socket the user may not open, and the session goes on', async () => {
    const privatePath = join(test.dir, 'private.sock');
    const privateService = httpService('private');
    await listenOn(privateService, { path: privatePath });
    chmodSync(privatePath, 0o600); // root's, not the test user's
    try {
      const port = await freePort();
      const allowed = await freePort();
      const child = forwardWith(['-L', `${port}:${privatePath}`, '-L', `${allowed}:127.0.0.1:${httpPort}`]);
      await waitForLocalForward(child, allowed);
      const data = await exchange({ port }, Buffer.from('GET / HTTP/1.0\r\n\r\n'), { resetIsEnd: true });
      assert.equal(data.length, 0);
      await waitFor('the open failure', () => /open failed: connect failed: Permission denied/.test(child.stderr()));
      assert.equal((await httpGetText({ port: allowed })).status, 200);
    } finally {
      await closeService(privateService);
    }
  });

  it('carries 256 MiB from the service with a matching SHA-256', { timeout: 150_000 }, async () => {
    const port = await freePort();
    const child = forwardWith(['-L', `${port}:127.0.0.1:${sourcePort}`, '-c', 'aes128-gcm@openssh.com']);
    // Wait without connecting: each probe would start a transfer of its own.
    await waitFor(`ssh -L listening (ssh said: ${child.stderr()})`, () => listeningAddresses(port).length > 0);
    const before = source.sent.length;
    const received = await hashWhatArrives(port);
    assert.equal(received.bytes, BIG);
    assert.equal(received.sha256, await source.sent[before]!);
  });

  it('a reader that stops reading stops the sender: buffers stay bounded end to end', { timeout: 30_000 }, async () => {
    const chunk = randomBytes(1024 * 1024);
    let sender: Socket | undefined;
    const endless = createServer((socket) => {
      sender = socket;
      socket.on('error', () => {});
      const pump = (): void => {
        while (!socket.destroyed && socket.write(chunk));
      };
      socket.on('drain', pump);
      pump();
    });
    const endlessPort = await listenOn(endless);
    try {
      const port = await freePort();
      const child = forwardWith(['-L', `${port}:127.0.0.1:${endlessPort}`]);
      await waitFor(`ssh -L listening (ssh said: ${child.stderr()})`, () => listeningAddresses(port).length > 0);
      const reader = netConnect(port, '127.0.0.1');
      reader.pause();
      await waitFor('the service to start sending', () => sender !== undefined && sender.bytesWritten > 0);
      await sleep(1500);
      const stalledAt = sender!.bytesWritten;
      await sleep(1000);
      // Unbounded buffering would have taken hundreds of MiB by now; windows and socket buffers hold a few.
      assert.ok(stalledAt < 48 * 1024 * 1024, `the sender got ${stalledAt} bytes away`);
      assert.equal(sender!.bytesWritten, stalledAt, 'the sender kept going while nobody read');
      // And it flows again once the reader reads.
      reader.resume();
      await waitFor('the transfer to resume', () => sender!.bytesWritten > stalledAt + 8 * 1024 * 1024);
      reader.destroy();
    } finally {
      sender?.destroy();
      await closeService(endless);
    }
  });

  it('carries 50 concurrent connections, each echoed back intact', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const child = forwardWith(['-L', `${port}:127.0.0.1:${echoPort}`]);
    await waitForLocalForward(child, port);
    const payloads = Array.from({ length: 50 }, (_, i) => randomBytes(256 * 1024 + i * 1000));
    const echoed = await Promise.all(payloads.map((payload) => exchange({ port }, payload)));
    echoed.forEach((data, i) => assert.equal(sha256(data), sha256(payloads[i]!), `connection ${i}`));
  });

  it('-W to a closed port is reported as connect failed: Connection refused', async () => {
    const closedPort = await freePort();
    const result = await ssh(test, [...loginArgs(), '-W', `127.0.0.1:${closedPort}`, at('127.0.0.1')]);
    assert.equal(result.status, 255);
    assert.match(result.stderr, /channel 0: open failed: connect failed: Connection refused/);
  });
});

describe('ssh -W and -J through tether server', () => {
  let sshd: RunningSshd;
  let clientConfig: string;

  before(async () => {
    sshd = await startSshd({ authorizedKeys: [publicKeyLine(test.clientKey)] });
    // -J starts a second ssh that reads only the configuration file, not our -o options.
    clientConfig = join(test.dir, 'ssh_config');
    writeFileSync(
      clientConfig,
      [
        'Host *',
        `  UserKnownHostsFile ${join(test.dir, 'known_hosts_jump')}`,
        '  StrictHostKeyChecking no',
        `  IdentityFile ${test.clientKey}`,
        '  IdentitiesOnly yes',
        '  BatchMode yes',
        '  LogLevel ERROR',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await sshd?.stop();
  });

  it('-W pipes stdin and stdout to a TCP service', async () => {
    const result = await ssh(test, [...loginArgs(), '-W', `127.0.0.1:${echoPort}`, at('127.0.0.1')], { input: 'through -W\n' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'through -W\n');
  });

  it('-J uses tether server as the jump host to a real OpenSSH sshd', async () => {
    const result = await ssh(test, ['-F', clientConfig, '-J', `${TEST_USER}@127.0.0.1:${test.port}`, '-p', String(sshd.port), `${TEST_USER}@127.0.0.1`, 'echo "behind the jump: $SSH_CONNECTION"']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout.toString(), /^behind the jump: 127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+\n$/);
    assert.match(result.stdout.toString(), new RegExp(` ${sshd.port}\\n$`));
    assert.match(sshd.log(), new RegExp(`Accepted publickey for ${TEST_USER} from 127\\.0\\.0\\.1`));
  });
});

describe('ssh -D through tether server', () => {
  it('SOCKS5 with a domain name reaches the service (node client)', async () => {
    const port = await freePort();
    const child = forwardWith(['-D', `127.0.0.1:${port}`]);
    await waitForLocalForward(child, port);
    const socket = await socks5Connect(port, 'localhost', echoPort);
    const answer = await new Promise<string>((resolve, reject) => {
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.once('end', () => resolve(text));
      socket.once('error', reject);
      socket.end('socks says hi');
    });
    assert.equal(answer, 'socks says hi');
  });

  it('curl --socks5-hostname fetches from the HTTP service', async () => {
    const port = await freePort();
    const child = forwardWith(['-D', `127.0.0.1:${port}`]);
    await waitForLocalForward(child, port);
    const result = await run('curl', ['-sS', '--max-time', '10', '--socks5-hostname', `127.0.0.1:${port}`, `http://localhost:${httpPort}/by-curl`]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'tunnelled-http says hello to /by-curl');
  });
});

describe('ssh -R through tether server', () => {
  it('listens on a fixed port on the server and reaches the client side', async () => {
    const port = await freePort();
    const child = forwardWith(['-R', `${port}:127.0.0.1:${httpPort}`]);
    await waitFor(`remote forward on ${port} (ssh said: ${child.stderr()})`, () => canConnect(port));
    assert.equal((await httpGetText({ port, path: '/through-R' })).body, 'tunnelled-http says hello to /through-R');
    await test.waitForLog(new RegExp(`remote forward listening on localhost port ${port}`));
  });

  it('-R 0: prints the allocated port, which carries echo traffic', async () => {
    const child = forwardWith(['-R', `0:127.0.0.1:${echoPort}`]);
    const line = await waitFor('the allocated port', () => /Allocated port (\d+) for remote forward to 127\.0\.0\.1:(\d+)/.exec(child.stderr()));
    assert.equal(Number(line[2]), echoPort);
    const port = Number(line[1]);
    const data = randomBytes(300_000);
    assert.equal(sha256(await exchange({ port }, data)), sha256(data));
  });

  it('GatewayPorts no listens on loopback only even when 0.0.0.0 is asked for', async () => {
    const child = forwardWith(['-R', `0.0.0.0:0:127.0.0.1:${httpPort}`]);
    const port = Number((await waitFor('the allocated port', () => /Allocated port (\d+)/.exec(child.stderr())))[1]);
    const addresses = listeningAddresses(port);
    assert.ok(addresses.length > 0, 'nothing listens');
    for (const address of addresses) assert.ok(address === '127.0.0.1' || address === '::1', `listens on ${address}`);
    assert.equal((await httpGetText({ port })).status, 200);
  });

  it('GatewayPorts clientspecified listens on the wildcard address when asked', async () => {
    const child = forwardWith(['-R', `0.0.0.0:0:127.0.0.1:${httpPort}`], { address: GATEWAY_CLIENTSPECIFIED });
    const port = Number((await waitFor('the allocated port', () => /Allocated port (\d+)/.exec(child.stderr())))[1]);
    assert.deepEqual(listeningAddresses(port), ['0.0.0.0']);
  });

  it('a privileged port is refused for a non-root user', async () => {
    const child = forwardWith(['-R', `1022:127.0.0.1:${httpPort}`]);
    assert.equal(await child.exited, 255);
    assert.match(child.stderr(), /Error: remote port forwarding failed for listen port 1022/);
  });

  it('the listener closes when the connection ends', async () => {
    const port = await freePort();
    const child = forwardWith(['-R', `${port}:127.0.0.1:${httpPort}`]);
    await waitFor('remote forward', () => canConnect(port));
    await child.stop();
    await waitFor('the listener to close', async () => !(await canConnect(port)));
  });

  it('-R to a Unix socket: created 0600 for the user, reaching the client side', async () => {
    const directory = join(test.dir, 'user-sockets');
    mkdirSync(directory);
    const uid = Number(spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).stdout);
    const gid = Number(spawnSync('id', ['-g', TEST_USER], { encoding: 'utf8' }).stdout);
    chownSync(directory, uid, gid);
    const path = join(directory, 'forwarded.sock');
    const child = forwardWith(['-R', `${path}:127.0.0.1:${httpPort}`]);
    await waitFor(`the socket (ssh said: ${child.stderr()})`, () => existsSync(path));
    const stats = statSync(path);
    assert.ok(stats.isSocket());
    assert.equal(stats.mode & 0o777, 0o600);
    assert.equal(stats.uid, uid);
    assert.equal((await httpGetText({ socketPath: path, path: '/unix-R' })).body, 'tunnelled-http says hello to /unix-R');
    await child.stop();
    await waitFor('the socket to be removed', () => !existsSync(path));
  });
});

describe('forwarding policy', () => {
  it('PermitOpen refuses other destinations (administratively prohibited) while the session goes on', async () => {
    const refused = await freePort();
    const allowed = await freePort();
    const child = forwardWith(['-L', `${refused}:127.0.0.1:${echoPort}`, '-L', `${allowed}:127.0.0.1:${httpPort}`], { address: PERMIT_OPEN_HTTP_ONLY });
    await waitForLocalForward(child, allowed);
    assert.equal((await exchange({ port: refused }, Buffer.from('hello?'), { resetIsEnd: true })).length, 0);
    await waitFor('the refusal', () => /channel \d+: open failed: administratively prohibited: open failed/.test(child.stderr()));
    await test.waitForLog(new RegExp(`Received request from 127\\.0\\.0\\.1 port \\d+ to connect to host 127\\.0\\.0\\.1 port ${echoPort}, but the request was denied\\.`));
    assert.equal((await httpGetText({ port: allowed, path: '/still-fine' })).body, 'tunnelled-http says hello to /still-fine');
    assert.equal(child.stderr().match(/channel \d+: open failed/g)?.length, 1, child.stderr());
  });

  it('PermitListen refuses other listen addresses (logged) and allows the one listed', async () => {
    const refused = forwardWith(['-R', `0:127.0.0.1:${httpPort}`], { address: PERMIT_OPEN_HTTP_ONLY });
    assert.equal(await refused.exited, 255);
    assert.match(refused.stderr(), /Error: remote port forwarding failed for listen port 0/);
    await test.waitForLog(/Received request from 127\.0\.0\.1 port \d+ to remote forward to host localhost port 0, but the request was denied\./);
    const allowed = forwardWith(['-R', `127.0.0.1:0:127.0.0.1:${httpPort}`], { address: PERMIT_OPEN_HTTP_ONLY });
    const port = Number((await waitFor('the allocated port', () => /Allocated port (\d+)/.exec(allowed.stderr())))[1]);
    assert.equal((await httpGetText({ port, path: '/listed' })).body, 'tunnelled-http says hello to /listed');
  });

  it('AllowTcpForwarding no refuses -L (logged) and -R', async () => {
    const result = await ssh(test, [...loginArgs(), '-W', `127.0.0.1:${echoPort}`, at(NO_TCP_FORWARDING)], { input: 'x' });
    assert.equal(result.status, 255);
    assert.match(result.stderr, /channel 0: open failed: administratively prohibited: open failed/);
    await test.waitForLog(new RegExp(`refused local port forward: originator 127\\.0\\.0\\.1 port \\d+, target 127\\.0\\.0\\.1 port ${echoPort}`));
    const child = forwardWith(['-R', `0:127.0.0.1:${httpPort}`], { address: NO_TCP_FORWARDING });
    assert.equal(await child.exited, 255);
    assert.match(child.stderr(), /Error: remote port forwarding failed for listen port 0/);
  });

  it('authorized_keys permitopen="host:port" allows that target only', async () => {
    const key = makeKey(test.dir, 'id_permitopen', 'ed25519');
    appendFileSync(test.authorizedKeys, `permitopen="127.0.0.1:${httpPort}" ${publicKeyLine(key)}\n`);
    const base = loginArgs(key);
    const allowed = await ssh(test, [...base, '-W', `127.0.0.1:${httpPort}`, at('127.0.0.1')], { input: 'GET /key HTTP/1.0\r\n\r\n' });
    assert.equal(allowed.status, 0, allowed.stderr);
    assert.match(allowed.stdout.toString(), /tunnelled-http says hello to \/key$/);
    const refused = await ssh(test, [...base, '-W', `127.0.0.1:${echoPort}`, at('127.0.0.1')], { input: 'x' });
    assert.equal(refused.status, 255);
    assert.match(refused.stderr, /open failed: administratively prohibited: open failed/);
  });

  it('authorized_keys restrict refuses port forwarding', async () => {
    const key = makeKey(test.dir, 'id_restrict', 'ed25519');
    appendFileSync(test.authorizedKeys, `restrict ${publicKeyLine(key)}\n`);
    const base = loginArgs(key);
    const refused = await ssh(test, [...base, '-W', `127.0.0.1:${echoPort}`, at('127.0.0.1')], { input: 'x' });
    assert.equal(refused.status, 255);
    assert.match(refused.stderr, /open failed: administratively prohibited: open failed/);
  });
});
