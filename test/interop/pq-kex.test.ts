/**
 * Post-quantum hybrid key exchange against real peers on loopback: OpenSSH 9.2's ssh logging in to
 * `tether server` with sntrup761x25519-sha512 under both its names, `tether ssh` logging in to `tether
 * server` with each hybrid (mlkem768x25519-sha256 included), and `tether ssh` logging in to OpenSSH 9.2's
 * sshd with sntrup761. OpenSSH 9.2 has no ML-KEM (it arrived in 9.9), so mlkem768x25519-sha256 is proven
 * between Tether's two ends only, besides the in-memory flow (test/unit/crypto/kem-hybrid.test.ts). With
 * nothing configured, each side's first choice must be post-quantum too.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { keyAuth, ssh, startTestServer, TEST_USER, type TestServer } from './server-harness.ts';
import { sshdWithClientKey, type RunningSshd } from '../helpers/openssh.ts';
import { runTether } from '../helpers/tether.ts';

const SNTRUP = ['sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com'];
const HYBRIDS = ['mlkem768x25519-sha256', ...SNTRUP];
const negotiated = (kex: string) => new RegExp(`kex: algorithm: ${kex.replace(/[.@]/g, '\\$&')}\\r?\\n`);

describe('post-quantum kex with tether server', () => {
  let server: TestServer;
  before(async () => {
    // No KexAlgorithms line: sshd_config's default list (OpenSSH 9.2's, sntrup761 first) applies.
    server = await startTestServer();
  });
  after(() => server.stop());

  for (const kex of SNTRUP) {
    test(`OpenSSH's ssh -o KexAlgorithms=${kex} logs in`, async () => {
      const result = await ssh(server, [...keyAuth(server), '-v', '-o', `KexAlgorithms=${kex}`, `${TEST_USER}@127.0.0.1`, 'echo pq']);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.toString(), 'pq\n');
      assert.match(result.stderr, negotiated(kex));
    });
  }

  test('OpenSSH\'s ssh with its defaults negotiates sntrup761x25519-sha512', async () => {
    const result = await ssh(server, [...keyAuth(server), '-v', `${TEST_USER}@127.0.0.1`, 'true']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, negotiated('sntrup761x25519-sha512'));
  });

  for (const kex of HYBRIDS) {
    test(`tether ssh -o KexAlgorithms=${kex} logs in`, async () => {
      const result = await runTether(['ssh', ...keyAuth(server), '-v', '-o', `KexAlgorithms=${kex}`, `${TEST_USER}@127.0.0.1`, 'echo pq'], { timeoutMs: 30_000 });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.toString(), 'pq\n');
      assert.match(result.stderr, negotiated(kex));
    });
  }

  test('tether ssh with its defaults negotiates mlkem768x25519-sha256 (OpenSSH 10\'s first choice)', async () => {
    const result = await runTether(['ssh', ...keyAuth(server), '-v', `${TEST_USER}@127.0.0.1`, 'true'], { timeoutMs: 30_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, negotiated('mlkem768x25519-sha256'));
  });
});

describe('post-quantum kex from tether ssh to OpenSSH sshd', () => {
  let sshd: RunningSshd;
  let home: string;
  let key: string;
  before(async () => {
    ({ home, key, sshd } = await sshdWithClientKey({ hostKeyTypes: ['ed25519'] }));
  });
  after(() => sshd.stop());

  const login = (options: string[]) =>
    runTether(
      ['ssh', '-v', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`,
        '-i', key, '-p', String(sshd.port), ...options, 'root@127.0.0.1', 'echo pq'],
      { env: { HOME: home }, timeoutMs: 30_000 },
    );

  // sshd 9.2 refuses mlkem768x25519-sha256 in its configuration and never offers it: not tried here.
  for (const kex of SNTRUP) {
    test(`-o KexAlgorithms=${kex} logs in`, async () => {
      const result = await login(['-o', `KexAlgorithms=${kex}`]);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.toString(), 'pq\n');
      assert.match(result.stderr, negotiated(kex));
    });
  }

  test('with its defaults, sshd 9.2\'s first post-quantum method is chosen', async () => {
    const result = await login([]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, negotiated('sntrup761x25519-sha512'));
  });
});
