/**
 * Failover (issue 16): `HostName` listing alternates, tried in order, each accepted only with a host key known
 * for the host. A first alternate that refuses connections (nothing listening, or a link proxy that was cut)
 * is passed over; one presenting an unknown or changed key is refused with OpenSSH's warnings and passed over;
 * when none is left the last error is ssh's. A jump host whose Host block lists two gateways (two sshd sharing
 * one host key, on 127.0.0.2 and 127.0.0.3) reaches the final host — tether server or stock sshd — through
 * the second once the first is dead. Also `-G` and %h with a list.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, makeKey, publicKeyLine, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { startServerProcess, TEST_USER, type ServerProcess } from '../helpers/server-process.ts';
import { startLinkProxy, type LinkProxy } from '../helpers/link-proxy.ts';
import { runTether } from '../helpers/tether.ts';
import { keyText } from '../helpers/gateways.ts';

/** A link proxy on `host`:`port` exactly (the alternates share one Port). */
async function proxyOn(host: string, port: number, targetPort: number): Promise<LinkProxy> {
  return startLinkProxy('127.0.0.1', targetPort, { listenHost: host, listenPort: port });
}

/** Two proxies on 127.0.0.2 and 127.0.0.3 with the same port (the OS picks one free on both). */
async function proxyPair(targetA: number, targetB: number): Promise<[LinkProxy, LinkProxy]> {
  for (let attempt = 1; ; attempt++) {
    const first = await startLinkProxy('127.0.0.1', targetA, { listenHost: '127.0.0.2' });
    try {
      return [first, await proxyOn('127.0.0.3', first.port, targetB)];
    } catch (error) {
      await first.close();
      if (attempt >= 5) throw error;
    }
  }
}

