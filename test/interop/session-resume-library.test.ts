/**
 * The library's persistent sessions (openPersistentSession, exported by src/index.ts; docs/PROTOCOL.sessions)
 * used as a program would use them, against `tether server` as a process behind a link proxy the test
 * controls: the link is cut mid-stream and comes back; the session resumes on a new connection by itself,
 * every line printed arrives exactly once and in order, and every line written to its stdin reaches the
 * program exactly once. Against stock sshd, which does not hold sessions, it rejects with HoldRefusedError.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, rmSync } from 'node:fs';
import { connect, HoldRefusedError, openPersistentSession, type PersistentSession, type ResumeAuth, type SshClient } from '../../src/index.ts';
import { identityFileKeys } from '../../src/client/identities.ts';
import { startServerProcess, TEST_USER, type ServerProcess } from '../helpers/server-process.ts';
import { startLinkProxy, type LinkProxy } from '../helpers/link-proxy.ts';
import { stopHolders } from '../helpers/session-holders.ts';
import { sshdWithClientKey, tempDir } from '../helpers/openssh.ts';
import { numbers, PRINTER, range, sleep, waitFor } from '../helpers/held-session-client.ts';

/** Resolves with the session's exit status, or rejects after `timeoutMs` (the session is then closed). */
async function exitOf(held: PersistentSession, timeoutMs: number): Promise<Awaited<PersistentSession['exit']>> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      held.close();
      reject(new Error(`the session did not end within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([held.exit, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('openPersistentSession resumes by itself after the link drops', { timeout: 90_000 }, () => {
  let server: ServerProcess;
  let proxy: LinkProxy;
  let sessions: string;
  const clients: SshClient[] = [];

  before(async () => {
    sessions = tempDir('tether-held-library-');
    chmodSync(sessions, 0o755);
    server = await startServerProcess({ config: [`PersistentSessionDirectory ${sessions}`] });
    proxy = await startLinkProxy('127.0.0.1', server.port);
  });
  after(async () => {
    for (const client of clients) client.end();
    await proxy?.close();
    await server?.stop();
    await stopHolders(sessions);
    rmSync(sessions, { recursive: true, force: true });
  });

  /** The caller's connect: every connection goes through the proxy, the resume credential offered first. */
  const connectThroughProxy = async (resume: ResumeAuth | undefined): Promise<SshClient> => {
    const client = await connect({
      host: '127.0.0.1',
      port: proxy.port,
      username: TEST_USER,
      verifyHostKey: () => {},
      auth: { keys: () => identityFileKeys([server.clientKey], {}), resume },
      connectTimeout: 10,
    });
    clients.push(client);
    return client;
  };

  /** Cuts the link once `ready` holds, keeps it down a second, brings it back. */
  async function outage(ready: () => boolean, detail: () => string): Promise<void> {
    await waitFor('output before the cut', ready, 20_000, detail);
    proxy.cut();
    await sleep(1000);
    await proxy.restore();
  }

  test('output: every line exactly once, in order, on a new connection', async () => {
    const credentials: Array<ResumeAuth | undefined> = [];
    const held = await openPersistentSession({
      command: PRINTER(300),
      connect: (resume) => {
        credentials.push(resume);
        return connectThroughProxy(resume);
      },
    });
    let stdout = '';
    held.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('latin1')));
    held.stderr.resume();
    const resumed: Array<{ outputLost: number; errorLost: number }> = [];
    held.on('resumed', (outcome) => resumed.push(outcome));
    const firstClient = held.client;
    assert.ok(held.id, 'the server named the session');

    await outage(() => numbers(stdout, 'line').length >= 40, () => stdout.slice(-300));
    const status = await exitOf(held, 40_000);
    assert.deepEqual(numbers(stdout, 'line'), range(1, 300));
    assert.match(stdout, /^END$/m);
    assert.deepEqual(status, { code: 0 });
    assert.ok(resumed.length >= 1 && resumed.every((r) => r.outputLost === 0 && r.errorLost === 0), JSON.stringify(resumed));
    assert.notEqual(held.client, firstClient, 'the session runs on a new connection');
    // The first connection had no credential; each reconnect offered the one for this session.
    assert.equal(credentials[0], undefined);
    assert.ok(credentials.slice(1).every((c) => c?.sessionId === held.id), 'reconnects offer the session\'s resume credential');
    assert.equal(held.received.output, Buffer.byteLength(stdout, 'latin1'));
  });

  test('input: every line written to stdin reaches the program exactly once', async () => {
    const held = await openPersistentSession({ command: 'cat', connect: connectThroughProxy });
    let stdout = '';
    held.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('latin1')));
    held.stderr.resume();
    let written = 0;
    let writing = true;
    const writer = (async () => {
      while (writing && written < 400) {
        held.stdin.write(`input ${++written}\n`);
        await sleep(10);
      }
      held.stdin.end();
    })();
    try {
      await outage(() => numbers(stdout, 'input').length >= 40, () => stdout.slice(-300));
      await writer;
      const status = await exitOf(held, 40_000);
      assert.deepEqual(numbers(stdout, 'input'), range(1, written));
      assert.deepEqual(status, { code: 0 });
    } finally {
      writing = false;
    }
  });
});

describe('openPersistentSession against stock OpenSSH sshd', { timeout: 30_000 }, () => {
  test('hold@ is refused: HoldRefusedError, and the connection is closed', async () => {
    const { home, key, sshd } = await sshdWithClientKey({ hostKeyTypes: ['ed25519'] });
    let client: SshClient | undefined;
    try {
      await assert.rejects(openPersistentSession({
        command: 'echo never',
        connect: async () => (client = await connect({
          host: '127.0.0.1', port: sshd.port, username: 'root', verifyHostKey: () => {}, auth: { keys: () => identityFileKeys([key], {}) },
        })),
      }), HoldRefusedError);
      assert.ok(client, 'it connected');
      assert.ok(await Promise.race([client.closed.then(() => true), sleep(5000).then(() => false)]), 'the connection was ended');
    } finally {
      client?.end();
      await sshd.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
