/**
 * `tether agent` used by OpenSSH's own clients: ssh-add adds, lists, locks, unlocks and removes keys, and
 * ssh logs in to a real sshd through keys our agent holds (the RSA case needs the rsa-sha2 sign flags).
 * Also the agent's own modes: the daemon with eval output and -k, and `tether agent command`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeKey, publicKeyLine, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { run, runTether, startAgentProcess, TETHER_ENTRY, waitFor, type RunningAgent } from '../unit/agent/run-tether.ts';

const SSH_ADD = '/usr/bin/ssh-add';
const SSH = '/usr/bin/ssh';

let dir: string;
let agent: RunningAgent;
let env: NodeJS.ProcessEnv;

before(async () => {
  dir = tempDir('tether-agent-');
  const socket = join(dir, 'agent.sock');
  agent = await startAgentProcess(process.execPath, [TETHER_ENTRY, 'agent', '-D', '-a', socket], socket);
  env = { PATH: process.env.PATH, HOME: dir, SSH_AUTH_SOCK: socket };
});
after(async () => {
  await agent?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('OpenSSH ssh-add against tether agent', () => {
  it('the socket is private (0600) and -D prints the variable to eval', async () => {
    assert.equal(statSync(agent.socket).mode & 0o777, 0o600);
    // The socket exists before the lines are printed; give the output a moment to arrive.
    await waitFor(() => agent.output().includes('echo Agent pid'), 5000, 'the agent to print its variables');
    assert.match(agent.output(), /^SSH_AUTH_SOCK=\S+agent\.sock; export SSH_AUTH_SOCK;\necho Agent pid \d+;\n/);
  });

  it('ssh-add file, -l, -L, -d, -D', async () => {
    const ed = makeKey(dir, 'id_ed25519', 'ed25519');
    const ec = makeKey(dir, 'id_ecdsa', 'ecdsa', 256);
    const empty = await run(SSH_ADD, ['-l'], { env });
    assert.equal(empty.status, 1);
    assert.equal(empty.stdout, 'The agent has no identities.\n');

    for (const key of [ed, ec]) {
      const added = await run(SSH_ADD, [key], { env });
      assert.equal(added.status, 0, added.stderr);
      assert.equal(added.stderr, `Identity added: ${key} (${key.split('/').pop()}@test)\n`);
    }
    const listed = await run(SSH_ADD, ['-l'], { env });
    assert.equal(listed.status, 0);
    const expected = await run('/usr/bin/ssh-keygen', ['-l', '-f', `${ed}.pub`]);
    assert.equal(listed.stdout.split('\n')[0], expected.stdout.trim());
    assert.equal(listed.stdout.split('\n').length, 3);

    const lines = await run(SSH_ADD, ['-L'], { env });
    assert.equal(lines.stdout, `${publicKeyLine(ed)}\n${publicKeyLine(ec)}\n`);

    const removed = await run(SSH_ADD, ['-d', ed], { env });
    assert.equal(removed.status, 0, removed.stderr);
    assert.match(removed.stderr, /^Identity removed: /);
    assert.equal((await run(SSH_ADD, ['-L'], { env })).stdout, `${publicKeyLine(ec)}\n`);

    const all = await run(SSH_ADD, ['-D'], { env });
    assert.equal(all.status, 0);
    assert.equal(all.stderr, 'All identities removed.\n');
    assert.equal((await run(SSH_ADD, ['-l'], { env })).status, 1);
  });

  it('ssh-add -x locks (nothing listed, nothing added) and -X unlocks with the same password only', async () => {
    const ed = makeKey(dir, 'lock_key', 'ed25519');
    assert.equal((await run(SSH_ADD, [ed], { env })).status, 0);
    const locked = await run(SSH_ADD, ['-x'], { env, input: 'hunter2\nhunter2\n' });
    assert.equal(locked.status, 0, locked.stderr);
    assert.match(locked.stderr, /Agent locked\.\n$/);
    assert.equal((await run(SSH_ADD, ['-l'], { env })).stdout, 'The agent has no identities.\n');
    const addWhileLocked = await run(SSH_ADD, [makeKey(dir, 'other_key', 'ed25519')], { env });
    assert.notEqual(addWhileLocked.status, 0);
    assert.match(addWhileLocked.stderr, /Could not add identity/);

    const wrong = await run(SSH_ADD, ['-X'], { env, input: 'wrong\n' });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /Failed to unlock agent: agent refused operation/);
    const unlocked = await run(SSH_ADD, ['-X'], { env, input: 'hunter2\n' });
    assert.equal(unlocked.status, 0, unlocked.stderr);
    assert.match(unlocked.stderr, /Agent unlocked\.\n$/);
    assert.equal((await run(SSH_ADD, ['-l'], { env })).status, 0);
    await run(SSH_ADD, ['-D'], { env });
  });

  it('ssh-add -t: the key is gone after its lifetime', async () => {
    const ed = makeKey(dir, 'short_key', 'ed25519');
    const added = await run(SSH_ADD, ['-t', '1', ed], { env });
    assert.equal(added.status, 0, added.stderr);
    assert.match(added.stderr, /Lifetime set to 1 seconds/);
    assert.equal((await run(SSH_ADD, ['-l'], { env })).status, 0);
    await waitFor(async () => (await run(SSH_ADD, ['-l'], { env })).status === 1, 3000, 'the key to expire');
  });
});

describe('OpenSSH ssh logs in through keys held by tether agent', () => {
  let sshd: RunningSshd;
  const keyFiles: Record<string, string> = {};

  before(async () => {
    keyFiles.ed25519 = makeKey(dir, 'login_ed25519', 'ed25519');
    keyFiles.ecdsa = makeKey(dir, 'login_ecdsa', 'ecdsa', 384);
    keyFiles.rsa = makeKey(dir, 'login_rsa', 'rsa', 2048);
    sshd = await startSshd({
      authorizedKeys: Object.values(keyFiles).map(publicKeyLine),
      config: ['PubkeyAcceptedAlgorithms ssh-ed25519,ecdsa-sha2-nistp384,rsa-sha2-256'],
    });
  });
  after(async () => {
    await sshd?.stop();
  });

  for (const type of ['ed25519', 'ecdsa', 'rsa']) {
    it(`${type}`, async () => {
      await run(SSH_ADD, ['-D'], { env });
      const added = await run(SSH_ADD, [keyFiles[type]!], { env });
      assert.equal(added.status, 0, added.stderr);
      // ssh is given no usable identity file (IdentityFile=/nonexistent, HOME without .ssh): only the agent can sign.
      const knownHosts = join(dir, 'known_hosts');
      const result = await run(
        SSH,
        [
          '-F', 'none',
          '-o', `IdentityAgent=${agent.socket}`,
          '-o', 'IdentitiesOnly=no',
          '-o', 'PubkeyAcceptedAlgorithms=ssh-ed25519,ecdsa-sha2-nistp384,rsa-sha2-256',
          '-o', 'IdentityFile=/nonexistent',
          '-o', 'PasswordAuthentication=no',
          '-o', 'KbdInteractiveAuthentication=no',
          '-o', 'StrictHostKeyChecking=no',
          '-o', `UserKnownHostsFile=${knownHosts}`,
          '-o', 'BatchMode=yes',
          '-v',
          '-p', String(sshd.port),
          `${process.env.USER ?? 'root'}@127.0.0.1`,
          'echo logged-in-through-agent',
        ],
        { env },
      );
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout, 'logged-in-through-agent\n');
      assert.match(result.stderr, /Server accepts key: .*agent/);
      if (type === 'rsa') {
        // Client and sshd here use only rsa-sha2-256 for RSA (not ssh-rsa, not rsa-sha2-512), so this login
        // proves the agent honoured SSH_AGENT_RSA_SHA2_256 rather than answering with another algorithm.
        assert.match(sshd.log(), /Accepted publickey for \S+ from 127\.0\.0\.1 port \d+ ssh2: RSA/);
      }
    });
  }
});

describe('tether agent modes', () => {
  it('daemonizes by default, prints sh commands with the daemon PID, and -k kills it', async () => {
    const started = await runTether(['agent', '-s'], { env: { PATH: process.env.PATH, HOME: dir, TMPDIR: dir } });
    assert.equal(started.status, 0, started.stderr);
    const match = /^SSH_AUTH_SOCK=(\S+); export SSH_AUTH_SOCK;\nSSH_AGENT_PID=(\d+); export SSH_AGENT_PID;\necho Agent pid (\d+);\n$/.exec(started.stdout);
    assert.ok(match, started.stdout);
    const [, socket, pid] = match as unknown as [string, string, string];
    assert.match(socket, new RegExp(`^${dir}/ssh-[A-Za-z0-9]{12}/agent\\.\\d+$`));
    assert.equal(statSync(join(socket, '..')).mode & 0o777, 0o700);
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    try {
      const listed = await run(SSH_ADD, ['-l'], { env: { ...env, SSH_AUTH_SOCK: socket } });
      assert.equal(listed.stdout, 'The agent has no identities.\n');
    } finally {
      const killed = await runTether(['agent', '-k'], { env: { PATH: process.env.PATH, SSH_AGENT_PID: pid, SHELL: '/bin/csh' } });
      assert.equal(killed.status, 0, killed.stderr);
      assert.equal(killed.stdout, `unsetenv SSH_AUTH_SOCK;\nunsetenv SSH_AGENT_PID;\necho Agent pid ${pid} killed;\n`);
    }
    await waitFor(() => !existsSync(socket) && !existsSync(join(socket, '..')), 5000, 'the agent to remove its socket and directory');
  });

  it('-k without SSH_AGENT_PID fails', async () => {
    const result = await runTether(['agent', '-k'], { env: { PATH: process.env.PATH } });
    assert.equal(result.status, 1);
    assert.equal(result.stderr, 'SSH_AGENT_PID not set, cannot kill agent\n');
  });

  it('runs a command with SSH_AUTH_SOCK set, returns its status and removes the socket', async () => {
    const socket = join(dir, 'command.sock');
    const result = await runTether(['agent', '-a', socket, 'sh', '-c', `${SSH_ADD} -l; echo "pid=$SSH_AGENT_PID sock=$SSH_AUTH_SOCK"; exit 7`], {
      env: { PATH: process.env.PATH, HOME: dir },
    });
    assert.equal(result.status, 7, result.stderr);
    assert.match(result.stdout, new RegExp(`^The agent has no identities\\.\npid=\\d+ sock=${socket}\n$`));
    assert.ok(!existsSync(socket));
  });

  it('refuses a bind address that is already in use', async () => {
    const result = await runTether(['agent', '-D', '-a', agent.socket], { env: { PATH: process.env.PATH } });
    assert.equal(result.status, 1);
    assert.equal(result.stderr, 'bind: Address already in use\n');
  });
});
