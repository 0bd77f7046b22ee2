/**
 * gssapi-with-mic (RFC 4462) on `tether server`, against a real MIT KDC on 127.0.0.1 (test/helpers/kdc.ts):
 * stock OpenSSH `ssh -o GSSAPIAuthentication=yes` with a ticket logs in and its delegated TGT arrives in a
 * per-connection ccache (KRB5CCNAME, owned by the user, mode 0600, removed after logout); the guide's kinit,
 * klist, kinit -R, kdestroy act on it in the session; without a ticket the client falls through to the next
 * method; a principal not allowed for the account and a tampered MIC are refused and logged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { startKdc, KRB5_PASSWORD, type TestKdc } from '../helpers/kdc.ts';
import { startServerProcess, TEST_USER, type ServerProcess } from '../helpers/server-process.ts';
import { keyedTransport } from '../helpers/hostile-client.ts';
import { PacketInbox } from '../../src/transport/inbox.ts';
import { Writer } from '../../src/wire/writer.ts';
import { SSH_MSG } from '../../src/wire/message-numbers.ts';
import { gssapiMicData } from '../../src/auth/signed-data.ts';
import { InitiatorContext } from '../../src/auth/gssapi/gssapi-context.ts';
import { gssapiUnavailableReason } from '../../src/auth/gssapi/gssapi-addon.ts';
import { waitFor } from '../helpers/services.ts';
import {
  decodeGssapiResponse, decodeGssapiToken, encodeGssapiMic, encodeGssapiRequestFields, encodeGssapiToken, GSSAPI_MSG, KRB5_MECHANISM_OID,
} from '../../src/auth/gssapi/gssapi-messages.ts';

const gssapiOnly = ['-o', 'GSSAPIAuthentication=yes', '-o', 'GSSAPIDelegateCredentials=yes', '-o', 'PreferredAuthentications=gssapi-with-mic', '-o', 'PubkeyAuthentication=no'];

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs stock ssh with the realm's environment (asynchronously: the server runs in another process, but bounded). */
function ssh(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn('ssh', args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('gssapi-with-mic on tether server, with stock OpenSSH and a real MIT KDC', () => {
  let kdc: TestKdc;
  let server: ServerProcess;
  let clientEnv: Record<string, string>;

  before(async () => {
    // The addon is built by npm install wherever libkrb5-dev is (scripts/run-tests.js installs it): no skipping.
    assert.equal(gssapiUnavailableReason(), undefined);
    kdc = await startKdc();
    kdc.addPrincipal('mallory', KRB5_PASSWORD);
    const { KRB5CCNAME: _clientCache, ...serverEnv } = kdc.env;
    server = await startServerProcess({
      // The keytab has host/127.0.0.1 and host/localhost, not host/<this machine's hostname>.
      config: ['GSSAPIAuthentication yes', 'GSSAPIStrictAcceptorCheck no'],
      env: serverEnv,
    });
    clientEnv = kdc.env;
    // The library-level client below runs in this process.
    Object.assign(process.env, kdc.env);
  });
  after(async () => {
    await server?.stop();
    await kdc?.stop();
  });

  it('logs in with a ticket; the delegated TGT is in KRB5CCNAME, owned by the user, mode 0600, removed after logout', async () => {
    kdc.kinit(undefined, { renewable: '1d' });
    const from = server.log().length;
    const result = await ssh([...server.sshArgs(), ...gssapiOnly, `${TEST_USER}@127.0.0.1`, 'echo "cache=$KRB5CCNAME"; klist -f; stat -c "%U %a" "${KRB5CCNAME#FILE:}"'], clientEnv);
    assert.equal(result.status, 0, result.stderr);
    const cache = /^cache=FILE:(\/tmp\/krb5cc_\d+_[A-Za-z0-9]{10})$/m.exec(result.stdout)?.[1];
    assert.ok(cache, result.stdout);
    assert.match(result.stdout, /Default principal: tethertest@TETHER\.TEST/);
    assert.match(result.stdout, /krbtgt\/TETHER\.TEST@TETHER\.TEST/);
    // F: forwardable, f: forwarded — the ticket the client delegated, not a fresh one.
    assert.match(result.stdout, /Flags: F?f/);
    assert.match(result.stdout, new RegExp(`^${TEST_USER} 600$`, 'm'));
    await server.waitForLog(/^Accepted gssapi-with-mic for tethertest from 127\.0\.0\.1 port \d+ ssh2: tethertest@TETHER\.TEST$/, 10_000, from);
    await server.waitForLog(/Authorized to tethertest, krb5 principal tethertest@TETHER\.TEST \(krb5_kuserok\)/, 10_000, from);
    await waitFor(`${cache} to be removed after logout`, () => !existsSync(cache), 10_000);
  });

  it("the guide's kinit, klist, kinit -R and kdestroy act on the delegated cache in the session", async () => {
    kdc.kinit(undefined, { renewable: '1d' });
    const krb5 = `KRB5_CONFIG=${kdc.env.KRB5_CONFIG}`;
    const script = [
      'set -e',
      `${krb5} kinit -R`,
      'klist | grep -c krbtgt/TETHER.TEST@TETHER.TEST | sed "s/^/renewed=/"',
      `echo "${KRB5_PASSWORD}" | ${krb5} kinit tethertest >/dev/null`,
      'klist | grep "Default principal"',
      'kdestroy',
      'test -e "${KRB5CCNAME#FILE:}" && echo still-there || echo destroyed',
      'klist >/dev/null 2>&1 && echo has-ticket || echo no-ticket',
    ].join('; ');
    const result = await ssh([...server.sshArgs(), ...gssapiOnly, `${TEST_USER}@127.0.0.1`, script], clientEnv);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^renewed=1$/m);
    assert.match(result.stdout, /^Default principal: tethertest@TETHER\.TEST$/m);
    assert.match(result.stdout, /^destroyed$/m);
    assert.match(result.stdout, /^no-ticket$/m);
  });

  it('GSSAPICleanupCredentials no keeps the cache after logout', async () => {
    const keeping = await startServerProcess({
      config: ['GSSAPIAuthentication yes', 'GSSAPIStrictAcceptorCheck no', 'GSSAPICleanupCredentials no'],
      env: { KRB5_CONFIG: kdc.env.KRB5_CONFIG!, KRB5_KTNAME: kdc.env.KRB5_KTNAME! },
    });
    let cache = '';
    try {
      kdc.kinit();
      const result = await ssh([...keeping.sshArgs(), ...gssapiOnly, `${TEST_USER}@127.0.0.1`, 'echo "${KRB5CCNAME#FILE:}"'], clientEnv);
      assert.equal(result.status, 0, result.stderr);
      cache = result.stdout.trim();
      await keeping.waitForLog(/^Disconnected from user tethertest /);
      assert.ok(existsSync(cache), `${cache} should stay`);
      assert.equal(statSync(cache).mode & 0o777, 0o600);
      assert.notEqual(statSync(cache).uid, userInfo().uid);
    } finally {
      await keeping.stop();
      if (cache.startsWith('/tmp/krb5cc_')) rmSync(cache, { force: true });
    }
  });

  it('without a ticket the client falls through to the next method, as with sshd', async () => {
    kdc.kdestroy();
    const from = server.log().length;
    const result = await ssh(
      [...server.sshArgs(), '-o', 'GSSAPIAuthentication=yes', '-o', 'PreferredAuthentications=gssapi-with-mic,publickey', `${TEST_USER}@127.0.0.1`, 'echo by-key'],
      clientEnv,
    );
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'by-key\n');
    await server.waitForLog(/^Accepted publickey for tethertest from 127\.0\.0\.1 port \d+ ssh2: ED25519 /, 10_000, from);
    assert.doesNotMatch(server.log().slice(from), /Accepted gssapi-with-mic/);
  });

  it('a principal not allowed for the account (aname-to-lname gives another user) is refused and logged', async () => {
    const cache = `FILE:${join(kdc.dir, 'mallory-ccache')}`;
    kdc.kinit('mallory', { ccache: cache });
    const from = server.log().length;
    const result = await ssh([...server.sshArgs(), ...gssapiOnly, `${TEST_USER}@127.0.0.1`, 'true'], { ...clientEnv, KRB5CCNAME: cache });
    assert.equal(result.status, 255);
    assert.match(result.stderr, /Permission denied \(/);
    await server.waitForLog(/^Failed gssapi-with-mic for tethertest from 127\.0\.0\.1 port \d+ ssh2: mallory@TETHER\.TEST$/, 10_000, from);
    assert.doesNotMatch(server.log().slice(from), /Accepted gssapi-with-mic/);
  });

  it('a tampered MIC is refused and logged; the untampered one succeeds (a library-level client)', async () => {
    kdc.kinit();
    const attempt = async (tamper: boolean): Promise<number> => {
      const { transport } = await keyedTransport(server.port);
      const inbox = new PacketInbox(transport);
      const initiator = new InitiatorContext('host@127.0.0.1');
      try {
        transport.send(new Writer(32).byte(SSH_MSG.SERVICE_REQUEST).string('ssh-userauth').finish());
        assert.equal((await inbox.next())[0], SSH_MSG.SERVICE_ACCEPT);
        const request = new Writer(128).byte(SSH_MSG.USERAUTH_REQUEST).string(TEST_USER).string('ssh-connection').string('gssapi-with-mic');
        transport.send(encodeGssapiRequestFields([KRB5_MECHANISM_OID], request).finish());
        assert.deepEqual(decodeGssapiResponse(await inbox.next()), KRB5_MECHANISM_OID);
        let step = await initiator.step(null);
        while (!step.complete) {
          transport.send(encodeGssapiToken(step.token!));
          step = await initiator.step(decodeGssapiToken(await inbox.next()));
        }
        const mic = initiator.getMic(gssapiMicData({ sessionId: transport.sessionId!, user: TEST_USER, service: 'ssh-connection' }));
        if (tamper) mic[mic.length - 1]! ^= 0x01;
        transport.send(encodeGssapiMic(mic));
        return (await inbox.next())[0]!;
      } finally {
        initiator.dispose();
        transport.disconnect(11, 'done');
      }
    };
    const from = server.log().length;
    assert.equal(await attempt(true), SSH_MSG.USERAUTH_FAILURE);
    await server.waitForLog(/^GSSAPI MIC check failed$/, 10_000, from);
    await server.waitForLog(/^Failed gssapi-with-mic for tethertest from 127\.0\.0\.1 port \d+ ssh2: tethertest@TETHER\.TEST$/, 10_000, from);
    assert.equal(await attempt(false), SSH_MSG.USERAUTH_SUCCESS);
    assert.equal(GSSAPI_MSG.USERAUTH_GSSAPI_MIC, 66);
  });
});
