/**
 * `tether ssh -X / -Y` against a real OpenSSH sshd, with Xvfb as the local X server: remote X clients reach
 * our display through the x11 channels, with the fake cookie swapped for the real one; untrusted forwarding
 * confines them through the SECURITY extension; wrong cookies on either side are refused; without -X the
 * remote session has no DISPLAY.
 *
 * Needs the Debian packages xvfb (Xvfb), xauth (on both "sides": sshd runs it too) and x11-utils (xdpyinfo).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeKey, publicKeyLine, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { runTether } from '../helpers/tether.ts';
import { requireX11Programs, startXvfb, XAUTH, xauth, type RunningXvfb } from '../helpers/x11.ts';

/** Xvfb's full extension list has ~20 entries; an untrusted client sees only what SECURITY allows (2 here). */
const UNTRUSTED_EXTENSION_COUNT = 2;

describe('tether ssh X11 forwarding with OpenSSH sshd', () => {
  let home: string;
  let key: string;
  let xvfb: RunningXvfb;
  let sshd: RunningSshd;
  let refusingSshd: RunningSshd;
  let goodAuthority: string;
  let wrongAuthority: string;
  let remoteAuthority: string;
  let cookieHex: string;

  before(async () => {
    requireX11Programs();
    home = tempDir();
    key = makeKey(home, 'id_ed25519', 'ed25519');
    cookieHex = randomBytes(16).toString('hex');
    xvfb = await startXvfb(home, cookieHex);
    // Our side: one authority file with Xvfb's cookie, one with a cookie Xvfb has never heard of.
    goodAuthority = join(home, 'client-good');
    wrongAuthority = join(home, 'client-wrong');
    xauth(goodAuthority, ['add', `:${xvfb.display}`, 'MIT-MAGIC-COOKIE-1', cookieHex]);
    xauth(wrongAuthority, ['add', `:${xvfb.display}`, 'MIT-MAGIC-COOKIE-1', randomBytes(16).toString('hex')]);
    // The server side: sshd's xauth and the remote X clients use this file, never root's ~/.Xauthority. sshd
    // keeps the first SetEnv line, so this override replaces the helper's default one (keeping SHLVL).
    remoteAuthority = join(home, 'remote-authority');
    sshd = await startSshd({
      authorizedKeys: [publicKeyLine(key)],
      overrides: [`SetEnv SHLVL=1 XAUTHORITY=${remoteAuthority}`],
      config: ['X11Forwarding yes', 'X11UseLocalhost yes', `XAuthLocation ${XAUTH}`],
    });
    refusingSshd = await startSshd({ authorizedKeys: [publicKeyLine(key)], config: ['X11Forwarding no'] });
  });
  after(async () => {
    await sshd?.stop();
    await refusingSshd?.stop();
    await xvfb?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const ssh = (server: RunningSshd, extra: string[], env: NodeJS.ProcessEnv = {}) =>
    runTether(
      ['ssh', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`,
        '-o', 'IdentitiesOnly=yes', '-i', key, '-p', String(server.port), ...extra],
      { env: { HOME: home, DISPLAY: `:${xvfb.display}`, XAUTHORITY: goodAuthority, ...env }, timeoutMs: 20_000 },
    );

  /** xdpyinfo's header lines and its extension count, as the remote X client sees our display. */
  const PROBE = 'echo "DISPLAY=$DISPLAY"; xdpyinfo | head -5; xdpyinfo | grep "^number of extensions:"';

  function probed(stdout: string): { remoteDisplay: string; extensions: number } {
    const remoteDisplay = /^DISPLAY=(.*)$/m.exec(stdout)?.[1] ?? '';
    assert.match(stdout, new RegExp(`^name of display: +${remoteDisplay.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(stdout, /^vendor string: +The X\.Org Foundation$/m);
    return { remoteDisplay, extensions: Number(/^number of extensions: +(\d+)$/m.exec(stdout)?.[1]) };
  }

  test('-Y: a remote X client reaches our Xvfb through the forwarded display, fully trusted', async () => {
    const result = await ssh(sshd, ['-Y', 'root@127.0.0.1', `${PROBE}; xauth list "$DISPLAY"`]);
    assert.equal(result.status, 0, result.stderr);
    const stdout = result.stdout.toString();
    const { remoteDisplay, extensions } = probed(stdout);
    assert.match(remoteDisplay, /^localhost:\d+\.0$/);
    assert.ok(extensions > UNTRUSTED_EXTENSION_COUNT, `trusted clients see every extension, got ${extensions}`);
    // The server holds the fake cookie only: the real one never leaves this machine.
    const remoteCookie = /MIT-MAGIC-COOKIE-1 +([0-9a-f]+)/.exec(stdout)?.[1];
    assert.equal(remoteCookie?.length, cookieHex.length);
    assert.notEqual(remoteCookie, cookieHex);
  });

  test('-X with Debian\'s default ForwardX11Trusted yes is trusted forwarding too', async () => {
    const result = await ssh(sshd, ['-X', 'root@127.0.0.1', PROBE]);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(probed(result.stdout.toString()).extensions > UNTRUSTED_EXTENSION_COUNT);
  });

  test('-X with ForwardX11Trusted no uses a generated untrusted cookie: SECURITY hides the extensions', async () => {
    const result = await ssh(sshd, ['-X', '-o', 'ForwardX11Trusted=no', 'root@127.0.0.1', PROBE]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(probed(result.stdout.toString()).extensions, UNTRUSTED_EXTENSION_COUNT);
  });

  test('a local cookie the X server does not know: the remote X client cannot open the display', async () => {
    const result = await ssh(sshd, ['-Y', 'root@127.0.0.1', 'xdpyinfo >/dev/null && echo opened'], { XAUTHORITY: wrongAuthority });
    assert.notEqual(result.status, 0);
    assert.doesNotMatch(result.stdout.toString(), /opened/);
    assert.match(result.stderr, /unable to open display "localhost:\d+\.0"/);
  });

  test('a remote client without the fake cookie is cut off by tether before reaching the X server', async () => {
    const result = await ssh(sshd, ['-Y', 'root@127.0.0.1', 'XAUTHORITY=/dev/null xdpyinfo >/dev/null && echo opened']);
    assert.notEqual(result.status, 0);
    assert.doesNotMatch(result.stdout.toString(), /opened/);
    assert.match(result.stderr, /X11 connection rejected because of wrong authentication\./);
  });

  test('ForwardX11Timeout: untrusted X11 connections are refused once it has passed', async () => {
    const result = await ssh(sshd, ['-X', '-o', 'ForwardX11Trusted=no', '-o', 'ForwardX11Timeout=1', '-o', 'LogLevel=VERBOSE',
      'root@127.0.0.1', 'sleep 2.5; xdpyinfo >/dev/null && echo opened']);
    assert.notEqual(result.status, 0);
    assert.doesNotMatch(result.stdout.toString(), /opened/);
    assert.match(result.stderr, /Rejected X11 connection after ForwardX11Timeout expired/);
  });

  test('XAuthLocation without a program: trusted falls back to a made-up cookie, which the X server refuses', async () => {
    const result = await ssh(sshd, ['-Y', '-o', `XAuthLocation=${join(home, 'no-xauth')}`, 'root@127.0.0.1',
      'echo "DISPLAY=$DISPLAY"; xdpyinfo >/dev/null && echo opened']);
    assert.match(result.stderr, /Warning: No xauth data; using fake authentication data for X11 forwarding\./);
    assert.match(result.stdout.toString(), /^DISPLAY=localhost:\d+\.0$/m, 'forwarding is still requested');
    assert.doesNotMatch(result.stdout.toString(), /opened/);
  });

  test('XAuthLocation without a program: untrusted forwarding is not requested at all', async () => {
    const result = await ssh(sshd, ['-X', '-o', 'ForwardX11Trusted=no', '-o', `XAuthLocation=${join(home, 'no-xauth')}`,
      'root@127.0.0.1', 'echo "DISPLAY=[$DISPLAY]"']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /Warning: untrusted X11 forwarding setup failed: xauth key data not generated/);
    assert.equal(result.stdout.toString(), 'DISPLAY=[]\n');
  });

  test('without -X the remote session has no DISPLAY', async () => {
    const result = await ssh(sshd, ['root@127.0.0.1', 'echo "DISPLAY=[$DISPLAY]"']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'DISPLAY=[]\n');
  });

  test('-Y without a local DISPLAY: ssh\'s debug message, no request, no remote DISPLAY', async () => {
    const result = await ssh(sshd, ['-Y', '-v', 'root@127.0.0.1', 'echo "DISPLAY=[$DISPLAY]"'], { DISPLAY: '' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'DISPLAY=[]\n');
    assert.match(result.stderr, /debug1: X11 forwarding requested but DISPLAY not set/);
    assert.doesNotMatch(result.stderr, /Requesting X11 forwarding/);
  });

  test('a server with X11Forwarding no refuses x11-req: ssh\'s message, the command still runs', async () => {
    const result = await ssh(refusingSshd, ['-Y', 'root@127.0.0.1', 'echo "DISPLAY=[$DISPLAY]"']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'DISPLAY=[]\n');
    assert.match(result.stderr, /X11 forwarding request failed on channel \d+/);
  });
});
