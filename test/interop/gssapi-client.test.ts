/**
 * gssapi-with-mic (RFC 4462) in `tether ssh`, against a real MIT KDC on 127.0.0.1 (test/helpers/kdc.ts):
 * with a ticket it logs in to OpenSSH's sshd (sshd logs "Accepted gssapi-with-mic … tethertest@TETHER.TEST")
 * and to `tether server`; GSSAPIDelegateCredentials forwards the TGT (klist in the session shows it);
 * GSSAPIServerIdentity and GSSAPITrustDns choose the service ticket's name; with no ticket, or an expired one,
 * it says why at debug level, as ssh does, and falls through to publickey without asking the server; Debian's
 * `GSSAPIAuthentication yes` line in a config file is accepted without a word.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startKdc, type TestKdc } from '../helpers/kdc.ts';
import { ensureTestUserOnce, makeKey, publicKeyLine, startSshd, tempDir, TEST_USER, type RunningSshd } from '../helpers/openssh.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { runTether } from '../helpers/tether.ts';
import { gssapiUnavailableReason } from '../../src/auth/gssapi/gssapi-addon.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** stderr without the first connection's "Permanently added" notice (StrictHostKeyChecking=no). */
const said = (stderr: string) => stderr.replace(/^Warning: Permanently added .*\r?\n/m, '');
const ACCEPTED = /Accepted gssapi-with-mic for tethertest from 127\.0\.0\.1 port \d+ ssh2: tethertest@TETHER\.TEST/;

