/**
 * ssh-dss user keys on `tether server`, with stock OpenSSH clients: verify-only support, usable only when
 * PubkeyAcceptedAlgorithms names ssh-dss (as OpenSSH 9.2's regress agent.sh configures it), logged with
 * sshd's "DSA SHA256:…" fingerprint; refused under the default list.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { ssh, startTestServer, TEST_USER, type TestServer } from './server-harness.ts';
import { makeKey, publicKeyLine } from '../helpers/openssh.ts';
import { fingerprint, parsePublicKeyLine } from '../../src/keys/index.ts';

const dsaOptions = ['-o', 'IdentitiesOnly=yes', '-o', 'PreferredAuthentications=publickey', '-o', 'BatchMode=yes', '-o', 'PubkeyAcceptedAlgorithms=+ssh-dss'];

async function serverWithDsaKey(config: string[]): Promise<{ test: TestServer; key: string }> {
  const test = await startTestServer({ config });
  const key = makeKey(test.dir, 'id_dsa', 'dsa');
  writeFileSync(test.authorizedKeys, `${publicKeyLine(test.clientKey)}\n${publicKeyLine(key)}\n`);
  return { test, key };
}

function escapedFingerprint(privateKey: string): string {
  return fingerprint(parsePublicKeyLine(publicKeyLine(privateKey)).key.blob).replace(/[+/]/g, '\\$&');
}

describe('ssh-dss user keys with PubkeyAcceptedAlgorithms +ssh-dss', () => {
  let test: TestServer;
  let key: string;
  before(async () => {
    ({ test, key } = await serverWithDsaKey(['PubkeyAcceptedAlgorithms +ssh-dss']));
  });
  after(async () => {
    await test?.stop();
  });

  it('a DSA key logs in and is logged as DSA SHA256:…', async () => {
    test.logLines.length = 0;
    const result = await ssh(test, [...test.sshBase(), ...dsaOptions, '-i', key, `${TEST_USER}@127.0.0.1`, 'echo dsa-in']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'dsa-in\n');
    await test.waitForLog(new RegExp(`^Accepted publickey for ${TEST_USER} from 127\\.0\\.0\\.1 port \\d+ ssh2: DSA ${escapedFingerprint(key)}$`));
  });

  it('a DSA key that is not authorized is still refused', async () => {
    const stranger = makeKey(test.dir, 'id_dsa_stranger', 'dsa');
    const result = await ssh(test, [...test.sshBase(), ...dsaOptions, '-i', stranger, `${TEST_USER}@127.0.0.1`, 'echo no']);
    assert.equal(result.status, 255, result.stdout.toString());
    assert.match(result.stderr, /Permission denied \(publickey/);
  });
});

describe('ssh-dss user keys under the default PubkeyAcceptedAlgorithms', () => {
  let test: TestServer;
  let key: string;
  before(async () => {
    ({ test, key } = await serverWithDsaKey([]));
  });
  after(async () => {
    await test?.stop();
  });

  it('an authorized DSA key is refused, while the server works for other keys', async () => {
    test.logLines.length = 0;
    const refused = await ssh(test, [...test.sshBase(), ...dsaOptions, '-i', key, `${TEST_USER}@127.0.0.1`, 'echo no']);
    assert.equal(refused.status, 255, refused.stdout.toString());
    assert.match(refused.stderr, /Permission denied \(publickey/);
    assert.ok(!test.logLines.some((line) => line.startsWith('Accepted publickey')), test.logLines.join('\n'));
    await test.waitForLog(/^userauth_pubkey: signature algorithm ssh-dss not in PubkeyAcceptedAlgorithms$/);
    const other = await ssh(test, [...test.sshBase(), ...dsaOptions, '-i', test.clientKey, `${TEST_USER}@127.0.0.1`, 'echo ed-in']);
    assert.equal(other.status, 0, other.stderr);
    assert.equal(other.stdout.toString(), 'ed-in\n');
  });
});
