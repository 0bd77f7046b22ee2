/**
 * ssh_config keywords Tether parses but does not implement: a value that takes effect and asks for the
 * missing behaviour is an error naming the file and line, worded like ssh's own config errors, and ssh does
 * not start; the default or "off" value is accepted, so `ssh -G` output always reads back. Deprecated and
 * unsupported keywords are logged as ssh logs them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, formatDashG, resolveSshConfigSync, type SshFlags } from '../../../src/config/ssh/index.ts';
import { sshDashG } from './corpus.ts';
import { runTether } from '../../helpers/tether.ts';
import { gssapiAvailable } from '../../../src/auth/gssapi/gssapi-addon.ts';

const scratch = mkdtempSync(join(tmpdir(), 'tether-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const env: NodeJS.ProcessEnv = { ...process.env, HOME: scratch };
let counter = 0;
function writeConfig(text: string): string {
  const path = join(scratch, `config-${++counter}`);
  writeFileSync(path, text);
  return path;
}

function refusal(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('the configuration was accepted');
}

const resolveFile = (path: string, extra: { commandLineOptions?: string[]; flags?: SshFlags } = {}) =>
  resolveSshConfigSync({ host: 'h', configFile: path, env, ...extra });

/** A line asking for something unimplemented, and one for the same keyword that asks for nothing. */
const CASES: Array<[refused: string, accepted: string]> = [
  ['HostbasedAuthentication yes', 'HostbasedAuthentication no'],
  ['PKCS11Provider /usr/lib/opensc-pkcs11.so', 'PKCS11Provider none'],
  ['SecurityKeyProvider /usr/lib/sk.so', 'SecurityKeyProvider internal'],
  ['Tunnel point-to-point', 'Tunnel no'],
  ['ProxyUseFdpass yes', 'ProxyUseFdpass no'],
  ['CanonicalizeHostname yes', 'CanonicalizeHostname no'],
  ['VerifyHostKeyDNS yes', 'VerifyHostKeyDNS no'],
  ['VisualHostKey yes', 'VisualHostKey no'],
  ['NoHostAuthenticationForLocalhost yes', 'NoHostAuthenticationForLocalhost no'],
  ['RevokedHostKeys /etc/ssh/revoked', 'RevokedHostKeys none'],
  ['BindInterface eth0', 'Port 22'],
  ['KbdInteractiveDevices pam', 'KbdInteractiveAuthentication yes'],
  ['PubkeyAuthentication host-bound', 'PubkeyAuthentication unbound'],
  ['RequiredRSASize 2048', 'RequiredRSASize 1024'],
  ['LogVerbose kex.c:*', 'LogVerbose none'],
  ['SyslogFacility LOCAL0', 'SyslogFacility USER'],
  ['FingerprintHash sha512', 'FingerprintHash md5'],
];

