/**
 * `tether ssh` logging in with OpenSSH user certificates to a real sshd that trusts only the CA
 * (TrustedUserCAKeys, no authorized key): the `-cert.pub` beside an identity file, a CertificateFile whose
 * key is held by an agent, and a certificate held by the agent itself (ssh-add adds it with the key).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeKey, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { runProgram, runTether } from '../helpers/tether.ts';
import { startAgentProcess, type RunningAgent } from '../unit/agent/run-tether.ts';

function certify(ca: string, key: string, principal: string, extra: string[] = []): void {
  const result = spawnSync('ssh-keygen', ['-q', '-s', ca, '-I', 'tether test', '-n', principal, ...extra, `${key}.pub`], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ssh-keygen -s failed: ${result.stderr}`);
}

describe('tether ssh with user certificates', () => {
  let home: string;
  let sshd: RunningSshd;
  let agent: RunningAgent;
  let ca: string;

  before(async () => {
    home = tempDir();
    ca = makeKey(home, 'ca', 'ed25519');
    sshd = await startSshd({ authorizedKeys: [], config: [`TrustedUserCAKeys ${ca}.pub`] });
    const socket = join(home, 'agent.sock');
    agent = await startAgentProcess('/usr/bin/ssh-agent', ['-D', '-a', socket], socket);
  });
  after(async () => {
    await agent.stop();
    await sshd.stop();
    rmSync(home, { recursive: true, force: true });
  });

  const ssh = (extra: string[], env: NodeJS.ProcessEnv = { SSH_AUTH_SOCK: '' }) =>
    runTether(['ssh', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`,
      '-o', 'PreferredAuthentications=publickey', '-o', 'IdentitiesOnly=yes', '-p', String(sshd.port), ...extra], { env: { HOME: home, ...env } });

  for (const [type, bits] of [['ed25519', undefined], ['ecdsa', 256], ['rsa', 2048]] as const) {
    test(`${type}: the certificate beside the identity file is offered and signed with the file's key`, async () => {
      const key = makeKey(home, `id_${type}`, type, bits);
      certify(ca, key, 'root');
      const result = await ssh(['-v', '-i', key, 'root@127.0.0.1', 'echo certified']);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.toString(), 'certified\n');
      assert.match(result.stderr, /Server accepts key: \S+ \S+-cert-v01@openssh\.com/);
      assert.match(sshd.log(), /Accepted publickey for root .* ID tether test/);
    });
  }

  test('a certificate for another principal is refused', async () => {
    const key = makeKey(home, 'id_other', 'ed25519');
    certify(ca, key, 'someone-else');
    const result = await ssh(['-i', key, 'root@127.0.0.1', 'true']);
    assert.equal(result.status, 255);
    assert.match(result.stderr, /Permission denied \(publickey/);
  });

  test('CertificateFile with the key only in the agent, named by its .pub', async () => {
    const key = makeKey(home, 'id_agent', 'ed25519');
    certify(ca, key, 'root');
    const cert = join(home, 'elsewhere-cert.pub');
    renameSync(`${key}-cert.pub`, cert);
    const added = await runProgram('/usr/bin/ssh-add', [key], { env: { SSH_AUTH_SOCK: agent.socket } });
    assert.equal(added.status, 0, added.stderr);
    rmSync(key);
    const result = await ssh(['-i', `${key}.pub`, '-o', `CertificateFile=${cert}`, 'root@127.0.0.1', 'echo via agent'], { SSH_AUTH_SOCK: agent.socket });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'via agent\n');
    await runProgram('/usr/bin/ssh-add', ['-D'], { env: { SSH_AUTH_SOCK: agent.socket } });
  });

  test('a certificate the agent holds is offered from the agent', async () => {
    const key = makeKey(home, 'id_held', 'ecdsa', 256);
    certify(ca, key, 'root');
    // ssh-add loads key-cert.pub along with the key.
    const added = await runProgram('/usr/bin/ssh-add', [key], { env: { SSH_AUTH_SOCK: agent.socket } });
    assert.equal(added.status, 0, added.stderr);
    assert.match(added.stderr, /Certificate added/);
    rmSync(key);
    rmSync(`${key}.pub`);
    const result = await runTether(['ssh', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`,
      '-o', 'PreferredAuthentications=publickey', '-p', String(sshd.port), 'root@127.0.0.1', 'echo agent cert'], { env: { HOME: home, SSH_AUTH_SOCK: agent.socket } });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'agent cert\n');
    await runProgram('/usr/bin/ssh-add', ['-D'], { env: { SSH_AUTH_SOCK: agent.socket } });
  });
});
