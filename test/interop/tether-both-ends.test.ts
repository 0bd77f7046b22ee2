/**
 * Tether at both ends: `tether ssh` against `tether server`, so the two halves of our own protocol core are
 * proven against each other as well as against OpenSSH (every cipher, the kex families, bulk data both ways,
 * a PTY, and each authentication method).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyAuth, startTestServer, TEST_PASSWORD, TEST_USER, type TestServer } from './server-harness.ts';
import { runTether } from '../helpers/tether.ts';
import { REQUIRED_CIPHERS } from '../helpers/algorithms.ts';

const CIPHERS = REQUIRED_CIPHERS;
const KEX = ['curve25519-sha256', 'diffie-hellman-group14-sha256', 'diffie-hellman-group-exchange-sha256'];

describe('tether ssh against tether server', () => {
  let server: TestServer;
  let askpass: string;

  before(async () => {
    server = await startTestServer({ config: ['KbdInteractiveAuthentication yes', 'PasswordAuthentication yes'] });
    askpass = join(server.dir, 'askpass.sh');
    writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' '${TEST_PASSWORD}'\n`);
    chmodSync(askpass, 0o755);
  });
  after(() => server.stop());

  const ssh = (extra: string[], options: { input?: Buffer; env?: NodeJS.ProcessEnv } = {}) =>
    runTether(['ssh', ...keyAuth(server), ...extra], { input: options.input, env: options.env, timeoutMs: 120_000 });

  for (const cipher of CIPHERS) {
    test(`cipher ${cipher}`, async () => {
      const result = await ssh(['-c', cipher, `${TEST_USER}@127.0.0.1`, 'echo ok']);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.toString(), 'ok\n');
    });
  }

  for (const kex of KEX) {
    test(`kex ${kex}`, async () => {
      const result = await ssh(['-o', `KexAlgorithms=${kex}`, `${TEST_USER}@127.0.0.1`, 'echo ok']);
      assert.equal(result.status, 0, result.stderr);
    });
  }

  test('64 MiB each way, byte-exact, with compression', async () => {
    const data = randomBytes(64 * 1024 * 1024);
    const expected = createHash('sha256').update(data).digest('hex');
    const up = await ssh(['-C', `${TEST_USER}@127.0.0.1`, 'sha256sum'], { input: data });
    assert.equal(up.status, 0, up.stderr);
    assert.equal(up.stdout.toString().split(' ')[0], expected);
    const down = await ssh([`${TEST_USER}@127.0.0.1`, 'head -c 67108864 /dev/zero']);
    assert.equal(down.status, 0, down.stderr);
    assert.equal(down.stdout.length, 64 * 1024 * 1024);
    assert.ok(down.stdout.every((byte) => byte === 0));
  });

  test('a PTY with -tt, and the exit status', async () => {
    const result = await ssh(['-tt', `${TEST_USER}@127.0.0.1`, 'tty; exit 3']);
    assert.equal(result.status, 3, result.stderr);
    assert.match(result.stdout.toString(), /^\/dev\/pts\/\d+\r?$/m);
  });

  for (const method of ['password', 'keyboard-interactive']) {
    test(`${method} authentication`, async () => {
      const result = await runTether(
        ['ssh', ...server.sshBase(), '-o', `PreferredAuthentications=${method}`, `${TEST_USER}@127.0.0.1`, 'id -un'],
        { env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force' } },
      );
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.toString(), `${TEST_USER}\n`);
    });
  }
});
