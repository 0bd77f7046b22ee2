/**
 * Agent forwarding of a held session (docs/PROTOCOL.sessions §9): SSH_AUTH_SOCK in the session is a path of the
 * session's own that leads to the agent of whichever connection is attached. `ssh-add -l` in a session started
 * by `tether ssh -A` lists the key before a cut of the link, after the resume over a new connection, refuses
 * (connection refused) while a client without -A is attached, and lists it again after a reattach with -A.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { startLinkProxy, type LinkProxy } from '../helpers/link-proxy.ts';
import { stopHolders } from '../helpers/session-holders.ts';
import { makeKey, tempDir, TEST_USER } from '../helpers/openssh.ts';
import { exitWithin, runSshClient, sleep, waitFor, type RunningClient } from '../helpers/held-session-client.ts';
import { run, startAgentProcess, type RunningAgent } from '../unit/agent/run-tether.ts';

/** Each input line: `ssh-add -l`'s status and first line of output, tagged with the line. */
const PROBE = 'echo "sock=$SSH_AUTH_SOCK"; while read line; do out=$(ssh-add -l 2>&1); s=$?; echo "agent-$s $line $(echo "$out" | head -1)"; done';

describe('agent forwarding of a held session follows the attached connection', { timeout: 90_000 }, () => {
  let server: ServerProcess;
  let proxy: LinkProxy;
  let sessions: string;
  let dir: string;
  let agent: RunningAgent;
  let agentSocket: string;
  let fingerprint: string;
  const clients: RunningClient[] = [];

  before(async () => {
    sessions = tempDir('tether-held-agent-');
    chmodSync(sessions, 0o755);
    dir = tempDir('tether-held-agent-key-');
    agentSocket = join(dir, 'agent.sock');
    agent = await startAgentProcess('/usr/bin/ssh-agent', ['-D', '-a', agentSocket], agentSocket);
    const key = makeKey(dir, 'forwarded', 'ed25519');
    const added = await run('/usr/bin/ssh-add', [key], { env: { PATH: process.env.PATH, SSH_AUTH_SOCK: agentSocket } });
    assert.equal(added.status, 0, added.stderr);
    fingerprint = /SHA256:\S+/.exec((await run('/usr/bin/ssh-keygen', ['-lf', `${key}.pub`])).stdout)![0];
    server = await startServerProcess({ config: [`PersistentSessionDirectory ${sessions}`] });
    proxy = await startLinkProxy('127.0.0.1', server.port);
  });

  after(async () => {
    for (const client of clients) client.child.kill('SIGKILL');
    await proxy?.close();
    await server?.stop();
    await stopHolders(sessions);
    await agent?.stop();
    rmSync(sessions, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  const args = (...extra: string[]) => [...server.sshArgs(proxy.port), ...extra];

  function client(...extra: string[]): RunningClient {
    const running = runSshClient([...args(...extra), '-o', 'Session=agent', `${TEST_USER}@127.0.0.1`, PROBE], { SSH_AUTH_SOCK: agentSocket });
    clients.push(running);
    return running;
  }

  /** Types `tag` and waits for the probe's answer to it. */
  async function probe(running: RunningClient, tag: string): Promise<string> {
    running.child.stdin!.write(`${tag}\n`);
    const pattern = new RegExp(`^agent-(\\d) ${tag} (.*)$`, 'm');
    await waitFor(`the probe's answer to ${tag}`, () => pattern.test(running.stdout()), 20_000, () => `${running.stdout()}\n${running.stderr()}`);
    return pattern.exec(running.stdout())![0];
  }

  test('ssh-add -l lists the key before and after a resume, refuses while no agent is attached', async () => {
    const first = client('-A');
    assert.match(await probe(first, 'one'), new RegExp(`^agent-0 one 256 ${fingerprint.replace(/[+/]/g, '\\$&')}`));
    const socket = /^sock=(\/tmp\/ssh-held-\w+)$/m.exec(first.stdout())?.[1];
    assert.ok(socket, `a path of the session's own: ${first.stdout()}`);

    // The link drops; the connection that set up the first agent socket is gone once the client is back.
    proxy.cut();
    await sleep(1500);
    await proxy.restore();
    assert.match(await probe(first, 'two'), /^agent-0 two 256 SHA256:/);
    assert.ok(proxy.accepted >= 2, 'the client reconnected');

    // A client without -A takes the session over: the path is there but leads nowhere.
    first.child.kill('SIGKILL');
    await exitWithin(first, 10_000);
    const plain = client();
    assert.match(await probe(plain, 'three'), /^agent-2 three Error connecting to agent: Connection refused$/);
    plain.child.kill('SIGKILL');
    await exitWithin(plain, 10_000);

    // A reattach with -A leads it to this connection's agent.
    const again = client('-A');
    assert.match(await probe(again, 'four'), /^agent-0 four 256 SHA256:/);
    assert.ok(existsSync(socket));

    // The session ends: its socket goes with it.
    again.child.stdin!.end();
    assert.equal(await exitWithin(again, 20_000), 0, again.stderr());
    await waitFor('the session socket to be removed', () => !existsSync(socket), 10_000);
  });
});
