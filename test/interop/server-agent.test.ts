/**
 * Agent forwarding through `tether server` (OpenSSH PROTOCOL §2.1) with the stock client and its own
 * ssh-agent: `ssh -A` gives the remote command an SSH_AUTH_SOCK in a private directory owned by the user,
 * through which `ssh-add -L` lists and `ssh-keygen -Y sign` signs with the client's key; the socket is
 * removed when the connection ends; AllowAgentForwarding no and the key's no-agent-forwarding leave the
 * remote without SSH_AUTH_SOCK.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeKey, publicKeyLine } from '../helpers/openssh.ts';
import { keyAuth, run, startTestServer, TEST_USER, type TestServer } from './server-harness.ts';
import { waitFor } from './server-forwarding-helpers.ts';

const AGENT_FORWARDING_OFF = '127.0.0.2';

let test: TestServer;
let agent: ChildProcess;
let agentSocket: string;
let agentKey: string;

function sshWithAgent(args: string[]) {
  return run('/usr/bin/ssh', args, { home: join(test.dir, 'home'), env: { SSH_AUTH_SOCK: agentSocket }, timeoutMs: 20_000 });
}

before(async () => {
  test = await startTestServer({
    extraAddresses: [AGENT_FORWARDING_OFF],
    tail: [`Match LocalAddress ${AGENT_FORWARDING_OFF}`, '\tAllowAgentForwarding no'],
  });
  agentSocket = join(test.dir, 'agent.sock');
  agent = spawn('/usr/bin/ssh-agent', ['-D', '-a', agentSocket], { stdio: 'ignore' });
  await waitFor('ssh-agent socket', () => existsSync(agentSocket), 10_000);
  agentKey = makeKey(test.dir, 'id_agent', 'ed25519');
  const added = await run('/usr/bin/ssh-add', [agentKey], { env: { SSH_AUTH_SOCK: agentSocket } });
  assert.equal(added.status, 0, added.stderr);
});

after(async () => {
  if (agent?.pid !== undefined && agent.exitCode === null) {
    const exited = new Promise((resolve) => agent.once('exit', resolve));
    process.kill(agent.pid, 'SIGTERM');
    await exited;
  }
  await test?.stop();
});

describe('agent forwarding through tether server', () => {
  it('ssh -A: the remote lists the client agent\'s key through a private socket owned by the user', async () => {
    const script = 'ssh-add -L; echo "sock=$SSH_AUTH_SOCK"; stat -c "%U %a %F" "$SSH_AUTH_SOCK" "$(dirname "$SSH_AUTH_SOCK")"';
    const result = await sshWithAgent([...keyAuth(test), '-A', `${TEST_USER}@127.0.0.1`, script]);
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout.toString().trim().split('\n');
    assert.equal(lines[0], publicKeyLine(agentKey));
    const socket = /^sock=(\/tmp\/ssh-[A-Za-z0-9]{10}\/agent\.\d+)$/.exec(lines[1] ?? '');
    assert.ok(socket, `unexpected socket line: ${lines[1]}`);
    assert.equal(lines[2], `${TEST_USER} 600 socket`);
    assert.equal(lines[3], `${TEST_USER} 700 directory`);
    // Gone once the connection has ended.
    await waitFor('the socket directory to be removed', () => !existsSync(socket[1]!.replace(/\/agent\.\d+$/, '')));
  });

  it('the forwarded agent signs for the remote (ssh-keygen -Y sign with the public key)', async () => {
    const publicKey = join(test.dir, 'agent-key.pub');
    copyFileSync(`${agentKey}.pub`, publicKey);
    chmodSync(publicKey, 0o644);
    const result = await sshWithAgent([...keyAuth(test), '-A', `${TEST_USER}@127.0.0.1`, `echo signed data | ssh-keygen -q -Y sign -n test -f ${publicKey}`]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout.toString(), /^-----BEGIN SSH SIGNATURE-----\n[\s\S]+-----END SSH SIGNATURE-----\n$/);
  });

  it('without -A the remote has no SSH_AUTH_SOCK', async () => {
    const result = await sshWithAgent([...keyAuth(test), '-a', `${TEST_USER}@127.0.0.1`, 'echo "[${SSH_AUTH_SOCK-unset}]"']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), '[unset]\n');
  });

  it('AllowAgentForwarding no: ssh -A gets no SSH_AUTH_SOCK', async () => {
    const result = await sshWithAgent([...keyAuth(test), '-A', `${TEST_USER}@${AGENT_FORWARDING_OFF}`, 'echo "[${SSH_AUTH_SOCK-unset}]"']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), '[unset]\n');
  });

  it('authorized_keys no-agent-forwarding: ssh -A gets no SSH_AUTH_SOCK', async () => {
    const key = makeKey(test.dir, 'id_no_agent', 'ed25519');
    appendFileSync(test.authorizedKeys, `no-agent-forwarding ${publicKeyLine(key)}\n`);
    const args = [...test.sshBase(), '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes'];
    const result = await sshWithAgent([...args, '-A', `${TEST_USER}@127.0.0.1`, 'echo "[${SSH_AUTH_SOCK-unset}]"']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), '[unset]\n');
  });
});
