// sshd_config keywords Tether parses but does not implement: a value that asks for the missing behaviour is an
// error naming the file and line (worded like sshd's own config errors) and the server does not start; the
// default or "off" value is accepted, so `sshd -T` output always reads back.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  checkSshdConfig, dashTSettings, formatDashT, loadSshdConfig, parseSshdConfigText, SshdConfigError, SshdConfigErrors,
} from '../../../src/config/sshd/index.ts';
import { runTether } from '../../helpers/tether.ts';

const dir = mkdtempSync(join(tmpdir(), 'tether-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
function writeConfig(text: string): string {
  const file = join(dir, `sshd-${++counter}.conf`);
  writeFileSync(file, text);
  return file;
}

function refusal(fn: () => unknown): SshdConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof SshdConfigError, `expected SshdConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail('the configuration was accepted');
}

/** A line asking for something unimplemented, and a line for the same keyword that asks for nothing. */
const CASES: Array<[refused: string, accepted: string]> = [
  ['UsePAM yes', 'UsePAM no'],
  ['GSSAPIKeyExchange yes', 'GSSAPIKeyExchange no'],
  ['KerberosAuthentication yes', 'KerberosAuthentication no'],
  ['HostbasedAuthentication yes', 'HostbasedAuthentication no'],
  ['UseDNS yes', 'UseDNS no'],
  ['ExposeAuthInfo yes', 'ExposeAuthInfo no'],
  ['PermitTunnel point-to-point', 'PermitTunnel no'],
  ['HostCertificate /etc/ssh/host-cert.pub', 'HostKey /etc/ssh/ssh_host_ed25519_key'],
  ['HostKeyAgent /run/agent.sock', 'HostKeyAgent none'],
  ['ChannelTimeout session=5m', 'ChannelTimeout none'],
  ['UnusedConnectionTimeout 5m', 'UnusedConnectionTimeout none'],
  ['LogVerbose kex.c:*', 'LogVerbose none'],
  ['SecurityKeyProvider /usr/lib/sk.so', 'SecurityKeyProvider internal'],
  ['SyslogFacility LOCAL0', 'SyslogFacility AUTH'],
  ['FingerprintHash md5', 'FingerprintHash sha256'],
];

describe('unimplemented sshd_config values are refused', () => {
  for (const [refused, accepted] of CASES) {
    const keyword = refused.split(' ')[0]!;
    it(`${refused} is an error naming file and line; ${accepted} is accepted`, () => {
      const file = writeConfig(`# test\nPort 2222\n${refused}\n`);
      const error = refusal(() => loadSshdConfig(file));
      assert.ok(error instanceof SshdConfigErrors);
      assert.equal(error.file, file);
      assert.equal(error.line, 3);
      assert.deepEqual([...error.sshdLines], [
        `${file} line 3: Unsupported option ${keyword}`,
        `${file}: terminating, 1 bad configuration options`,
      ]);
      const check = checkSshdConfig(file);
      assert.equal(check.ok, false);
      assert.doesNotThrow(() => loadSshdConfig(writeConfig(`Port 2222\n${accepted}\n`)));
    });
  }

  it('refuses -o options with the command-line wording', () => {
    const error = refusal(() => parseSshdConfigText('', 'cfg', { options: ['PermitTunnel=yes'] }));
    assert.equal(error.file, 'command-line');
    assert.deepEqual([...error.sshdLines], ['command-line line 0: Unsupported option PermitTunnel']);
  });

  it('lets an earlier value win: -o PermitTunnel=no overrides the file', () => {
    const config = parseSshdConfigText('PermitTunnel yes\nUsePAM yes\n', 'cfg', { options: ['PermitTunnel no', 'UsePAM no'] });
    assert.equal(config.settings.permitTunnel, 'no');
    assert.equal(config.settings.usePAM, false);
    // A refused line after an accepted one of the same keyword changes nothing, so it is not refused.
    assert.doesNotThrow(() => parseSshdConfigText('UseDNS no\nUseDNS yes\n', 'cfg'));
  });

  it('refuses inside a Match block, whether or not it applies at startup', () => {
    const error = refusal(() => parseSshdConfigText('Port 22\nMatch User alice\n  PermitTunnel yes\n', 'cfg'));
    assert.equal(error.line, 3);
    assert.equal(error.sshdLines[0], 'cfg line 3: Unsupported option PermitTunnel');
    assert.doesNotThrow(() => parseSshdConfigText('Match User alice\n  PermitTunnel no\n', 'cfg'));
  });

  it('counts refusals with other bad lines, and reports them in included files', () => {
    const inc = writeConfig('PasswordAuthentication no\nPermitTunnel yes\n');
    const error = refusal(() => parseSshdConfigText(`Include ${inc}\nFoo bar\n`, 'main'));
    assert.deepEqual([...error.sshdLines], [`${inc} line 2: Unsupported option PermitTunnel`, `${inc}: terminating, 1 bad configuration options`]);
    const both = refusal(() => parseSshdConfigText('UseDNS yes\nFoo bar\n', 'main'));
    assert.deepEqual([...both.sshdLines], [
      'main line 1: Unsupported option UseDNS',
      'main: line 2: Bad configuration option: Foo',
      'main: terminating, 2 bad configuration options',
    ]);
  });

  it('accepts what sshd -T prints for the defaults, so its output reads back', () => {
    const printed = formatDashT(dashTSettings(parseSshdConfigText('HostKey /k\n', 'cfg')));
    const again = parseSshdConfigText(printed, 'reparsed');
    assert.equal(formatDashT(dashTSettings(again)), printed);
  });

  it('accepts keywords that have no effect while what they depend on is off', () => {
    assert.doesNotThrow(() => parseSshdConfigText(
      'KerberosOrLocalPasswd no\nGSSAPIStrictAcceptorCheck no\nIgnoreRhosts no\n' +
        'TrustedUserCAKeys /etc/ssh/ca.pub\nAuthorizedPrincipalsFile /etc/ssh/principals/%u\n',
      'cfg',
    ));
  });

  it('accepts anything with allowUnimplemented, for comparing the parser with sshd', () => {
    const config = parseSshdConfigText('PermitTunnel yes\nUsePAM yes\n', 'cfg', { allowUnimplemented: true });
    assert.equal(config.settings.permitTunnel, 'yes');
  });

  it('warns about deprecated keywords with sshd\'s words, and starts', () => {
    const config = parseSshdConfigText('UsePrivilegeSeparation sandbox\nProtocol 2\nKerberosGetAFSToken no\n', 'cfg');
    assert.deepEqual(config.warnings, ['cfg line 1: Deprecated option UsePrivilegeSeparation', 'cfg line 3: Unsupported option KerberosGetAFSToken']);
  });

  it('tether server refuses to start, printing the error like sshd', async () => {
    const file = writeConfig('Port 2222\nListenAddress 127.0.0.1\nPermitTunnel yes\n');
    for (const args of [['server', '-t', '-f', file], ['server', '-f', file]]) {
      const run = await runTether(args, { timeoutMs: 20_000, env: { TETHER_STATE_DIR: dir } });
      assert.equal(run.status, 255, run.stderr);
      assert.equal(run.stderr, `${file} line 3: Unsupported option PermitTunnel\n${file}: terminating, 1 bad configuration options\n`);
    }
  });
});