describe('failover to HostName alternates', () => {
  let home: string;
  let final: ServerProcess;
  /** An sshd with a key of its own: stands in for an alternate that is not the host. */
  let impostor: RunningSshd;
  let finalKey: string;

  before(async () => {
    home = tempDir('tether-failover-');
    final = await startServerProcess();
    impostor = await startSshd({ hostKeyTypes: ['ed25519'] });
    finalKey = keyText(join(final.dir, 'ssh_host_ed25519_key'));
  });
  after(async () => {
    await final.stop();
    await impostor.stop();
  });

  /** A client configuration for host `svc` with these alternates on the final server's port. */
  function configFor(name: string, hostName: string, knownHosts: string[], extra: string[] = []): string {
    const knownHostsFile = join(home, `${name}.known_hosts`);
    writeFileSync(knownHostsFile, knownHosts.map((line) => `${line}\n`).join(''));
    const file = join(home, `${name}.config`);
    writeFileSync(file, [
      'Host svc',
      `  HostName ${hostName}`,
      `  Port ${final.port}`,
      `  User ${TEST_USER}`,
      `  IdentityFile ${final.clientKey}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${knownHostsFile}`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '  ConnectTimeout 10',
      ...extra,
      '',
    ].join('\n'));
    return file;
  }

  const ssh = async (config: string, ...args: string[]) => {
    const result = await runTether(['ssh', '-F', config, ...args], { env: { HOME: home }, timeoutMs: 30_000 });
    return { ...result, stdout: result.stdout.toString(), stderr: result.stderr.replace(/\r\n/g, '\n') };
  };

  test('the first alternate refuses connections: the second is reached, and the client says so', async () => {
    // Nothing listens on 127.0.0.2 at the server's port; the key is known under the first name (shared keys).
    const config = configFor('refused', `127.0.0.2,127.0.0.1`, [`[127.0.0.2]:${final.port} ${finalKey}`]);
    const quiet = await ssh(config, 'svc', 'echo reached');
    assert.equal(quiet.status, 0, quiet.stderr);
    assert.equal(quiet.stdout, 'reached\n');
    assert.equal(quiet.stderr, 'Connected to 127.0.0.1 (alternate of 127.0.0.2).\n');

    const verbose = await ssh(config, '-v', 'svc', 'true');
    assert.equal(verbose.status, 0, verbose.stderr);
    const port = final.port;
    const order = [
      `debug1: Connecting to 127.0.0.2 [127.0.0.2] port ${port}.`,
      `debug1: connect to address 127.0.0.2 port ${port}: Connection refused`,
      `debug1: Connecting to 127.0.0.1 [127.0.0.1] port ${port}.`,
      'debug1: Connection established.',
      'Connected to 127.0.0.1 (alternate of 127.0.0.2).',
    ].map((line) => verbose.stderr.indexOf(`${line}\n`));
    assert.ok(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!)), verbose.stderr);
  });

  test('through a link proxy: the first alternate while it is up, the second once it is cut', async () => {
    const proxy = await proxyOn('127.0.0.2', final.port, final.port);
    try {
      const config = configFor('proxied', '127.0.0.2,127.0.0.1', [`[127.0.0.2]:${final.port} ${finalKey}`]);
      const direct = await ssh(config, 'svc', 'echo $SSH_CONNECTION');
      assert.equal(direct.status, 0, direct.stderr);
      assert.equal(direct.stderr, '', 'no notice when the first alternate is reached');
      assert.equal(proxy.accepted, 1);
      proxy.cut();
      const failedOver = await ssh(config, 'svc', 'echo failed-over');
      assert.equal(failedOver.status, 0, failedOver.stderr);
      assert.equal(failedOver.stdout, 'failed-over\n');
      assert.equal(failedOver.stderr, 'Connected to 127.0.0.1 (alternate of 127.0.0.2).\n');
      assert.equal(proxy.accepted, 1, 'the cut proxy accepted nothing more');
    } finally {
      await proxy.close();
    }
  });

  test('the first alternate accepts but never answers (a stalled link): passed over after ConnectTimeout', async () => {
    const proxy = await proxyOn('127.0.0.2', final.port, final.port);
    try {
      proxy.stall();
      const config = configFor('stalled', '127.0.0.2,127.0.0.1', [`[127.0.0.2]:${final.port} ${finalKey}`]);
      // -o wins over the file's ConnectTimeout 10: the stalled handshake is abandoned after 2 s.
      const result = await ssh(config, '-o', 'ConnectTimeout=2', 'svc', 'echo reached');
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout, 'reached\n');
      assert.equal(result.stderr, 'Connected to 127.0.0.1 (alternate of 127.0.0.2).\n');
      assert.equal(proxy.accepted, 1, 'the stalled alternate was tried first');
    } finally {
      await proxy.close();
    }
  });

  test('an alternate with an unknown host key under strict checking: refused with OpenSSH\'s warning, the next is reached', async () => {
    const proxy = await proxyOn('127.0.0.2', final.port, impostor.port);
    try {
      // The host's key is known only under the second alternate's own name; the first presents another key.
      const config = configFor('unknown', '127.0.0.2,127.0.0.1', [`[127.0.0.1]:${final.port} ${finalKey}`]);
      const result = await ssh(config, 'svc', 'echo reached');
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout, 'reached\n');
      assert.equal(result.stderr, [
        `No ED25519 host key is known for [127.0.0.2]:${final.port} and you have requested strict checking.`,
        'Host key verification failed.',
        'Connected to 127.0.0.1 (alternate of 127.0.0.2).',
        '',
      ].join('\n'));
      assert.equal(proxy.accepted, 1);
    } finally {
      await proxy.close();
    }
  });

  test('a later alternate with an unknown key is refused even under accept-new (no one vouched for it)', async () => {
    const proxy = await proxyOn('127.0.0.2', final.port, impostor.port);
    try {
      // The host (127.0.0.3) refuses connections; its alternate 127.0.0.2 is the impostor.
      const knownHosts = join(home, 'accept-new.known_hosts');
      writeFileSync(knownHosts, '');
      const result = await runTether([
        'ssh', '-F', 'none', '-o', 'HostName=127.0.0.3,127.0.0.2', '-p', String(final.port), '-o', `UserKnownHostsFile=${knownHosts}`,
        '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=accept-new', '-o', 'BatchMode=yes', '-i', final.clientKey,
        `${TEST_USER}@svc`, 'true',
      ], { env: { HOME: home }, timeoutMs: 30_000 });
      assert.equal(result.status, 255, result.stderr);
      assert.match(result.stderr, new RegExp(`No ED25519 host key is known for \\[127\\.0\\.0\\.2\\]:${final.port} and you have requested strict checking\\.\\r?\\nHost key verification failed\\.\\r?\\n$`));
      assert.equal(readFileSync(knownHosts, 'utf8'), '', 'nothing recorded for the alternate');
    } finally {
      await proxy.close();
    }
  });

  test('an alternate with a changed host key: OpenSSH\'s warning, the next is reached', async () => {
    const proxy = await proxyOn('127.0.0.2', final.port, impostor.port);
    try {
      const config = configFor('changed', '127.0.0.2,127.0.0.1', [`[127.0.0.2]:${final.port} ${finalKey}`, `[127.0.0.1]:${final.port} ${finalKey}`]);
      const result = await ssh(config, 'svc', 'echo reached');
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout, 'reached\n');
      assert.match(result.stderr, /^@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n@ {4}WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! {5}@\n/);
      assert.match(result.stderr, new RegExp(`Host key for \\[127\\.0\\.0\\.2\\]:${final.port} has changed and you have requested strict checking\\.\nHost key verification failed\\.\nConnected to 127\\.0\\.0\\.1 \\(alternate of 127\\.0\\.0\\.2\\)\\.\n$`));
    } finally {
      await proxy.close();
    }
  });

  test('every alternate fails: ssh\'s message for the last one, exit 255', async () => {
    const port = await freePort();
    const config = configFor('none-left', '127.0.0.2,127.0.0.3', []);
    // -p wins over the file's Port (a flag is an option given first): a port nothing listens on.
    const result = await ssh(config, '-p', String(port), 'svc', 'true');
    assert.equal(result.status, 255);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, `ssh: connect to host 127.0.0.3 port ${port}: Connection refused\n`);

    // The last one refusing its key: that is what is reported.
    const proxy = await proxyOn('127.0.0.2', final.port, impostor.port);
    try {
      const keyRefused = await ssh(configFor('key-last', '127.0.0.3,127.0.0.2', [`[127.0.0.3]:${final.port} ${finalKey}`]), 'svc', 'true');
      assert.equal(keyRefused.status, 255);
      assert.equal(keyRefused.stderr, `No ED25519 host key is known for [127.0.0.2]:${final.port} and you have requested strict checking.\nHost key verification failed.\n`);
    } finally {
      await proxy.close();
    }
  });

  test('-G prints the list as given; %h is the first alternate', async () => {
    const file = join(home, 'dash-g.config');
    writeFileSync(file, ['Host clint', '  HostName %h.example.org,%h-Backup.example.org', '  ControlPath /tmp/cp-%h-%p', ''].join('\n'));
    const result = await runTether(['ssh', '-G', '-F', file, 'clint'], { env: { HOME: home } });
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout.toString().split('\n');
    assert.ok(lines.includes('hostname clint.example.org,clint-backup.example.org'), result.stdout.toString());
    assert.ok(lines.includes('controlpath /tmp/cp-clint.example.org-22'), result.stdout.toString());
  });
});

