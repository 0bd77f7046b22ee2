/**
 * `tether ssh` with agents, as the guide uses them: keys held by OpenSSH's ssh-agent or by `tether agent`,
 * IdentitiesOnly keeping an agent full of keys from exhausting MaxAuthTries, AddKeysToAgent, and agent
 * forwarding (-A) through a real sshd.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeKey, publicKeyLine, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { runProgram, runTether } from '../helpers/tether.ts';
import { startAgentProcess, TETHER_ENTRY, type RunningAgent } from '../unit/agent/run-tether.ts';

describe('tether ssh with an agent', () => {
  let home: string;
  let sshd: RunningSshd;
  let limitedSshd: RunningSshd;
  let opensshAgent: RunningAgent;
  let tetherAgent: RunningAgent;
  const keys: string[] = [];

  before(async () => {
    home = tempDir();
    for (let i = 1; i <= 7; i++) keys.push(makeKey(home, `id_${i}`, 'ed25519'));
    sshd = await startSshd({ authorizedKeys: [publicKeyLine(keys[6]!)] });
    limitedSshd = await startSshd({ authorizedKeys: [publicKeyLine(keys[6]!)], config: ['MaxAuthTries 3'] });
    const opensshSocket = join(home, 'openssh-agent.sock');
    opensshAgent = await startAgentProcess('/usr/bin/ssh-agent', ['-D', '-a', opensshSocket], opensshSocket);
    const tetherSocket = join(home, 'tether-agent.sock');
    tetherAgent = await startAgentProcess(process.execPath, [TETHER_ENTRY, 'agent', '-D', '-a', tetherSocket], tetherSocket);
  });
  after(async () => {
    await opensshAgent.stop();
    await tetherAgent.stop();
    await sshd.stop();
    await limitedSshd.stop();
  });

  const ssh = (server: RunningSshd, socket: string, extra: string[]) =>
    runTether(['ssh', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`,
      '-o', 'PreferredAuthentications=publickey', '-p', String(server.port), ...extra], { env: { HOME: home, SSH_AUTH_SOCK: socket } });

  async function loadAgent(socket: string, addWith: 'ssh-add' | 'tether', keyPaths: string[]): Promise<void> {
    await runProgram('/usr/bin/ssh-add', ['-D'], { env: { SSH_AUTH_SOCK: socket } });
    for (const key of keyPaths) {
      const added = addWith === 'ssh-add'
        ? await runProgram('/usr/bin/ssh-add', [key], { env: { SSH_AUTH_SOCK: socket } })
        : await runTether(['add', key], { env: { SSH_AUTH_SOCK: socket, HOME: home } });
      assert.equal(added.status, 0, added.stderr);
    }
  }

  for (const kind of ['openssh', 'tether'] as const) {
    test(`logs in with a key held by ${kind === 'openssh' ? "OpenSSH's ssh-agent" : 'tether agent'}`, async () => {
      const agent = kind === 'openssh' ? opensshAgent : tetherAgent;
      await loadAgent(agent.socket, kind === 'openssh' ? 'ssh-add' : 'tether', [keys[6]!]);
      const result = await ssh(sshd, agent.socket, ['root@127.0.0.1', 'echo agent login']);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.toString(), 'agent login\n');
    });
  }

  test('seven keys in the agent exhaust MaxAuthTries 3; IdentitiesOnly with the right file succeeds', async () => {
    await loadAgent(opensshAgent.socket, 'ssh-add', keys);
    const flooded = await ssh(limitedSshd, opensshAgent.socket, ['root@127.0.0.1', 'true']);
    assert.equal(flooded.status, 255);
    assert.match(flooded.stderr, /Too many authentication failures/);
    const focused = await ssh(limitedSshd, opensshAgent.socket, ['-o', 'IdentitiesOnly=yes', '-i', keys[6]!, 'root@127.0.0.1', 'echo focused']);
    assert.equal(focused.status, 0, focused.stderr);
    assert.equal(focused.stdout.toString(), 'focused\n');
  });

  test('AddKeysToAgent=yes puts the identity file\'s key into the agent', async () => {
    await loadAgent(opensshAgent.socket, 'ssh-add', []);
    const result = await ssh(sshd, opensshAgent.socket, ['-o', 'AddKeysToAgent=yes', '-o', 'IdentitiesOnly=yes', '-i', keys[6]!, 'root@127.0.0.1', 'true']);
    assert.equal(result.status, 0, result.stderr);
    const listed = await runProgram('/usr/bin/ssh-add', ['-L'], { env: { SSH_AUTH_SOCK: opensshAgent.socket } });
    assert.equal(listed.stdout.toString().trim().split(' ').slice(0, 2).join(' '), publicKeyLine(keys[6]!).split(' ').slice(0, 2).join(' '));
  });

  test('-A forwards the agent: ssh-add -l on the server lists our agent\'s key', async () => {
    await loadAgent(tetherAgent.socket, 'tether', [keys[6]!, keys[0]!]);
    const result = await ssh(sshd, tetherAgent.socket, ['-A', 'root@127.0.0.1', 'ssh-add -L']);
    assert.equal(result.status, 0, result.stderr);
    const remote = result.stdout.toString().trim().split('\n').map((line) => line.split(' ').slice(0, 2).join(' '));
    assert.deepEqual(remote, [keys[6]!, keys[0]!].map((key) => publicKeyLine(key).split(' ').slice(0, 2).join(' ')));
    const without = await ssh(sshd, tetherAgent.socket, ['root@127.0.0.1', 'ssh-add -L']);
    assert.notEqual(without.status, 0, 'without -A the server has no agent');
  });
});
