/**
 * PerSourcePenalties and PerSourceNetBlockSize against stock OpenSSH clients: a source that fails to
 * authenticate is refused at accept for the penalty time while another source logs in, and is served again
 * once the penalty expires; idling past LoginGraceTime and leaving without authenticating earn their own
 * penalties; a /24 block counts 127.0.0.1 and 127.0.0.2 as one source for PerSourceMaxStartups and for
 * penalties; an exempt address is never penalised nor refused. Every refusal is logged as sshd logs it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { makeKey } from '../helpers/openssh.ts';
import { keyAuth, ssh, sshWithPassword, startTestServer, TEST_USER, type RunResult, type TestServer } from './server-harness.ts';

const DROP = /^drop connection #\d+ from \[127\.0\.0\.1\]:\d+ on \[127\.0\.0\.1\]:\d+ penalty: failed authentication$/;

/** `exit` with the harness key from `source` (ssh -b). */
function login(test: TestServer, source: string): Promise<RunResult> {
  return ssh(test, [...keyAuth(test), '-b', source, `${TEST_USER}@127.0.0.1`, 'echo in'], { timeoutMs: 15_000 });
}

/** One password attempt with a wrong password from `source`. */
function wrongPassword(test: TestServer, source: string): Promise<RunResult> {
  const args = [
    ...test.sshBase(), '-b', source, '-o', 'PreferredAuthentications=password', '-o', 'PubkeyAuthentication=no',
    '-o', 'NumberOfPasswordPrompts=1', `${TEST_USER}@127.0.0.1`, 'true',
  ];
  return sshWithPassword(test, args, 'certainly-not-the-password', { timeoutMs: 15_000 });
}

/** A key that is not in authorized_keys, from `source`. */
function wrongKey(test: TestServer, key: string, source: string): Promise<RunResult> {
  const args = [...test.sshBase(), '-b', source, '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', `${TEST_USER}@127.0.0.1`, 'true'];
  return ssh(test, args, { timeoutMs: 15_000 });
}

function assertLoggedIn(result: RunResult, what: string): void {
  assert.equal(result.status, 0, `${what}: ${result.stderr}`);
  assert.equal(result.stdout.toString(), 'in\n', what);
}

/** ssh sees the server close before any version line (sshd 9.8 writes "Not allowed at this time" first). */
function assertRefused(result: RunResult, what: string): void {
  assert.equal(result.status, 255, `${what}: ${result.stderr}`);
  assert.match(result.stderr, /kex_exchange_identification|Connection closed by 127\.0\.0\.1/, what);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Everything the server sends a raw TCP connection from `source` until it closes (bounded). */
function rawFrom(test: TestServer, source: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port: test.port, host: '127.0.0.1', localAddress: source });
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => resolve(text));
    setTimeout(() => socket.destroy(), 5000).unref();
  });
}

describe('PerSourcePenalties: a failing source is refused for the penalty time, others are not', () => {
  let test: TestServer;
  before(async () => {
    test = await startTestServer({
      config: ['PerSourcePenalties authfail:3s min:1s max:5s', 'PerSourceNetBlockSize 32', 'PasswordAuthentication yes', 'LoginGraceTime 3'],
    });
  });
  after(async () => {
    await test?.stop();
  });

  it('penalises 127.0.0.1 after a failed password, serves 127.0.0.2 meanwhile, and 127.0.0.1 again after expiry', async () => {
    // Meanwhile 127.0.0.4 idles past LoginGraceTime, and 127.0.0.5 says its version and leaves.
    const idle = connect({ port: test.port, host: '127.0.0.1', localAddress: '127.0.0.4' });
    idle.on('error', () => {});
    idle.write('SSH-2.0-Idle_1.0\r\n');
    const leaver = connect({ port: test.port, host: '127.0.0.1', localAddress: '127.0.0.5' });
    leaver.on('error', () => {});
    leaver.on('data', () => leaver.end('SSH-2.0-Leaver_1.0\r\n'));

    assertLoggedIn(await login(test, '127.0.0.1'), 'before any failure');
    const failed = await wrongPassword(test, '127.0.0.1');
    assert.notEqual(failed.status, 0, 'the wrong password was accepted');
    await test.waitForLog(/^srclimit_penalise: ipv4: new 127\.0\.0\.1\/32 active penalty of 3 seconds for penalty: failed authentication$/);
    const penalisedAt = Date.now();

    // Refused at accept: OpenSSH 9.8's one line, no version exchange, no key exchange.
    assert.equal(await rawFrom(test, '127.0.0.1'), 'Not allowed at this time\r\n');
    await test.waitForLog(DROP);
    assertRefused(await login(test, '127.0.0.1'), 'right key from the penalised source');
    assertLoggedIn(await login(test, '127.0.0.2'), 'another /32 meanwhile');
    // Unless this machine was slow enough for the 3 s to pass already, the first source is still refused.
    if (Date.now() - penalisedAt < 2500) assertRefused(await login(test, '127.0.0.1'), 'still penalised');

    await sleep(Math.max(0, penalisedAt + 3300 - Date.now()));
    assertLoggedIn(await login(test, '127.0.0.1'), 'after the penalty expired');

    // grace-exceeded defaults to 20 s (over min: refused at once); noauth to 1 s (not over min 1 s: deferred).
    await test.waitForLog(/^srclimit_penalise: ipv4: new 127\.0\.0\.4\/32 active penalty of 20 seconds for penalty: exceeded LoginGraceTime$/);
    assert.equal(await rawFrom(test, '127.0.0.4'), 'Not allowed at this time\r\n');
    await test.waitForLog(/^srclimit_penalise: ipv4: new 127\.0\.0\.5\/32 deferred penalty of 1 seconds for penalty: connections without attempting authentication$/);
    idle.destroy();
  });
});

