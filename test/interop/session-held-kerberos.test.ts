/**
 * Kerberos credentials of a held session (docs/PROTOCOL.sessions §9), with a real MIT KDC (test/helpers/kdc.ts):
 * the session's KRB5CCNAME is a ccache of its own, a copy of the delegated one, so `klist` in it still works
 * after the connection that delegated it dropped (and its ccache was removed, GSSAPICleanupCredentials) and the
 * session resumed; a reattach with fresh delegated credentials replaces it (after a kdestroy in the session);
 * and it is removed when the session ends.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { startKdc, type TestKdc } from '../helpers/kdc.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { startLinkProxy, type LinkProxy } from '../helpers/link-proxy.ts';
import { stopHolders } from '../helpers/session-holders.ts';
import { tempDir, TEST_USER } from '../helpers/openssh.ts';
import { exitWithin, runSshClient, sleep, waitFor, type RunningClient } from '../helpers/held-session-client.ts';
import { gssapiUnavailableReason } from '../../src/auth/gssapi/gssapi-addon.ts';

/** Each input line: whether klist finds a valid ticket, tagged with the line; "destroy" runs kdestroy first. */
const PROBE = 'echo "cache=$KRB5CCNAME"; while read line; do case $line in destroy) kdestroy;; esac; if klist -s; then echo "krb-ok $line"; else echo "krb-fail $line"; fi; done';

const GSSAPI = ['-o', 'GSSAPIAuthentication=yes', '-o', 'GSSAPIDelegateCredentials=yes', '-o', 'PreferredAuthentications=gssapi-with-mic', '-o', 'PubkeyAuthentication=no'];

describe('a held session keeps its Kerberos credentials across connections', { timeout: 90_000 }, () => {
  let kdc: TestKdc;
  let server: ServerProcess;
  let proxy: LinkProxy;
  let sessions: string;
  const clients: RunningClient[] = [];

  before(async () => {
    // The addon is built by npm install wherever libkrb5-dev is (scripts/run-tests.js installs it): no skipping.
    assert.equal(gssapiUnavailableReason(), undefined);
    kdc = await startKdc();
    sessions = tempDir('tether-held-krb5-');
    chmodSync(sessions, 0o755);
    const { KRB5CCNAME: _clientCache, ...serverEnv } = kdc.env;
    server = await startServerProcess({
      // The keytab has host/127.0.0.1 and host/localhost, not host/<this machine's hostname>.
      config: ['GSSAPIAuthentication yes', 'GSSAPIStrictAcceptorCheck no', `PersistentSessionDirectory ${sessions}`],
      env: serverEnv,
    });
    proxy = await startLinkProxy('127.0.0.1', server.port);
  });

  after(async () => {
    for (const client of clients) client.child.kill('SIGKILL');
    await proxy?.close();
    await server?.stop();
    await stopHolders(sessions);
    await kdc?.stop();
    rmSync(sessions, { recursive: true, force: true });
  });

  const args = () => [...server.sshArgs(proxy.port), ...GSSAPI];

  function client(): RunningClient {
    const running = runSshClient([...args(), '-o', 'Session=krb', `${TEST_USER}@127.0.0.1`, PROBE], kdc.env);
    clients.push(running);
    return running;
  }

  async function probe(running: RunningClient, tag: string): Promise<string> {
    running.child.stdin!.write(`${tag}\n`);
    const pattern = new RegExp(`^krb-(ok|fail) ${tag}$`, 'm');
    await waitFor(`klist's answer to ${tag}`, () => pattern.test(running.stdout()), 20_000, () => `${running.stdout()}\n${running.stderr()}`);
    return pattern.exec(running.stdout())![1]!;
  }

  test('klist works after the delegating connection dropped and the session resumed; a reattach refreshes it', async () => {
    kdc.kinit();
    const first = client();
    assert.equal(await probe(first, 'one'), 'ok');
    const cache = /^cache=FILE:(\/tmp\/krb5cc_\d+_[A-Za-z0-9]{10})$/m.exec(first.stdout())?.[1];
    assert.ok(cache, first.stdout());

    // The delegating connection goes (and with it its own ccache); the client comes back on a new one.
    const from = server.log().length;
    proxy.cut();
    await sleep(1500);
    await proxy.restore();
    assert.equal(await probe(first, 'two'), 'ok');
    assert.ok(proxy.accepted >= 2, 'the client reconnected');
    assert.equal(server.log().slice(from).includes('error: held session'), false, server.log().slice(from));

    // Gone from the session (kdestroy), then brought back by a reattach that delegates a fresh ticket.
    assert.equal(await probe(first, 'destroy'), 'fail');
    first.child.kill('SIGKILL');
    await exitWithin(first, 10_000);
    kdc.kinit();
    const again = client();
    assert.equal(await probe(again, 'three'), 'ok');

    // The session ends: its ccache goes with it.
    again.child.stdin!.end();
    assert.equal(await exitWithin(again, 20_000), 0, again.stderr());
    await waitFor('the session ccache to be removed', () => !existsSync(cache), 10_000);
  });
});
