// Configurations sshd refuses (or warns about) must be refused by Tether with sshd's exact messages, naming
// the file and line; `sshd -t` is the reference.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkSshdConfig, loadSshdConfig, SshdConfigError, SshdConfigErrors } from '../../../src/config/sshd/index.ts';
import { makeScratch, runSshd, type Scratch } from './sshd-runner.ts';

let scratch: Scratch;
before(() => {
  scratch = makeScratch();
});
after(() => scratch.remove());

let counter = 0;
function writeConfig(text: string): string {
  const file = join(scratch.dir, `case-${++counter}.conf`);
  writeFileSync(file, text);
  return file;
}

/** Runs `sshd -t` and checkSshdConfig on the same file; both must refuse it with the same lines. */
function expectSameRefusal(text: string, extra: { options?: string[] } = {}): SshdConfigError {
  const file = writeConfig(text);
  const real = runSshd(file, scratch.hostKey, { mode: 't', extra: (extra.options ?? []).flatMap((o) => ['-o', o]) });
  assert.notEqual(real.status, 0, `sshd accepted:\n${text}`);
  const check = checkSshdConfig(file, { hostKeys: [scratch.hostKey], options: extra.options ?? [] });
  assert.equal(check.ok, false, `Tether accepted:\n${text}`);
  const error = check.errors[0] as SshdConfigError;
  assert.deepEqual([...error.sshdLines], real.stderrLines);
  return error;
}

const CASES: Array<[string, string, RegExp]> = [
  ['unknown keyword', 'Port 22\nFoo bar\n', /: line 2: Bad configuration option: Foo$/m],
  ['global keyword inside Match', 'Match User x\n  Port 2222\n', /line 2: Directive 'Port' is not allowed within a Match block$/],
  ['unknown keyword inside Match', 'Match User x\n  Foo bar\n', /line 2: Directive 'Foo' is not allowed/],
  ['bad flag value', 'X11Forwarding maybe\n', /line 1: unsupported option "maybe"\.$/],
  ['bad Match attribute', 'Match Foo bar\n', /line 1: Bad Match condition$/],
  ['Match without criteria value', 'Match User\n', /line 1: Bad Match condition$/],
  ['all combined with others', 'Match All User x\n', /line 1: Bad Match condition$/],
  ['CIDR with host bits', 'Match Address 10.0.0.1/8\n', /Invalid Match address argument '10\.0\.0\.1\/8' at line 1/],
  ['bad LocalPort', 'Match LocalPort nope\n', /line 1: Bad Match condition$/],
  ['bad AllowUsers host part', 'AllowUsers a@10.0.0.1/8\n', /line 1: invalid AllowUsers pattern: "a@10\.0\.0\.1\/8"$/],
  ['extra arguments', 'Port 22 23\n', /line 1: keyword Port extra arguments at end of line$/m],
  ['no argument', 'PasswordAuthentication\n', /line 1: no argument after keyword "PasswordAuthentication"$/m],
  ['bad time', 'LoginGraceTime 5x\n', /line 1: invalid time value\.$/],
  ['bad integer', 'MaxAuthTries -1\n', /line 1: MaxAuthTries integer value too small\.$/],
  ['bad cipher', 'Ciphers aes128-ctr,bogus-cipher\n', /line 1: Bad SSH2 cipher spec 'aes128-ctr,bogus-cipher'\.$/],
  ['bad kex', 'KexAlgorithms +bogus\n', /line 1: Bad SSH2 KexAlgorithms '\+bogus'\.$/],
  ['bad key types', 'PubkeyAcceptedAlgorithms +ssh-bogus\n', /line 1: Bad key types '\+ssh-bogus'\.$/],
  ['several recoverable errors', 'Foo bar\nBaz\nPort 22 23\n', /terminating, 3 bad configuration options$/],
  ['recoverable then fatal', 'Foo bar\nPort abc\n', /line 2: Badly formatted port number\.$/],
  ['unknown auth method', 'AuthenticationMethods publickey,bogus\n', /line 1: invalid AuthenticationMethods method list\.$/],
  ['unsatisfiable auth methods', 'AuthenticationMethods publickey\nPubkeyAuthentication no\n', /cannot be satisfied/],
  ['"any" after a global list', 'AuthenticationMethods publickey\nMatch User x\n  AuthenticationMethods any\n', /"any" must appear alone/],
  ['duplicate subsystem', 'Subsystem sftp /a\nSubsystem sftp /b\n', /line 2: Subsystem 'sftp' already defined\.$/],
  ['bad MaxStartups', 'MaxStartups 10:30\n', /line 1: Invalid MaxStartups spec\.$/],
  ['small RekeyLimit', 'RekeyLimit 8\n', /line 1: RekeyLimit too small$/],
  ['bad PermitOpen port', 'PermitOpen host:abc\n', /line 1: PermitOpen bad port number$/],
  ['bad PermitTunnel', 'PermitTunnel maybe\n', /line 1: bad PermitTunnel argument maybe$/],
  ['unterminated quote', 'Banner "/etc/issue\n', /line 1: invalid quotes$/m],
  ['RDomain on Linux', 'RDomain 1\n', /setting RDomain not supported on this platform\./],
  ['command without user', 'AuthorizedKeysCommand /bin/true\n', /AuthorizedKeysCommand set without AuthorizedKeysCommandUser/],
];