describe('unimplemented ssh_config values are refused', () => {
  for (const [refused, accepted] of CASES) {
    const keyword = refused.split(' ')[0]!.toLowerCase();
    it(`${refused} is an error naming file and line; ${accepted} is accepted`, () => {
      const path = writeConfig(`Host *\n  User someone\n  ${refused}\n`);
      const err = refusal(() => resolveFile(path));
      assert.equal(err.file, path);
      assert.equal(err.line, 3);
      assert.equal(err.message, `${path} line 3: Unsupported option "${keyword}"`);
      assert.equal(err.report, `${err.message}\n${path}: terminating, 1 bad configuration options`);
      const cli = refusal(() => resolveSshConfigSync({ host: 'h', configFile: 'none', commandLineOptions: [refused.replace(' ', '=')], env }));
      assert.equal(cli.message, `command-line line 0: Unsupported option "${keyword}"`);
      assert.doesNotThrow(() => resolveFile(writeConfig(`Host *\n  ${accepted}\n`)));
    });
  }

  it('refuses only the value that takes effect: a block for another host, or an earlier value, wins', () => {
    assert.doesNotThrow(() => resolveFile(writeConfig('Host other\n  Tunnel yes\n')));
    const path = writeConfig('Host *\n  Tunnel yes\n');
    assert.doesNotThrow(() => resolveFile(path, { commandLineOptions: ['Tunnel=no'] }));
    assert.doesNotThrow(() => resolveFile(writeConfig('Tunnel no\nTunnel yes\n')));
  });

  it('refuses flags that ask for unimplemented behaviour', () => {
    const tunnel = refusal(() => resolveSshConfigSync({ host: 'h', configFile: 'none', flags: { tunnelDevice: '1:2' }, env }));
    assert.equal(tunnel.message, 'Unsupported option "tunnel"');
  });

  it('warns about GSSAPI, as an ssh built without it does (Debian\'s /etc/ssh/ssh_config turns it on), and goes on', () => {
    // GSSAPIAuthentication is enforced when the GSS-API addon (native/gssapi) is built: then it is silent.
    const warned = gssapiAvailable() ? ['GSSAPIKeyExchange'] : ['GSSAPIAuthentication', 'GSSAPIKeyExchange'];
    for (const keyword of ['GSSAPIAuthentication', 'GSSAPIKeyExchange']) {
      const path = writeConfig(`Host *\n  ${keyword} yes\n`);
      const r = resolveFile(path);
      assert.deepEqual(r.configMessages, warned.includes(keyword) ? [`${path} line 2: Unsupported option "${keyword.toLowerCase()}"`] : []);
      assert.deepEqual(resolveFile(writeConfig(`Host *\n  ${keyword} no\n`)).configMessages, []);
    }
  });

  it('accepts what ssh -G prints, so its output reads back', () => {
    const first = formatDashG(resolveFile(writeConfig('Host *\n  LogLevel DEBUG3\n  HostKeyAlias alias\n  Port 2022\n')));
    const again = formatDashG(resolveFile(writeConfig(first)));
    assert.equal(again, first);
  });

  it('tether ssh refuses to start, printing the error like ssh', async () => {
    const path = writeConfig('Host *\n  Tunnel yes\n');
    const run = await runTether(['ssh', '-F', path, '-G', 'h'], { timeoutMs: 20_000, env: { HOME: scratch } });
    assert.equal(run.status, 255);
    assert.equal(run.stdout.length, 0);
    assert.match(run.stderr, new RegExp(`^${path} line 2: Unsupported option "tunnel"\r?\n${path}: terminating, 1 bad configuration options\r?\n$`));
  });

  it('accepts everything with allowUnimplemented, for comparing the parser with ssh -G', () => {
    const r = resolveSshConfigSync({ host: 'h', configFile: writeConfig('Tunnel yes\n'), env, allowUnimplemented: true });
    assert.equal(r.options.tunnel, 1);
  });
});

describe('deprecated and unsupported keywords are logged as ssh logs them', () => {
  const path = writeConfig('UseRoaming no\nRSAAuthentication yes\nProtocol 2\n');

  /** What the real ssh prints about the file (its other stderr lines concern the session, not the config). */
  function realMessages(args: string[]): string[] {
    return sshDashG([...args, '-F', path, 'h'], env).stderr.split('\n').filter((l) => l.includes(`${path} line`));
  }

  it('at the default level: the unsupported option only', () => {
    const r = resolveFile(path);
    assert.deepEqual(r.configMessages, [`${path} line 2: Unsupported option "rsaauthentication"`]);
    assert.deepEqual(r.configMessages, realMessages([]));
  });

  it('with -v: the deprecated option too, at debug1', () => {
    const r = resolveFile(path, { flags: { verbose: 1 } });
    assert.deepEqual(r.configMessages, [
      `debug1: ${path} line 1: Deprecated option "useroaming"`,
      `${path} line 2: Unsupported option "rsaauthentication"`,
    ]);
    assert.deepEqual(r.configMessages, realMessages(['-v']));
  });

  it('with -q: nothing', () => {
    assert.deepEqual(resolveFile(path, { flags: { quiet: true } }).configMessages, []);
    assert.deepEqual(realMessages(['-q']), []);
  });
});
