/**
 * Jump chains and ProxyCommand with real OpenSSH: `tether ssh -J a,b c` through three sshd instances on
 * different loopback ports (each hop's own Host block applied, also via ProxyJump in the file),
 * `ProxyCommand "tether ssh -W %h:%p gw"` used by OpenSSH's ssh and the reverse, and the library's
 * `connect({ jump })`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeKey, publicKeyLine, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { runProgram, runTether, TETHER_BIN } from '../helpers/tether.ts';
import { connect } from '../../src/client/client.ts';
import { identityFileKeys } from '../../src/client/identities.ts';

describe('jump chains and ProxyCommand with OpenSSH sshd', () => {
  let home: string;
  let key: string;
  let configFile: string;
  const servers: Record<'a' | 'b' | 'c', RunningSshd> = {} as never;

  before(async () => {
    home = tempDir();
    key = makeKey(home, 'id_ed25519', 'ed25519');
    for (const name of ['a', 'b', 'c'] as const) {
      // DEBUG1 makes sshd log each direct-tcpip request, which shows the path the chain took.
      servers[name] = await startSshd({ authorizedKeys: [publicKeyLine(key)], config: ['AllowTcpForwarding yes', 'GatewayPorts no', 'LogLevel DEBUG1'] });
    }
    // Each hop has its own Host block: its own port. Nothing on the command line says where a or b listen.
    configFile = join(home, 'config');
    const common = ['  HostName 127.0.0.1', '  User root', `  IdentityFile ${key}`, '  StrictHostKeyChecking no', `  UserKnownHostsFile ${join(home, 'known_hosts')}`, '  BatchMode yes'];
    writeFileSync(
      configFile,
      [
        'Host hop-a', `  Port ${servers.a.port}`, ...common,
        'Host hop-b', `  Port ${servers.b.port}`, ...common,
        'Host target-c', `  Port ${servers.c.port}`, ...common,
        'Host chained-c', `  Port ${servers.c.port}`, '  ProxyJump hop-a,hop-b', ...common,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
  });

  after(async () => {
    await Promise.all(Object.values(servers).map((server) => server.stop()));
  });

  const directTcpipTo = (server: RunningSshd, port: number) =>
    new RegExp(`server_request_direct_tcpip: originator [^,]+, target 127\\.0\\.0\\.1 port ${port}`).test(server.log());

  test('-J a,b c: three sshd hops, each hop configured by its own Host block', async () => {
    const result = await runTether(['ssh', '-F', configFile, '-J', 'hop-a,hop-b', 'target-c', 'echo reached-c'], { env: { HOME: home }, timeoutMs: 30_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'reached-c\n');
    assert.ok(directTcpipTo(servers.a, servers.b.port), 'hop a forwarded to b');
    assert.ok(directTcpipTo(servers.b, servers.c.port), 'hop b forwarded to c');
  });

  test('ProxyJump in the configuration file', async () => {
    const result = await runTether(['ssh', '-F', configFile, 'chained-c', 'echo via-config'], { env: { HOME: home }, timeoutMs: 30_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'via-config\n');
  });

  test('-W through a jump chain (tether as a ProxyCommand for itself)', async () => {
    const result = await runTether(['ssh', '-F', configFile, '-J', 'hop-a', '-W', `127.0.0.1:${servers.c.port}`, 'hop-b'], { env: { HOME: home }, input: '', timeoutMs: 30_000 });
    // sshd c greets with its version line before our stdin's EOF closes the forward.
    assert.match(result.stdout.toString(), /^SSH-2\.0-OpenSSH/);
  });

  test('OpenSSH ssh with ProxyCommand "tether ssh -W %h:%p gw"', async () => {
    const proxy = `${process.execPath} ${TETHER_BIN} ssh -F ${configFile} -W %h:%p hop-a`;
    const result = await runProgram('ssh', ['-F', configFile, '-o', `ProxyCommand=${proxy}`, 'target-c', 'echo openssh-through-tether'], { env: { HOME: home }, timeoutMs: 30_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'openssh-through-tether\n');
    assert.ok(directTcpipTo(servers.a, servers.c.port));
  });

  test('tether ssh with ProxyCommand "ssh -W %h:%p gw" (the proxy is stopped afterwards)', async () => {
    const pidFile = join(home, 'proxy.pid');
    // The wrapper records the PID the proxy runs as (exec keeps it), so the test can see it is gone.
    const proxy = `sh -c 'echo $$ > ${pidFile}; exec ssh -F ${configFile} -W %h:%p hop-b'`;
    const result = await runTether(['ssh', '-F', configFile, '-o', `ProxyCommand=${proxy}`, 'target-c', 'echo tether-through-openssh'], { env: { HOME: home }, timeoutMs: 30_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'tether-through-openssh\n');
    assert.ok(directTcpipTo(servers.b, servers.c.port));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // Gone, or a zombie waiting to be reaped: either way no longer running.
    const running = () => {
      try {
        return !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 5000;
    while (running() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(running(), false, 'the proxy command was stopped');
  });

  test('library: connect({ jump: [a, b] }) reaches c', async () => {
    const options = (server: RunningSshd) => ({
      host: '127.0.0.1',
      port: server.port,
      username: 'root',
      verifyHostKey: () => {},
      auth: { methods: ['publickey'], keys: () => identityFileKeys([key], {}) },
    });
    const client = await connect({ ...options(servers.c), jump: [options(servers.a), options(servers.b)] });
    const session = await client.exec('echo library-chain');
    let output = '';
    session.channel.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await session.exit;
    client.end();
    assert.equal(output, 'library-chain\n');
  });
});
