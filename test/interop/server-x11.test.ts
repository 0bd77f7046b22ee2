/**
 * X11 forwarding through `tether server` (RFC 4254 §6.3), with Xvfb as the client side's X server: stock
 * `ssh -Y` / `ssh -X` (trusted and untrusted) and `tether ssh -Y` run xdpyinfo in the session and read Xvfb's screen size through
 * the forwarded display; the session's xauth holds the client's fake cookie while the X server is only
 * ever shown the real one; an X client without the fake cookie is cut off by the client; X11Forwarding no
 * (globally, in a Match block) and no-X11-forwarding refuse with ssh's warning and the command still runs;
 * once the session has ended nothing listens on the display and its xauth entry is gone.
 *
 * The session user's X authority is a private file (SetEnv XAUTHORITY), never ~/.Xauthority, and displays
 * start at 60 (X11DisplayOffset) so they stay clear of sshd's default 10 in the client tests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, chownSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeKey, publicKeyLine, tempDir } from '../helpers/openssh.ts';
import { canConnect, waitFor } from '../helpers/services.ts';
import { runTether } from '../helpers/tether.ts';
import { requireX11Programs, startXvfb, XAUTH, xauth, type RunningXvfb } from '../helpers/x11.ts';
import { keyAuth, run, startTestServer, TEST_USER, type TestServer } from './server-harness.ts';

const OFFSET = 60;
const SCREEN = '1234x567x24';
const X11_OFF_ADDRESS = '127.0.0.2';
const MIT = 'MIT-MAGIC-COOKIE-1';

let dir: string;
let xvfb: RunningXvfb;
let cookieHex: string;
let goodAuthority: string;
let remoteAuthority: string;
let test: TestServer;
let refusing: TestServer;
let restrictedKey: string;

/** The session's DISPLAY, what xdpyinfo saw and the session's xauth entry for the display. */
const PROBE = 'echo "DISPLAY=$DISPLAY"; xdpyinfo | grep "dimensions:"; xauth list "$DISPLAY"';

function sshWithDisplay(args: string[]) {
  return run('/usr/bin/ssh', args, {
    home: join(test.dir, 'home'),
    env: { DISPLAY: `:${xvfb.display}`, XAUTHORITY: goodAuthority },
    timeoutMs: 20_000,
  });
}

interface Probed {
  display: number;
  sessionCookie: string;
}

/** Checks the probe's output and returns the display number and the cookie the session's xauth holds. */
function probed(stdout: string): Probed {
  const display = /^DISPLAY=localhost:(\d+)\.0$/m.exec(stdout);
  assert.ok(display, `no forwarded DISPLAY in:\n${stdout}`);
  const number = Number(display[1]);
  assert.ok(number >= OFFSET, `display ${number} is below X11DisplayOffset ${OFFSET}`);
  assert.match(stdout, /^ +dimensions: +1234x567 pixels/m, 'xdpyinfo reads Xvfb\'s screen through the forwarded display');
  const entry = new RegExp(`^\\S+/unix:${number} +${MIT} +([0-9a-f]+)$`, 'm').exec(stdout);
  assert.ok(entry, `no xauth entry for unix:${number} in:\n${stdout}`);
  return { display: number, sessionCookie: entry[1]! };
}

/** The session is over: nothing listens on its display any more and its xauth entry is gone. */
async function assertCleanedUp(display: number): Promise<void> {
  const port = 6000 + display;
  await waitFor(`port ${port} to stop listening`, async () => !(await canConnect({ port, host: '127.0.0.1' })) && !(await canConnect({ port, host: '::1' })));
  await waitFor(`the xauth entry for unix:${display} to go`, () => !xauth(remoteAuthority, ['list']).includes(`/unix:${display} `));
}

