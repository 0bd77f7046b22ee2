/**
 * ssh's "checking without port identifier" (sshconnect.c check_host_key): a server on a port other than 22
 * whose key is known only under its bare name is accepted, even under StrictHostKeyChecking=yes, and nothing
 * is recorded; a different key under the bare name leaves it new, and HostKeyAlias is never retried. Each
 * case is checked against the real ssh with the same known_hosts file, and against our policy.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostKeyVerifier, HostKeyVerificationError } from '../../src/client/host-key-policy.ts';
import { generatePrivateKey, loadPublicKeyFile, type SshPublicKey } from '../../src/keys/index.ts';
import { startSshd, type RunningSshd } from '../helpers/openssh.ts';

const scratch = mkdtempSync(join(tmpdir(), 'tether-khport-'));
const other = generatePrivateKey('ed25519').publicKey;
let sshd: RunningSshd;
let hostKey: SshPublicKey;

before(async () => {
  sshd = await startSshd({ hostKeyTypes: ['ed25519'] });
  hostKey = loadPublicKeyFile(`${sshd.hostKeys.ed25519}.pub`).key;
});
after(async () => {
  await sshd?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

function knownHosts(name: string, text: string): string {
  const file = join(scratch, name);
  writeFileSync(file, text);
  return file;
}

/** Whether the real ssh accepts the host key with this known_hosts file (it then fails at authentication). */
function sshAccepts(file: string, extra: string[] = []): boolean {
  const result = spawnSync('/usr/bin/ssh', [
    '-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${file}`,
    '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'PreferredAuthentications=none', ...extra,
    '-p', String(sshd.port), '-l', 'nobody', '127.0.0.1', 'true',
  ], { encoding: 'utf8', timeout: 20_000 });
  return !/Host key verification failed/.test(result.stderr);
}

async function tetherAccepts(file: string, hostKeyAlias?: string): Promise<boolean> {
  const verify = hostKeyVerifier({
    host: '127.0.0.1', port: sshd.port, hostKeyAlias, strict: 'yes', userKnownHostsFiles: [file], globalKnownHostsFiles: [], warn: () => {},
  });
  try {
    await verify(hostKey, hostKey.type, { address: '127.0.0.1' });
    return true;
  } catch (error) {
    if (error instanceof HostKeyVerificationError) return false;
    throw error;
  }
}

describe('known_hosts lookup without the port', () => {
  it('accepts a key known under the bare name, as ssh does, and records nothing', async () => {
    const text = `127.0.0.1 ${hostKey.toLine()}\n`;
    const file = knownHosts('bare', text);
    assert.equal(sshAccepts(file), true);
    assert.equal(await tetherAccepts(file), true);
    assert.equal(readFileSync(file, 'utf8'), text);
  });

  it('a different key under the bare name leaves the host unknown', async () => {
    const file = knownHosts('other', `127.0.0.1 ${other.toLine()}\n`);
    assert.equal(sshAccepts(file), false);
    assert.equal(await tetherAccepts(file), false);
  });

  it('HostKeyAlias names the host without a port: no second lookup', async () => {
    const file = knownHosts('alias', `127.0.0.1 ${hostKey.toLine()}\n`);
    assert.equal(sshAccepts(file, ['-o', 'HostKeyAlias=alias.example']), false);
    assert.equal(await tetherAccepts(file, 'alias.example'), false);
  });
});