describe('gssapi-with-mic in tether ssh, with a real MIT KDC', () => {
  let kdc: TestKdc;
  let sshd: RunningSshd;
  let home: string;
  let key: string;

  before(async () => {
    // The addon is built by npm install wherever libkrb5-dev is (scripts/run-tests.js installs it): no skipping.
    assert.equal(gssapiUnavailableReason(), undefined);
    await ensureTestUserOnce();
    kdc = await startKdc();
    home = tempDir('tether-gssapi-client-');
    key = makeKey(home, 'id_ed25519', 'ed25519');
    const { KRB5CCNAME: _clientCache, ...serverEnv } = kdc.env;
    sshd = await startSshd({
      // The keytab has host/127.0.0.1 and host/localhost, not host/<this machine's hostname>.
      config: ['GSSAPIAuthentication yes', 'GSSAPIStrictAcceptorCheck no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no'],
      authorizedKeys: [publicKeyLine(key)],
      env: serverEnv,
    });
  });
  after(async () => {
    await sshd?.stop();
    await kdc?.stop();
  });

  /** tether ssh to `port` as TEST_USER with the realm's environment (and `ccache` as KRB5CCNAME). */
  const tetherSsh = (port: number, options: string[], command: string, ccache = kdc.ccache) =>
    runTether(
      [
        'ssh', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`, '-o', 'BatchMode=yes',
        '-o', 'IdentitiesOnly=yes', '-i', key, '-p', String(port), ...options, `${TEST_USER}@127.0.0.1`, command,
      ],
      { env: { HOME: home, ...kdc.env, KRB5CCNAME: ccache }, timeoutMs: 60_000 },
    );

  it('logs in to OpenSSH sshd with a ticket, without a word at the default log level', async () => {
    kdc.kinit();
    const from = sshd.log().length;
    const result = await tetherSsh(sshd.port, ['-o', 'GSSAPIAuthentication=yes', '-o', 'PubkeyAuthentication=no'], 'echo logged-in; echo "cache=${KRB5CCNAME-none}"');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'logged-in\ncache=none\n', 'no delegation unless asked for');
    assert.equal(said(result.stderr), '');
    assert.match(sshd.log().slice(from), ACCEPTED);
    // The service ticket was asked for host@127.0.0.1, the name connected to.
    assert.match(kdc.klist(), /host\/127\.0\.0\.1@TETHER\.TEST/);
  });

  it('GSSAPIDelegateCredentials yes: the forwarded TGT is in the session (klist)', async () => {
    kdc.kinit();
    const result = await tetherSsh(sshd.port, ['-v', '-o', 'GSSAPIAuthentication=yes', '-o', 'GSSAPIDelegateCredentials=yes', '-o', 'PubkeyAuthentication=no'], 'klist -f');
    assert.equal(result.status, 0, result.stderr);
    const stdout = result.stdout.toString();
    assert.match(stdout, /^Ticket cache: FILE:\/tmp\/krb5cc_\d+_\w+$/m);
    assert.match(stdout, /^Default principal: tethertest@TETHER\.TEST$/m);
    assert.match(stdout, /krbtgt\/TETHER\.TEST@TETHER\.TEST/);
    // f: forwarded, the ticket the client delegated.
    assert.match(stdout, /Flags: F?f/);
    assert.match(result.stderr, /debug1: Next authentication method: gssapi-with-mic\r?\n/);
    assert.match(result.stderr, /debug1: Delegating credentials\r?\n/);
    // As ssh: one step for the AP-REQ, one for the server's AP-REP (mutual authentication).
    assert.equal(result.stderr.split('debug1: Delegating credentials').length - 1, 2);
    assert.match(result.stderr, /debug1: Authentication succeeded \(gssapi-with-mic\)\.\r?\n/);
  });

  it('a config file with GSSAPIAuthentication yes (as Debian\'s /etc/ssh/ssh_config) is silent and used', async () => {
    kdc.kinit();
    const config = join(home, 'debian_ssh_config');
    writeFileSync(config, 'Host *\n    SendEnv LANG LC_*\n    HashKnownHosts yes\n    GSSAPIAuthentication yes\n');
    const from = sshd.log().length;
    const result = await runTether(
      ['ssh', '-F', config, '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`, '-o', 'BatchMode=yes', '-o', 'PubkeyAuthentication=no', '-p', String(sshd.port), `${TEST_USER}@127.0.0.1`, 'true'],
      { env: { HOME: home, ...kdc.env }, timeoutMs: 60_000 },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.equal(said(result.stderr), '');
    assert.match(sshd.log().slice(from), ACCEPTED);
  });

  it('with no ticket: says why at debug level, as ssh does, and goes on to publickey without asking the server', async () => {
    kdc.kdestroy();
    const from = sshd.log().length;
    const result = await tetherSsh(sshd.port, ['-v', '-o', 'GSSAPIAuthentication=yes'], 'echo by-key');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'by-key\n');
    assert.match(
      result.stderr,
      /debug1: Next authentication method: gssapi-with-mic\r?\ndebug1: No credentials were supplied, or the credentials were unavailable or inaccessible\r?\nNo Kerberos credentials available \(default cache: FILE:[^)]+\)\r?\n(\r?\n)*debug1: Next authentication method: publickey/,
    );
    const log = sshd.log().slice(from);
    assert.match(log, /Accepted publickey for tethertest/);
    assert.doesNotMatch(log, /gssapi-with-mic/, 'the method was not tried on the server');
  });

  it('with an expired ticket: one clear line, then the next method', async () => {
    const ccache = `FILE:${join(kdc.dir, 'short-lived')}`;
    kdc.kinit(undefined, { lifetime: '2s', ccache });
    await sleep(3_000);
    const quiet = await tetherSsh(sshd.port, ['-o', 'GSSAPIAuthentication=yes'], 'echo by-key', ccache);
    assert.equal(quiet.status, 0, quiet.stderr);
    // ssh would say nothing without -v; issue 18 asks for one line that tells why single sign-on did not work.
    assert.equal(said(quiet.stderr), 'Kerberos ticket expired (kinit renews it); trying the next authentication method.\r\n');
    const verbose = await tetherSsh(sshd.port, ['-v', '-o', 'GSSAPIAuthentication=yes'], 'echo by-key', ccache);
    assert.equal(verbose.status, 0, verbose.stderr);
    assert.match(verbose.stderr, /debug1: Next authentication method: gssapi-with-mic\r?\ndebug1: [^\n]+\r?\nTicket expired\r?\n(\r?\n)*Kerberos ticket expired[^\n]*\r?\ndebug1: Next authentication method: publickey/);
  });

  it('GSSAPIServerIdentity names the service; GSSAPITrustDns takes the name DNS gives the address', async () => {
    for (const [options, principal] of [
      [['-o', 'GSSAPIServerIdentity=localhost'], 'host/localhost@TETHER.TEST'],
      // 127.0.0.1 is "localhost" in /etc/hosts, and localhost resolves back to it.
      [['-o', 'GSSAPITrustDns=yes'], 'host/localhost@TETHER.TEST'],
    ] as const) {
      kdc.kdestroy();
      kdc.kinit();
      const from = sshd.log().length;
      const result = await tetherSsh(sshd.port, ['-o', 'GSSAPIAuthentication=yes', '-o', 'PubkeyAuthentication=no', ...options], 'true');
      assert.equal(result.status, 0, result.stderr);
      assert.match(sshd.log().slice(from), ACCEPTED);
      const tickets = kdc.klist();
      assert.ok(tickets.includes(principal), tickets);
      assert.ok(!tickets.includes('host/127.0.0.1@'), tickets);
    }
  });

  describe('against tether server', () => {
    let server: ServerProcess;
    before(async () => {
      const { KRB5CCNAME: _clientCache, ...serverEnv } = kdc.env;
      server = await startServerProcess({ config: ['GSSAPIAuthentication yes', 'GSSAPIStrictAcceptorCheck no'], env: serverEnv });
    });
    after(async () => {
      await server?.stop();
    });

    it('logs in with a ticket and delegates it', async () => {
      kdc.kinit();
      const from = server.log().length;
      const result = await tetherSsh(server.port, ['-o', 'GSSAPIAuthentication=yes', '-o', 'GSSAPIDelegateCredentials=yes', '-o', 'PubkeyAuthentication=no'], 'klist');
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout.toString(), /^Default principal: tethertest@TETHER\.TEST$/m);
      assert.match(result.stdout.toString(), /krbtgt\/TETHER\.TEST@TETHER\.TEST/);
      await server.waitForLog(ACCEPTED, 10_000, from);
    });
  });
});
