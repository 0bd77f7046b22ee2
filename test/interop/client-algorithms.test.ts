/**
 * `tether ssh` against a real OpenSSH sshd: every cipher, MAC (with each CTR cipher), kex method and host-key
 * algorithm we implement, each forced on our side; the debug output must show it was the one negotiated.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeKey, publicKeyLine, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { runTether } from '../helpers/tether.ts';

const CIPHERS = ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr'];
const CTR_CIPHERS = ['aes128-ctr', 'aes192-ctr', 'aes256-ctr'];
const MACS = ['hmac-sha2-256', 'hmac-sha2-512', 'hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com'];
const KEX = [
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384',
  'ecdh-sha2-nistp521',
  'diffie-hellman-group14-sha256',
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group18-sha512',
  'diffie-hellman-group-exchange-sha256',
];
const HOST_KEYS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256'];

describe('tether ssh negotiates every algorithm with OpenSSH sshd', () => {
  let sshd: RunningSshd;
  let home: string;
  let key: string;

  before(async () => {
    home = tempDir();
    key = makeKey(home, 'id_ed25519', 'ed25519');
    sshd = await startSshd({
      authorizedKeys: [publicKeyLine(key)],
      hostKeyTypes: ['ed25519', 'ecdsa', 'ecdsa384', 'ecdsa521', 'rsa'],
    });
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