before(async () => {
  requireX11Programs();
  dir = tempDir('tether-x11-');
  chmodSync(dir, 0o755);
  cookieHex = randomBytes(16).toString('hex');
  xvfb = await startXvfb(dir, cookieHex, SCREEN);
  goodAuthority = join(dir, 'client-authority');
  xauth(goodAuthority, ['add', `:${xvfb.display}`, MIT, cookieHex]);
  // The session user's authority file, in a directory of its own (xauth makes lock files beside it).
  const remoteDir = join(dir, 'remote');
  mkdirSync(remoteDir, { mode: 0o700 });
  const uid = Number(spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', TEST_USER], { encoding: 'utf8' }).stdout.trim());
  remoteAuthority = join(remoteDir, 'Xauthority');
  test = await startTestServer({
    // First SetEnv wins: this one replaces the harness's (keeping SHLVL).
    config: [`SetEnv SHLVL=1 XAUTHORITY=${remoteAuthority}`, 'X11Forwarding yes', `X11DisplayOffset ${OFFSET}`, `XAuthLocation ${XAUTH}`],
    extraAddresses: [X11_OFF_ADDRESS],
    tail: [`Match LocalAddress ${X11_OFF_ADDRESS}`, '\tX11Forwarding no'],
  });
  chownSync(remoteDir, uid, gid);
  restrictedKey = makeKey(test.dir, 'id_restricted', 'ed25519');
  appendFileSync(test.authorizedKeys, `no-X11-forwarding ${publicKeyLine(restrictedKey)}\n`);
  refusing = await startTestServer();
});

after(async () => {
  await test?.stop();
  await refusing?.stop();
  await xvfb?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('X11 forwarding through tether server', () => {
  it('ssh -Y: xdpyinfo in the session reads Xvfb\'s screen; the session holds the fake cookie only', async () => {
    const result = await sshWithDisplay([...keyAuth(test), '-Y', `${TEST_USER}@127.0.0.1`, PROBE]);
    assert.equal(result.status, 0, result.stderr);
    const { display, sessionCookie } = probed(result.stdout.toString());
    // The X server accepted the connection, so it was shown the real cookie; the session only ever had a
    // different one of the same length, which the client swapped.
    assert.equal(sessionCookie.length, cookieHex.length);
    assert.notEqual(sessionCookie, cookieHex);
    await assertCleanedUp(display);
  });

  it('ssh -X with ForwardX11Trusted no (Debian\'s default is yes): the same with an untrusted cookie', async () => {
    const result = await sshWithDisplay([...keyAuth(test), '-X', '-o', 'ForwardX11Trusted=no', `${TEST_USER}@127.0.0.1`, PROBE]);
    assert.equal(result.status, 0, result.stderr);
    const { display, sessionCookie } = probed(result.stdout.toString());
    assert.notEqual(sessionCookie, cookieHex);
    await assertCleanedUp(display);
  });

  it('tether ssh -Y to tether server', async () => {
    const result = await runTether([
      'ssh', '-F', 'none', '-o', `UserKnownHostsFile=${join(test.dir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=no',
      '-o', 'IdentitiesOnly=yes', '-i', test.clientKey, '-p', String(test.port), '-Y', `${TEST_USER}@127.0.0.1`, PROBE,
    ], { env: { HOME: join(test.dir, 'home'), DISPLAY: `:${xvfb.display}`, XAUTHORITY: goodAuthority }, timeoutMs: 20_000 });
    assert.equal(result.status, 0, result.stderr);
    const { display, sessionCookie } = probed(result.stdout.toString());
    assert.notEqual(sessionCookie, cookieHex);
    await assertCleanedUp(display);
  });

  it('an X client presenting another cookie is refused by the client before reaching the X server', async () => {
    const result = await sshWithDisplay(['-o', 'LogLevel=INFO', ...keyAuth(test), '-Y', `${TEST_USER}@127.0.0.1`,
      'echo "DISPLAY=$DISPLAY"; XAUTHORITY=/dev/null xdpyinfo >/dev/null 2>&1 && echo opened']);
    assert.notEqual(result.status, 0);
    assert.doesNotMatch(result.stdout.toString(), /opened/);
    assert.match(result.stderr, /X11 connection rejected because of wrong authentication\./);
    await assertCleanedUp(Number(/^DISPLAY=localhost:(\d+)\.0$/m.exec(result.stdout.toString())?.[1]));
  });

  const refusedCases: Array<[string, () => string[]]> = [
    ['X11Forwarding no (the default)', () => [...keyAuth(refusing), `${TEST_USER}@127.0.0.1`]],
    ['X11Forwarding no in a Match block', () => [...keyAuth(test), `${TEST_USER}@${X11_OFF_ADDRESS}`]],
    ['the key\'s no-X11-forwarding', () => [
      ...test.sshBase(), '-i', restrictedKey, '-o', 'IdentitiesOnly=yes', '-o', 'PreferredAuthentications=publickey', '-o', 'BatchMode=yes',
      `${TEST_USER}@127.0.0.1`,
    ]],
  ];
  for (const [what, args] of refusedCases) {
    it(`${what}: ssh's warning, no DISPLAY, and the command still runs`, async () => {
      const argv = args();
      const target = argv.pop()!;
      const result = await sshWithDisplay([...argv, '-Y', target, 'echo "DISPLAY=[$DISPLAY]"']);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.toString(), 'DISPLAY=[]\n');
      assert.match(result.stderr, /X11 forwarding request failed on channel 0/);
    });
  }
});