describe('failover of a jump host listing two gateways', () => {
  let home: string;
  let key: string;
  let gatewayA: RunningSshd;
  let gatewayB: RunningSshd;
  let proxyA: LinkProxy;
  let proxyB: LinkProxy;
  let tetherFinal: ServerProcess;
  let sshdFinal: RunningSshd;
  let config: string;

  before(async () => {
    home = tempDir('tether-failover-jump-');
    key = makeKey(home, 'id_ed25519', 'ed25519');
    const authorizedKeys = [publicKeyLine(key)];
    const forwarding = ['AllowTcpForwarding yes'];
    gatewayA = await startSshd({ authorizedKeys, hostKeyTypes: ['ed25519'], config: forwarding });
    // sshd offers the first HostKey of a type: B presents A's key, so one known_hosts line covers both gateways.
    gatewayB = await startSshd({ authorizedKeys, hostKeyTypes: ['ed25519'], config: forwarding, overrides: [`HostKey ${gatewayA.hostKeys.ed25519}`] });
    // The gateways as seen from the client: 127.0.0.2 and 127.0.0.3 on one port.
    [proxyA, proxyB] = await proxyPair(gatewayA.port, gatewayB.port);
    tetherFinal = await startServerProcess();
    sshdFinal = await startSshd({ authorizedKeys, hostKeyTypes: ['ed25519'] });
    const knownHosts = join(home, 'known_hosts');
    writeFileSync(knownHosts, [
      `[127.0.0.2]:${proxyA.port} ${keyText(gatewayA.hostKeys.ed25519!)}`,
      `[127.0.0.1]:${tetherFinal.port} ${keyText(join(tetherFinal.dir, 'ssh_host_ed25519_key'))}`,
      `[127.0.0.1]:${sshdFinal.port} ${keyText(sshdFinal.hostKeys.ed25519!)}`,
      '',
    ].join('\n'));
    const common = [`  UserKnownHostsFile ${knownHosts}`, '  GlobalKnownHostsFile /dev/null', '  StrictHostKeyChecking yes', '  BatchMode yes', '  IdentitiesOnly yes', '  ConnectTimeout 10'];
    config = join(home, 'config');
    writeFileSync(config, [
      'Host gw', '  HostName 127.0.0.2,127.0.0.3', `  Port ${proxyA.port}`, '  User root', `  IdentityFile ${key}`, ...common,
      'Host inner-tether', '  HostName 127.0.0.1', `  Port ${tetherFinal.port}`, `  User ${TEST_USER}`, `  IdentityFile ${tetherFinal.clientKey}`, '  ProxyJump gw', ...common,
      'Host inner-sshd', '  HostName 127.0.0.1', `  Port ${sshdFinal.port}`, '  User root', `  IdentityFile ${key}`, '  ProxyJump gw', ...common,
      '',
    ].join('\n'));
  });
  after(async () => {
    await Promise.all([proxyA.close(), proxyB.close()]);
    await Promise.all([gatewayA.stop(), gatewayB.stop(), tetherFinal.stop(), sshdFinal.stop()]);
  });

  const ssh = async (...args: string[]) => {
    const result = await runTether(['ssh', '-F', config, ...args], { env: { HOME: home }, timeoutMs: 30_000 });
    return { ...result, stdout: result.stdout.toString(), stderr: result.stderr.replace(/\r\n/g, '\n') };
  };

  test('both gateways up: the first carries the connection', async () => {
    await proxyA.restore();
    const before = { a: proxyA.accepted, b: proxyB.accepted };
    const result = await ssh('inner-tether', 'echo via-first');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'via-first\n');
    assert.equal(result.stderr, '');
    assert.deepEqual({ a: proxyA.accepted - before.a, b: proxyB.accepted - before.b }, { a: 1, b: 0 });
  });

  for (const [label, host] of [['tether server', 'inner-tether'], ['stock sshd', 'inner-sshd']] as const) {
    test(`the first gateway dead: the ${label} behind it is reached through the second (ProxyJump and -J)`, async () => {
      proxyA.cut();
      try {
        const before = proxyB.accepted;
        const result = await ssh(host, 'echo behind-the-backup');
        assert.equal(result.status, 0, result.stderr);
        assert.equal(result.stdout, 'behind-the-backup\n');
        assert.equal(result.stderr, 'Connected to 127.0.0.3 (alternate of 127.0.0.2).\n');
        const viaFlag = await ssh('-J', 'gw', host, 'echo via-flag');
        assert.equal(viaFlag.status, 0, viaFlag.stderr);
        assert.equal(viaFlag.stdout, 'via-flag\n');
        assert.equal(proxyB.accepted - before, 2, 'both connections went through the second gateway');
      } finally {
        await proxyA.restore();
      }
    });
  }
});
