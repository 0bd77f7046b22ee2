/**
 * The guide's "Advanced tunnelling", across both implementations: a three-hop chain through tether server,
 * OpenSSH sshd and tether server again, driven by `tether ssh -J` and by OpenSSH's `ssh -J`, plus OpenSSH's
 * ssh using `ProxyCommand "tether ssh -W %h:%p gw"` with tether server as the gateway. Each hop's settings
 * come from its own Host block, as ssh applies them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { publicKeyLine, startSshd, type RunningSshd } from '../helpers/openssh.ts';
import { runProgram, runTether, TETHER_BIN } from '../helpers/tether.ts';
import { startTestServer, TEST_USER, type TestServer } from './server-harness.ts';

describe('jump chains mixing tether server and OpenSSH sshd', () => {
  let first: TestServer;
  let middle: RunningSshd;
  let last: TestServer;
  let config: string;

  before(async () => {
    first = await startTestServer({ config: ['AllowTcpForwarding yes'] });
    last = await startTestServer({ config: ['AllowTcpForwarding yes'] });
    // Both tether servers authorize their own client key; the OpenSSH hop authorizes both for root.
    writeFileSync(last.authorizedKeys, `${publicKeyLine(last.clientKey)}\n${publicKeyLine(first.clientKey)}\n`);
    middle = await startSshd({ authorizedKeys: [publicKeyLine(first.clientKey)], config: ['AllowTcpForwarding yes'] });
    config = join(first.dir, 'ssh_config');
    const host = (name: string, port: number, user: string) =>
      [`Host ${name}`, '  HostName 127.0.0.1', `  Port ${port}`, `  User ${user}`].join('\n');
    writeFileSync(
      config,
      [
        host('gw-tether', first.port, TEST_USER),
        host('gw-openssh', middle.port, 'root'),
        host('inside-tether', last.port, TEST_USER),
        'Host *',
        `  IdentityFile ${first.clientKey}`,
        '  IdentitiesOnly yes',
        '  StrictHostKeyChecking no',
        `  UserKnownHostsFile ${join(first.dir, 'known_hosts_chain')}`,
        '  BatchMode yes',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await first.stop();
    await middle.stop();
    await last.stop();
  });

  test('tether ssh -J gw-tether,gw-openssh inside-tether', async () => {
    const result = await runTether(['ssh', '-F', config, '-J', 'gw-tether,gw-openssh', 'inside-tether', 'echo "three hops as $(id -un)"'], { timeoutMs: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), `three hops as ${TEST_USER}\n`);
    // The OpenSSH hop really carried the last leg.
    assert.match(middle.log(), /Accepted publickey for root/);
  });

  test('OpenSSH ssh -J gw-tether,gw-openssh inside-tether', async () => {
    const result = await runProgram('/usr/bin/ssh', ['-F', config, '-J', 'gw-tether,gw-openssh', 'inside-tether', 'echo "three hops via openssh"'], { timeoutMs: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'three hops via openssh\n');
  });

  test('OpenSSH ssh with ProxyCommand "tether ssh -W %h:%p gw-tether"', async () => {
    const proxy = `${process.execPath} ${TETHER_BIN} ssh -F ${config} -W %h:%p gw-tether`;
    const result = await runProgram('/usr/bin/ssh', ['-F', config, '-o', `ProxyCommand=${proxy}`, 'inside-tether', 'echo "through the gateway"'], { timeoutMs: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'through the gateway\n');
  });
});