describe('configuration errors match sshd -t', () => {
  for (const [title, text, pattern] of CASES) {
    it(title, () => {
      const error = expectSameRefusal(text);
      assert.match(error.message, pattern);
    });
  }

  it('names the file and line in the error object', () => {
    const error = expectSameRefusal('# comment\n\nPasswordAuthentication yes\nBogusKeyword 1\n');
    assert.ok(error instanceof SshdConfigErrors);
    assert.equal(error.line, 4);
    assert.match(error.file, /case-\d+\.conf$/);
    assert.match(error.message, new RegExp(`^${error.file}: line 4: Bad configuration option: BogusKeyword$`, 'm'));
  });

  it('names the included file when the error is there', () => {
    const dir = join(scratch.dir, 'inc');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '50-bad.conf'), 'PasswordAuthentication no\n\nMaxSessions lots\n');
    const error = expectSameRefusal(`Include ${dir}/*.conf\n`);
    assert.equal(error.file, join(dir, '50-bad.conf'));
    assert.equal(error.line, 3);
    assert.match(error.message, /50-bad\.conf line 3: MaxSessions integer value invalid\.$/);
  });

  it('refuses bad -o options like sshd', () => {
    const error = expectSameRefusal('', { options: ['Foo bar'] });
    assert.equal(error.file, 'command-line');
    const other = expectSameRefusal('', { options: ['Include /etc/ssh/x'] });
    assert.match(other.message, /Include directive not supported as a command-line option/);
  });

  it('reports a missing file like sshd', () => {
    const file = join(scratch.dir, 'does-not-exist.conf');
    const real = runSshd(file, scratch.hostKey, { mode: 't' });
    assert.notEqual(real.status, 0);
    assert.throws(() => loadSshdConfig(file), (e: unknown) => {
      assert.ok(e instanceof SshdConfigError);
      assert.deepEqual([...e.sshdLines], real.stderrLines);
      return true;
    });
  });

  it('accepts deprecated keywords with sshd\'s warnings', () => {
    const file = writeConfig('UsePrivilegeSeparation sandbox\nProtocol 2\nRSAAuthentication no\nKerberosGetAFSToken no\n');
    const real = runSshd(file, scratch.hostKey, { mode: 't' });
    assert.equal(real.status, 0);
    const check = checkSshdConfig(file, { hostKeys: [scratch.hostKey] });
    assert.equal(check.ok, true);
    assert.deepEqual(check.warnings, real.stderrLines);
    assert.equal(check.warnings.length, 3);
    assert.match(check.warnings[0] as string, /line 1: Deprecated option UsePrivilegeSeparation$/);
    assert.match(check.warnings[2] as string, /line 4: Unsupported option KerberosGetAFSToken$/);
  });
});