describe('PerSourceNetBlockSize 24 and PerSourcePenaltyExemptList', () => {
  let test: TestServer;
  before(async () => {
    test = await startTestServer({
      config: ['PerSourceNetBlockSize 24', 'PerSourceMaxStartups 1', 'PerSourcePenalties authfail:30s min:1s', 'PerSourcePenaltyExemptList 10.0.0.0/8,127.0.0.3'],
    });
  });
  after(async () => {
    await test?.stop();
  });

  it('counts 127.0.0.1 and 127.0.0.2 as one source for PerSourceMaxStartups', async () => {
    const holder: Socket = connect({ port: test.port, host: '127.0.0.1', localAddress: '127.0.0.1' });
    holder.on('error', () => {});
    try {
      await new Promise((resolve) => holder.once('data', resolve)); // admitted: the server's version line
      assert.equal(await rawFrom(test, '127.0.0.2'), 'Exceeded MaxStartups\r\n');
      await test.waitForLog(/^drop connection #1 from \[127\.0\.0\.2\]:\d+ on \[127\.0\.0\.1\]:\d+ past MaxStartups$/);
    } finally {
      holder.destroy();
    }
  });

  it('never penalises an exempt address', async () => {
    // The holder above must be gone first; its end is a no-auth penalty of 1 s, below min.
    for (let i = 0; i < 50 && test.server.activeConnections > 0; i++) await sleep(50);
    const key = makeKey(test.dir, 'id_wrong', 'ed25519');
    assert.equal((await wrongKey(test, key, '127.0.0.3')).status, 255);
    assert.equal((await wrongKey(test, key, '127.0.0.3')).status, 255);
    assertLoggedIn(await login(test, '127.0.0.3'), 'exempt source after two failures');
    assert.ok(!test.logLines.some((l) => /^srclimit_penalise: .*failed authentication$/.test(l)), 'an exempt failure was recorded');
  });

  it('penalises the whole /24: a failure from 127.0.0.1 refuses 127.0.0.2, but not the exempt 127.0.0.3', async () => {
    const key = join(test.dir, 'id_wrong');
    assert.equal((await wrongKey(test, key, '127.0.0.1')).status, 255);
    // The holder's own end left a deferred 1 s no-auth penalty on the block, which this one may extend.
    await test.waitForLog(/^srclimit_penalise: (ipv4: new 127\.0\.0\.0\/24 active|127\.0\.0\.0\/24: activating ipv4) penalty of \d+ seconds for penalty: failed authentication$/);
    assertRefused(await login(test, '127.0.0.2'), 'same /24');
    await test.waitForLog(/^drop connection #0 from \[127\.0\.0\.2\]:\d+ on \[127\.0\.0\.1\]:\d+ penalty: failed authentication$/);
    assertLoggedIn(await login(test, '127.0.0.3'), 'the exempt address in the penalised block');
  });
});
