/**
 * `tether ssh` resuming a held session (docs/PROTOCOL.sessions) through a TCP proxy the test controls: the
 * proxy cuts the link mid-stream, stays down 3 s and comes back; every numbered line of output arrives once, in
 * order, and every numbered line typed arrives once. Also: reattach by name from a second client, a password
 * user resuming without a second prompt, SessionResume=no, and stock sshd (which refuses hold@) unchanged.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { startLinkProxy, type LinkProxy } from '../helpers/link-proxy.ts';
import { stopProcess } from '../helpers/processes.ts';
import { stopHolders } from '../helpers/session-holders.ts';
import { sshdWithClientKey, tempDir, TEST_PASSWORD, TEST_USER } from '../helpers/openssh.ts';
import {
  exitWithin, numbers, PRINTER, range, runSshClient as run, sleep, waitFor, type RunningClient as Running,
} from '../helpers/held-session-client.ts';

describe('tether ssh resumes a held session through a dropped link', { timeout: 120_000 }, () => {
  let server: ServerProcess;
  let proxy: LinkProxy;
  let sessions: string;

  before(async () => {
    sessions = tempDir('tether-held-');
    chmodSync(sessions, 0o755);
    server = await startServerProcess({ config: [`PersistentSessionDirectory ${sessions}`, 'PasswordAuthentication yes'] });
    proxy = await startLinkProxy('127.0.0.1', server.port);
  });

  after(async () => {
    await proxy?.close();
    await server?.stop();
    // Holders outlive the server by design: a test that failed midway leaves sessions held.
    await stopHolders(sessions);
    rmSync(sessions, { recursive: true, force: true });
  });

  /** The server's ssh arguments with the proxy's port in place of the server's. */
  const args = (...extra: string[]) => [...server.sshArgs(proxy.port), ...extra];

  /** Cuts the link once `ready` holds, keeps it down 3 s, brings it back. */
  async function outage(running: Running, ready: () => boolean): Promise<void> {
    await waitFor('output before the cut', ready, 20_000, () => `${running.stdout().slice(-500)}\n${running.stderr()}`);
    proxy.cut();
    await sleep(3000);
    await proxy.restore();
  }

  for (const tty of [false, true]) {
    test(`output: every line exactly once, in order (${tty ? '-tt' : 'no PTY'})`, async () => {
      const running = run([...args(...(tty ? ['-tt'] : [])), `${TEST_USER}@127.0.0.1`, PRINTER(400)]);
      try {
        await outage(running, () => numbers(running.stdout(), 'line').length >= 50);
        const status = await exitWithin(running, 40_000);
        const seen = numbers(running.stdout(), 'line');
        assert.deepEqual(seen, range(1, 400), `stderr: ${running.stderr()}`);
        assert.match(running.stdout(), /^END\r?$/m);
        assert.equal(status, 0, running.stderr());
        assert.ok(proxy.accepted >= 2, 'the client reconnected');
      } finally {
        running.child.kill('SIGKILL');
      }
    });

    test(`input: every typed line exactly once (${tty ? '-tt' : 'no PTY'})`, async () => {
      const file = `/tmp/tether-resume-input-${process.pid}-${tty ? 'tty' : 'pipe'}`;
      rmSync(file, { force: true });
      // stty -echo: with a PTY, only cat's copy comes back, so each line is seen once in the output too.
      const command = `${tty ? 'stty -echo; ' : ''}echo READY; tee ${file}`;
      const running = run([...args(...(tty ? ['-tt'] : [])), `${TEST_USER}@127.0.0.1`, command]);
      let typed = 0;
      let typing = true;
      const typist = (async () => {
        // Typing starts once the terminal no longer echoes (what was typed before would be echoed as well).
        await waitFor('the remote command', () => running.stdout().includes('READY'), 20_000, running.stderr);
        while (typing && typed < 600) {
          running.child.stdin!.write(`input ${++typed}\n`);
          await sleep(10);
        }
        // EOF ends tee (with a PTY, ^D at the start of a line).
        if (tty) running.child.stdin!.write('\x04');
        else running.child.stdin!.end();
      })();
      try {
        await outage(running, () => numbers(running.stdout(), 'input').length >= 50);
        await typist;
        const status = await exitWithin(running, 40_000);
        typing = false;
        assert.deepEqual(numbers(running.stdout(), 'input'), range(1, typed), `stderr: ${running.stderr()}`);
        assert.deepEqual(numbers(readFileSync(file, 'latin1'), 'input'), range(1, typed));
        assert.equal(status, 0, running.stderr());
      } finally {
        typing = false;
        running.child.kill('SIGKILL');
        rmSync(file, { force: true });
      }
    });
  }

  test('a password user resumes without a second prompt', async () => {
    const dir = tempDir('tether-askpass-');
    const counter = join(dir, 'count');
    const askpass = join(dir, 'askpass.sh');
    writeFileSync(askpass, `#!/bin/sh\necho x >> ${counter}\necho '${TEST_PASSWORD}'\n`, { mode: 0o755 });
    // The usual arguments as option/value pairs, without the key and without BatchMode (which forbids asking).
    const pairs = args().flatMap((a, i, all) => (i % 2 === 0 ? [[a, all[i + 1]!] as const] : []));
    const passwordArgs = pairs.filter(([flag, value]) => flag !== '-i' && value !== 'BatchMode=yes').flat();
    const running = run(
      [...passwordArgs, '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password', `${TEST_USER}@127.0.0.1`, PRINTER(300)],
      { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' },
    );
    try {
      await outage(running, () => numbers(running.stdout(), 'line').length >= 30);
      const status = await exitWithin(running, 40_000);
      assert.deepEqual(numbers(running.stdout(), 'line'), range(1, 300), running.stderr());
      assert.equal(status, 0, running.stderr());
      assert.equal(readFileSync(counter, 'utf8').split('\n').filter(Boolean).length, 1, 'asked for the password once');
    } finally {
      running.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('-o Session=NAME from a second client reattaches; the first is told why and exits', async () => {
    const name = `resume-test-${process.pid}`;
    const first = run([...args('-o', `Session=${name}`), `${TEST_USER}@127.0.0.1`, 'i=0; while [ $i -lt 3000 ]; do echo tick $i; i=$((i+1)); sleep 0.01; done']);
    let second: Running | undefined;
    try {
      await waitFor('the first client', () => numbers(first.stdout(), 'tick').length >= 10, 20_000, first.stderr);
      second = run([...args('-o', `Session=${name}`), `${TEST_USER}@127.0.0.1`, 'ignored because the session exists']);
      const firstStatus = await exitWithin(first, 15_000);
      assert.equal(firstStatus, 255);
      assert.match(first.stderr(), /detached/i);
      assert.doesNotMatch(first.stderr(), /reconnecting/);
      const before = numbers(second.stdout(), 'tick').length;
      await waitFor('live output on the second client', () => numbers(second!.stdout(), 'tick').length > before + 5, 15_000, second.stderr);
      const ticks = numbers(second.stdout(), 'tick');
      // Each tick the second client saw follows the one before it.
      for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i], ticks[i - 1]! + 1);
    } finally {
      first.child.kill('SIGKILL');
      if (second) await stopProcess(second.child, 500);
    }
  });

  test('SessionResume=no: a drop ends the session as in OpenSSH', async () => {
    const running = run([...args('-o', 'SessionResume=no'), `${TEST_USER}@127.0.0.1`, PRINTER(400)]);
    try {
      await waitFor('output', () => numbers(running.stdout(), 'line').length >= 20, 20_000, running.stderr);
      proxy.cut();
      const status = await exitWithin(running, 15_000);
      await proxy.restore();
      assert.equal(status, 255);
      assert.doesNotMatch(running.stderr(), /reconnecting/);
      // ssh's words for a connection closed under a running session (clientloop.c).
      assert.equal(running.stderr(), 'Connection to 127.0.0.1 closed by remote host.\r\n');
    } finally {
      running.child.kill('SIGKILL');
      await proxy.restore();
    }
  });
});

describe('against stock OpenSSH sshd (which refuses hold@)', { timeout: 60_000 }, () => {
  test('a session runs exactly as before (output, stderr, exit status)', async () => {
    const { home, key, sshd } = await sshdWithClientKey();
    try {
      const common = ['-F', 'none', '-o', 'LogLevel=ERROR', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`, '-i', key, '-p', String(sshd.port), 'root@127.0.0.1'];
      const running = run([...common, 'printf "a\\nb\\n"; echo err >&2; exit 3']);
      const status = await exitWithin(running, 20_000);
      assert.equal(status, 3, running.stderr());
      assert.equal(running.stdout(), 'a\nb\n');
      assert.equal(running.stderr(), 'err\n');
      assert.doesNotMatch(sshd.log(), /hold@tether-ssh.org.*(error|fatal)/i);
    } finally {
      await sshd.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
