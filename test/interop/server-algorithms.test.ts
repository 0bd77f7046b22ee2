/**
 * Every cipher, MAC (with each CTR cipher), key exchange and host-key algorithm, forced from the stock
 * OpenSSH client's side against `tether server`, each proven by a short exec; plus compression and the
 * host-key announcement (hostkeys-00@openssh.com) learnt by a client with UpdateHostKeys.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyAuth, ssh, startTestServer, type TestServer } from './server-harness.ts';
import { REQUIRED_CIPHERS, REQUIRED_HOST_KEY_ALGORITHMS, REQUIRED_KEX, REQUIRED_MACS } from '../helpers/algorithms.ts';

const CIPHERS = REQUIRED_CIPHERS;
const MACS = REQUIRED_MACS;
const KEX = REQUIRED_KEX;
const HOST_KEY_ALGORITHMS = REQUIRED_HOST_KEY_ALGORITHMS;

let test: TestServer;

before(async () => {
  test = await startTestServer({ extraEcdsa: true });
});
after(async () => {
  await test?.stop();
});

/** Runs `echo` over a connection with the given -o options and checks what was negotiated (ssh -v). */
async function echoWith(options: string[], expectDebug: RegExp): Promise<void> {
  const args = [...keyAuth(test), '-v', ...options.flatMap((o) => ['-o', o]), 'tethertest@127.0.0.1', 'echo negotiated-$((6*7))'];
  // -v overrides LogLevel=ERROR so the negotiated algorithms can be checked.
  const result = await ssh(test, args);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.toString(), 'negotiated-42\n');
  assert.match(result.stderr, expectDebug);
}

describe('tether server negotiates every algorithm OpenSSH forces', () => {
  for (const cipher of CIPHERS) {
    it(`cipher ${cipher}`, async () => {
      await echoWith([`Ciphers=${cipher}`], new RegExp(`kex: server->client cipher: ${cipher.replace(/[.@]/g, '\\$&')} `));
    });
  }
  for (const cipher of CIPHERS.filter((c) => c.endsWith('-ctr'))) {
    for (const mac of MACS) {
      it(`${cipher} with ${mac}`, async () => {
        await echoWith([`Ciphers=${cipher}`, `MACs=${mac}`], new RegExp(`client->server cipher: ${cipher} MAC: ${mac.replace(/[.@]/g, '\\$&')} `));
      });
    }
  }
  for (const kex of KEX) {
    it(`kex ${kex}`, async () => {
      await echoWith([`KexAlgorithms=${kex}`], new RegExp(`kex: algorithm: ${kex.replace(/[.@]/g, '\\$&')}\\b`));
    });
  }
  for (const algorithm of HOST_KEY_ALGORITHMS) {
    it(`host key ${algorithm}`, async () => {
      await echoWith([`HostKeyAlgorithms=${algorithm}`], new RegExp(`kex: host key algorithm: ${algorithm}\\b`));
    });
  }
  it('compression (zlib@openssh.com, delayed until after authentication)', async () => {
    await echoWith(['Compression=yes'], /compression: zlib@openssh\.com/);
  });
  it('group exchange picks a group from /etc/ssh/moduli within the client\'s range', async () => {
    await echoWith(['KexAlgorithms=diffie-hellman-group-exchange-sha256'], /SSH2_MSG_KEX_DH_GEX_GROUP received/);
  });
});

describe('host key rotation (OpenSSH PROTOCOL §2.5)', () => {
  it('a client with UpdateHostKeys=yes learns every host key, after the server proves them', async () => {
    const knownHosts = join(test.dir, 'known_hosts_update');
    // UpdateHostKeys only acts for a host whose key is already trusted: start from the ed25519 key.
    const ed25519 = readFileSync(join(test.dir, 'ssh_host_ed25519_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(knownHosts, `[127.0.0.1]:${test.port} ${ed25519}\n`);
    const args = [
      ...keyAuth(test).map((a) => (a.startsWith('UserKnownHostsFile=') ? `UserKnownHostsFile=${knownHosts}` : a === 'StrictHostKeyChecking=no' ? 'StrictHostKeyChecking=yes' : a)),
      '-o', 'UpdateHostKeys=yes',
      'tethertest@127.0.0.1',
      // Long enough for the prove round trip, which the client makes after the session starts.
      'sleep 1',
    ];
    const result = await ssh(test, args);
    assert.equal(result.status, 0, result.stderr);
    const lines = readFileSync(knownHosts, 'utf8').trim().split('\n');
    const types = lines.map((line) => line.split(' ')[1]).sort();
    // ecdsa-256/384/521 and rsa were learnt from hostkeys-00 and proven with hostkeys-prove-00.
    assert.deepEqual(types, ['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-ed25519', 'ssh-rsa']);
  });
});
