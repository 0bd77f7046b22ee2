/**
 * `tether ssh` against a real sshd where one key is not enough: AuthenticationMethods publickey,publickey
 * (and publickey,password) need the client to go on after a partial success, offering its next key and not
 * the accepted one again (sshconnect2.c input_userauth_failure, pubkey_reset). And identity files whose
 * private half lives only in an agent: `-i key.pub`, or `IdentityFile key` with only key.pub on disk.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeKey, publicKeyLine, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { runProgram, runTether } from '../helpers/tether.ts';
import { startAgentProcess, type RunningAgent } from '../unit/agent/run-tether.ts';

describe('tether ssh: partial success and agent keys named by their public half', () => {
  let home: string;
  let twoKeys: RunningSshd;
  let oneKey: RunningSshd;
  let agent: RunningAgent;
  const keys: string[] = [];
  let pubOnly: string;

  before(async () => {
    home = tempDir();
    for (let i = 0; i < 3; i++) keys.push(makeKey(home, `id_${i}`, 'ed25519'));
    // Only keys 1 and 2 are authorized; key 0 is refused, so the continuation has to skip over it.
    twoKeys = await startSshd({ authorizedKeys: [publicKeyLine(keys[1]!), publicKeyLine(keys[2]!)], config: ['AuthenticationMethods publickey,publickey'] });
    // A key whose private file is gone after it went into the agent.
    const kept = makeKey(home, 'agent_only', 'ed25519');
    pubOnly = join(home, 'only');
    copyFileSync(`${kept}.pub`, `${pubOnly}.pub`);
    oneKey = await startSshd({ authorizedKeys: [publicKeyLine(kept)] });
    const socket = join(home, 'agent.sock');
    agent = await startAgentProcess('/usr/bin/ssh-agent', ['-D', '-a', socket], socket);
    const added = await runProgram('/usr/bin/ssh-add', [kept], { env: { SSH_AUTH_SOCK: socket } });
    assert.equal(added.status, 0, added.stderr);
    rmSync(kept);
    rmSync(`${kept}.pub`);
  });
  after(async () => {
    await agent.stop();
    await twoKeys.stop();
    await oneKey.stop();
    rmSync(home, { recursive: true, force: true });
  });

  const ssh = (server: RunningSshd, extra: string[], env: NodeJS.ProcessEnv = { SSH_AUTH_SOCK: '' }) =>
    runTether(['ssh', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`,
      '-o', 'PreferredAuthentications=publickey', '-o', 'IdentitiesOnly=yes', '-p', String(server.port), ...extra], { env: { HOME: home, ...env } });

  test('AuthenticationMethods publickey,publickey: a second, different key follows the first', async () => {
    const result = await ssh(twoKeys, ['-v', '-i', keys[0]!, '-i', keys[1]!, '-i', keys[2]!, 'root@127.0.0.1', 'echo two keys']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'two keys\n');
    assert.match(result.stderr, /Authenticated using "publickey" with partial success\./);
    const offered = [...result.stderr.matchAll(/Offering public key: (\S+)/g)].map((m) => m[1]);
    // Key 0 refused, key 1 taken as the first step; then key 2, before key 0 again; key 1 never again.
    assert.deepEqual(offered, [keys[0], keys[1], keys[2]]);
  });

  test('publickey,publickey with one usable key fails with the remaining methods', async () => {
    const result = await ssh(twoKeys, ['-i', keys[0]!, '-i', keys[1]!, 'root@127.0.0.1', 'true']);
    assert.equal(result.status, 255);
    assert.match(result.stderr, /root@127\.0\.0\.1: Permission denied \(publickey\)\./);
  });

  test('-i key.pub with the private half in the agent signs with the agent', async () => {
    const result = await ssh(oneKey, ['-i', `${pubOnly}.pub`, 'root@127.0.0.1', 'echo pub named'], { SSH_AUTH_SOCK: agent.socket });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'pub named\n');
  });

  // `-i` skips a file that is not there ("Identity file ... not accessible"), as ssh does; IdentityFile does not.
  test('IdentityFile key with only key.pub on disk signs with the agent', async () => {
    const result = await ssh(oneKey, ['-o', `IdentityFile=${pubOnly}`, 'root@127.0.0.1', 'echo private absent'], { SSH_AUTH_SOCK: agent.socket });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'private absent\n');
  });

  test('without the agent, a public half alone is offered but cannot sign', async () => {
    const result = await ssh(oneKey, ['-o', `IdentityFile=${pubOnly}`, 'root@127.0.0.1', 'true']);
    assert.equal(result.status, 255);
    assert.match(result.stderr, new RegExp(`no such identity: ${pubOnly}: No such file or directory`));
    assert.match(result.stderr, /Permission denied \(publickey,/);
  });
});
