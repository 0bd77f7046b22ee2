/**
 * `tether ssh` against a real OpenSSH sshd: every cipher, MAC (with each CTR cipher), kex method and host-key
 * algorithm we implement, each forced on our side; the debug output must show it was the one negotiated.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sshdWithClientKey, type RunningSshd } from '../helpers/openssh.ts';
import { runTether } from '../helpers/tether.ts';
import { CTR_CIPHERS, REQUIRED_CIPHERS, REQUIRED_HOST_KEY_ALGORITHMS, REQUIRED_KEX, REQUIRED_MACS } from '../helpers/algorithms.ts';

const CIPHERS = REQUIRED_CIPHERS;
const MACS = REQUIRED_MACS;
const KEX = REQUIRED_KEX;
const HOST_KEYS = REQUIRED_HOST_KEY_ALGORITHMS;

describe('tether ssh negotiates every algorithm with OpenSSH sshd', () => {
  let sshd: RunningSshd;
  let home: string;
  let key: string;

  before(async () => {
    ({ home, key, sshd } = await sshdWithClientKey({ hostKeyTypes: ['ed25519', 'ecdsa', 'ecdsa384', 'ecdsa521', 'rsa'] }));
  });
  after(() => sshd.stop());

  async function login(options: string[]): Promise<string> {
    const result = await runTether(
      ['ssh', '-v', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`,
        '-i', key, '-p', String(sshd.port), ...options, 'root@127.0.0.1', 'echo negotiated'],
      { env: { HOME: home } },
    );
    assert.equal(result.stdout.toString(), 'negotiated\n', result.stderr);
    assert.equal(result.status, 0, result.stderr);
    return result.stderr;
  }

  for (const cipher of CIPHERS) {
    test(`cipher ${cipher}`, async () => {
      const log = await login(['-o', `Ciphers=${cipher}`]);
      assert.match(log, new RegExp(`kex: server->client cipher: ${cipher.replace(/[.@]/g, '\\$&')} `));
      assert.match(log, new RegExp(`kex: client->server cipher: ${cipher.replace(/[.@]/g, '\\$&')} `));
    });
  }

  for (const cipher of CTR_CIPHERS) {
    for (const mac of MACS) {
      test(`cipher ${cipher} with MAC ${mac}`, async () => {
        const log = await login(['-o', `Ciphers=${cipher}`, '-o', `MACs=${mac}`]);
        assert.match(log, new RegExp(`cipher: ${cipher} MAC: ${mac.replace(/[.@]/g, '\\$&')} `));
      });
    }
  }

  for (const kex of KEX) {
    test(`kex ${kex}`, async () => {
      const log = await login(['-o', `KexAlgorithms=${kex}`]);
      assert.match(log, new RegExp(`kex: algorithm: ${kex.replace(/[.@]/g, '\\$&')}\\r\\n`));
    });
  }

  for (const hostKey of HOST_KEYS) {
    test(`host key ${hostKey}`, async () => {
      const log = await login(['-o', `HostKeyAlgorithms=${hostKey}`]);
      assert.match(log, new RegExp(`kex: host key algorithm: ${hostKey}\\r\\n`));
    });
  }

  test('compression zlib@openssh.com (-C)', async () => {
    const log = await login(['-C']);
    assert.match(log, /compression: zlib@openssh\.com/);
  });
});
