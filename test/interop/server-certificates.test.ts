/**
 * OpenSSH user certificates (PROTOCOL.certkeys) on `tether server` with the stock ssh client, and from
 * `tether ssh` to a stock sshd: TrustedUserCAKeys with or without AuthorizedPrincipalsFile, `cert-authority`
 * lines with principals=, the certificate's force-command and source-address and its permit-* extensions,
 * AuthorizedPrincipalsCommand with its tokens, RevokedKeys, AuthenticationMethods publickey,publickey with a key and its own certificate, and the
 * refusals (expired, wrong principal, untrusted CA), each checked in sshd's log words.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ssh, startTestServer, TEST_USER, type TestServer } from './server-harness.ts';
import { makeKey, publicKeyLine, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { runTether } from '../helpers/tether.ts';
import { fingerprint, parsePublicKeyLine } from '../../src/keys/index.ts';

const options = ['-o', 'IdentitiesOnly=yes', '-o', 'PreferredAuthentications=publickey', '-o', 'BatchMode=yes'];

/** ssh-keygen -s: signs `key`.pub, leaving `key`-cert.pub. */
function certify(ca: string, key: string, args: string[]): void {
  execFileSync('/usr/bin/ssh-keygen', ['-q', '-s', ca, ...args, `${key}.pub`], { stdio: 'pipe' });
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const sha256Of = (key: string): string => escape(fingerprint(parsePublicKeyLine(publicKeyLine(key)).key.blob, 'sha256'));

describe('tether server: TrustedUserCAKeys without AuthorizedPrincipalsFile', () => {
  let test: TestServer;
  let ca: string;
  let krl: string;
  before(async () => {
    const dir = tempDir('tether-certs-');
    ca = makeKey(dir, 'user_ca', 'ed25519');
    krl = join(dir, 'revoked.krl');
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-k', '-f', krl]);
    test = await startTestServer({ config: [`TrustedUserCAKeys ${ca}.pub`, `RevokedKeys ${krl}`] });
    writeFileSync(test.authorizedKeys, '');
  });
  after(async () => {
    await test?.stop();
  });

  const login = (key: string, command = 'echo in', extra: string[] = []) =>
    ssh(test, [...test.sshBase(), ...options, ...extra, '-i', key, `${TEST_USER}@127.0.0.1`, command]);

  for (const [type, bits] of [['ed25519', undefined], ['ecdsa', 521], ['rsa', 2048]] as const) {
    it(`accepts a ${type} certificate naming the user, logged as sshd logs it`, async () => {
      const key = makeKey(test.dir, `cert_${type}`, type, bits);
      certify(ca, key, ['-I', `cert for ${type}`, '-z', '77', '-n', TEST_USER]);
      test.logLines.length = 0;
      const result = await login(key);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.toString(), 'in\n');
      const label = { ed25519: 'ED25519', ecdsa: 'ECDSA', rsa: 'RSA' }[type];
      await test.waitForLog(
        new RegExp(`^Accepted certificate ID "cert for ${type}" \\(serial 77\\) signed by ED25519 CA ${sha256Of(ca)} via ${escape(ca)}\\.pub$`),
      );
      await test.waitForLog(
        new RegExp(
          `^Accepted publickey for ${TEST_USER} from 127\\.0\\.0\\.1 port \\d+ ssh2: ${label}-CERT ${sha256Of(key)} ` +
            `ID cert for ${type} \\(serial 77\\) CA ED25519 ${sha256Of(ca)}$`,
        ),
      );
    });
  }

  it('refuses a certificate for another principal', async () => {
    const key = makeKey(test.dir, 'id_other_principal', 'ed25519');
    certify(ca, key, ['-I', 'other', '-n', 'someone-else']);
    test.logLines.length = 0;
    const result = await login(key);
    assert.equal(result.status, 255);
    assert.match(result.stderr, /Permission denied \(publickey/);
    await test.waitForLog(/^Certificate invalid: name is not a listed principal$/);
  });

  it('refuses an expired certificate and one not yet valid', async () => {
    const expired = makeKey(test.dir, 'id_expired', 'ed25519');
    certify(ca, expired, ['-I', 'expired', '-n', TEST_USER, '-V', '-2d:-1d']);
    test.logLines.length = 0;
    assert.equal((await login(expired)).status, 255);
    await test.waitForLog(/^Certificate invalid: expired$/);
    const future = makeKey(test.dir, 'id_future', 'ed25519');
    certify(ca, future, ['-I', 'future', '-n', TEST_USER, '-V', '+1d:+2d']);
    test.logLines.length = 0;
    assert.equal((await login(future)).status, 255);
    await test.waitForLog(/^Certificate invalid: not yet valid$/);
  });

  it('refuses a certificate from a CA that is not trusted', async () => {
    const rogue = makeKey(test.dir, 'rogue_ca', 'ed25519');
    const key = makeKey(test.dir, 'id_rogue', 'ed25519');
    certify(rogue, key, ['-I', 'rogue', '-n', TEST_USER]);
    test.logLines.length = 0;
    const result = await login(key);
    assert.equal(result.status, 255);
    assert.ok(!test.logLines.some((line) => line.startsWith('Accepted')), test.logLines.join('\n'));
  });

  it('runs the certificate\'s force-command and holds it to its source-address', async () => {
    const forced = makeKey(test.dir, 'id_forced', 'ed25519');
    certify(ca, forced, ['-I', 'forced', '-n', TEST_USER, '-O', 'force-command=echo forced by cert']);
    const result = await login(forced, 'echo asked');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'forced by cert\n');

    const elsewhere = makeKey(test.dir, 'id_elsewhere', 'ed25519');
    certify(ca, elsewhere, ['-I', 'elsewhere', '-n', TEST_USER, '-O', 'source-address=10.9.8.0/24']);
    test.logLines.length = 0;
    assert.equal((await login(elsewhere)).status, 255);
    await test.waitForLog(
      new RegExp(`^cert: Authentication tried for ${TEST_USER} with valid certificate but not from a permitted source address \\(127\\.0\\.0\\.1\\)\\.$`),
    );
    await test.waitForLog(/^Refused by certificate options$/);
  });

  it('grants a pty only when the certificate has permit-pty', async () => {
    const noPty = makeKey(test.dir, 'id_nopty', 'ed25519');
    certify(ca, noPty, ['-I', 'nopty', '-n', TEST_USER, '-O', 'no-pty']);
    const refused = await login(noPty, 'tty', ['-tt']);
    assert.match(refused.stderr, /PTY allocation request failed/);
    const withPty = makeKey(test.dir, 'id_pty', 'ed25519');
    certify(ca, withPty, ['-I', 'pty', '-n', TEST_USER]);
    const granted = await login(withPty, 'tty', ['-tt']);
    assert.equal(granted.status, 0, granted.stderr);
    assert.match(granted.stdout.toString(), /^\/dev\/pts\//);
  });

  it('refuses a certificate whose serial a KRL revokes, and every certificate of a revoked CA', async () => {
    const key = makeKey(test.dir, 'id_revoked', 'ed25519');
    certify(ca, key, ['-I', 'revoked', '-z', '13', '-n', TEST_USER]);
    const spec = join(test.dir, 'krl-spec');
    writeFileSync(spec, 'serial: 10-20\n');
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-k', '-f', krl, '-s', `${ca}.pub`, spec]);
    test.logLines.length = 0;
    assert.equal((await login(key)).status, 255);
    await test.waitForLog(new RegExp(`^Authentication key ED25519-CERT ${sha256Of(key)} revoked by file ${escape(krl)}$`));
    const other = makeKey(test.dir, 'id_not_revoked', 'ed25519');
    certify(ca, other, ['-I', 'fine', '-z', '30', '-n', TEST_USER]);
    assert.equal((await login(other)).status, 0);
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-k', '-f', krl, `${ca}.pub`]);
    test.logLines.length = 0;
    assert.equal((await login(other)).status, 255);
    await test.waitForLog(/revoked by file/);
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-k', '-f', krl]);
  });
});

describe('tether server: AuthorizedPrincipalsFile and cert-authority lines', () => {
  let test: TestServer;
  let ca: string;
  let principals: string;
  before(async () => {
    const dir = tempDir('tether-certs-');
    ca = makeKey(dir, 'user_ca', 'ed25519');
    principals = join(dir, `principals_${TEST_USER}`);
    test = await startTestServer({
      config: [`TrustedUserCAKeys ${ca}.pub`, `AuthorizedPrincipalsFile ${join(dir, 'principals_%u')}`, 'AuthenticationMethods publickey,publickey'],
    });
  });
  after(async () => {
    await test?.stop();
  });

  it('needs a principal from the file (not the user name) and applies the line\'s options', async () => {
    const key = makeKey(test.dir, 'id_cert', 'ed25519');
    const plain = makeKey(test.dir, 'id_plain', 'ed25519');
    certify(ca, key, ['-I', 'principal test', '-n', `${TEST_USER},deploy`]);
    writeFileSync(test.authorizedKeys, `${publicKeyLine(plain)}\n`);
    const login = () =>
      ssh(test, [...test.sshBase(), ...options, '-i', key, '-i', plain, `${TEST_USER}@127.0.0.1`, 'echo asked']);

    writeFileSync(principals, 'nobody-here\n');
    test.logLines.length = 0;
    assert.equal((await login()).status, 255);
    await test.waitForLog(/^Certificate does not contain an authorized principal$/);

    writeFileSync(principals, '# comment\ncommand="echo from principals" deploy\n');
    const result = await login();
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'from principals\n');
  });

  it('counts a certificate and its own key as one key for publickey,publickey', async () => {
    const key = makeKey(test.dir, 'id_twice', 'ed25519');
    certify(ca, key, ['-I', 'twice', '-n', 'deploy']);
    const copy = join(test.dir, 'cert_id_twice');
    copyFileSync(key, copy);
    copyFileSync(`${key}-cert.pub`, `${copy}.pub`);
    writeFileSync(principals, 'deploy\n');
    writeFileSync(test.authorizedKeys, `${publicKeyLine(key)}\n`);
    test.logLines.length = 0;
    const result = await ssh(test, [...test.sshBase(), ...options, '-i', copy, '-i', key, `${TEST_USER}@127.0.0.1`, 'true']);
    assert.equal(result.status, 255, result.stdout.toString());
    await test.waitForLog(/^Partial publickey for \S+ from 127\.0\.0\.1 port \d+ ssh2: ED25519-CERT /);
    await test.waitForLog(/^refusing previously-used ED25519 key$/);
  });

  it('accepts a cert-authority line of authorized_keys when principals= names one of the certificate\'s', async () => {
    const key = makeKey(test.dir, 'id_ak', 'ed25519');
    const plain = makeKey(test.dir, 'id_ak_plain', 'ed25519');
    certify(ca, key, ['-I', 'via authorized_keys', '-n', 'ops']);
    writeFileSync(principals, '');
    const login = () => ssh(test, [...test.sshBase(), ...options, '-i', key, '-i', plain, `${TEST_USER}@127.0.0.1`, 'echo in']);
    writeFileSync(test.authorizedKeys, `cert-authority,principals="dev" ${publicKeyLine(ca)}\n${publicKeyLine(plain)}\n`);
    test.logLines.length = 0;
    assert.equal((await login()).status, 255);
    writeFileSync(test.authorizedKeys, `cert-authority,principals="dev,ops" ${publicKeyLine(ca)}\n${publicKeyLine(plain)}\n`);
    test.logLines.length = 0;
    const result = await login();
    assert.equal(result.status, 0, result.stderr);
    await test.waitForLog(
      new RegExp(`^Accepted certificate ID "via authorized_keys" \\(serial 0\\) signed by CA ED25519 ${sha256Of(ca)} found at ${escape(test.authorizedKeys)}:1$`),
    );
  });
});

describe('tether server: AuthorizedPrincipalsCommand', () => {
  let test: TestServer;
  let ca: string;
  // The program must sit where only root can write (as sshd's safe_path requires); /tmp does not qualify.
  const commandDir = mkdtempSync('/run/tether-principals-command-');
  const program = join(commandDir, 'principals');
  before(async () => {
    chmodSync(commandDir, 0o755);
    const dir = tempDir('tether-certs-');
    ca = makeKey(dir, 'user_ca', 'ed25519');
    // Prints its arguments to stderr (logged by the server) and the principal the test expects.
    writeFileSync(program, '#!/bin/sh\necho "args: $*" >&2\necho "ops"\n', { mode: 0o755 });
    test = await startTestServer({
      config: [
        `TrustedUserCAKeys ${ca}.pub`,
        `AuthorizedPrincipalsCommand ${program} %u %t %T %i %s %F %f %K`,
        'AuthorizedPrincipalsCommandUser nobody',
      ],
    });
    writeFileSync(test.authorizedKeys, '');
  });
  after(async () => {
    await test?.stop();
    rmSync(commandDir, { recursive: true, force: true });
  });

  it('runs the command with the certificate\'s tokens and takes a principal it prints', async () => {
    const key = makeKey(test.dir, 'id_cmd', 'ed25519');
    certify(ca, key, ['-I', 'cmd', '-z', '99', '-n', 'ops']);
    test.logLines.length = 0;
    const result = await ssh(test, [...test.sshBase(), ...options, '-i', key, `${TEST_USER}@127.0.0.1`, 'echo in']);
    assert.equal(result.status, 0, result.stderr);
    const caBase64 = escape(publicKeyLine(ca).split(' ')[1]!);
    await test.waitForLog(
      new RegExp(
        `^AuthorizedPrincipalsCommand stderr: args: ${TEST_USER} ssh-ed25519-cert-v01@openssh\\.com ssh-ed25519 cmd 99 ` +
          `${sha256Of(ca)} ${sha256Of(key)} ${caBase64}$`,
      ),
    );
  });

  it('refuses a certificate none of whose principals the command prints', async () => {
    const key = makeKey(test.dir, 'id_cmd_other', 'ed25519');
    certify(ca, key, ['-I', 'cmd other', '-n', TEST_USER]);
    test.logLines.length = 0;
    const result = await ssh(test, [...test.sshBase(), ...options, '-i', key, `${TEST_USER}@127.0.0.1`, 'true']);
    assert.equal(result.status, 255);
    await test.waitForLog(/^Certificate does not contain an authorized principal$/);
  });
});

describe('tether ssh with a certificate against stock sshd (TrustedUserCAKeys)', () => {
  let sshd: RunningSshd;
  let dir: string;
  let ca: string;
  before(async () => {
    dir = tempDir('tether-certs-client-');
    ca = makeKey(dir, 'user_ca', 'ed25519');
    sshd = await startSshd({ config: [`TrustedUserCAKeys ${ca}.pub`] });
  });
  after(async () => {
    await sshd?.stop();
  });

  const login = (key: string) =>
    runTether(
      ['ssh', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, ...options,
        '-p', String(sshd.port), '-i', key, 'root@127.0.0.1', 'echo in'],
      { env: { HOME: dir, SSH_AUTH_SOCK: '' } },
    );

  it('logs in with the identity file\'s certificate', async () => {
    const key = makeKey(dir, 'id_good', 'ed25519');
    certify(ca, key, ['-I', 'tether client', '-z', '5', '-n', 'root']);
    const result = await login(key);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'in\n');
    assert.match(sshd.log(), /Accepted publickey for root from 127\.0\.0\.1 port \d+ ssh2: ED25519-CERT SHA256:\S+ ID tether client \(serial 5\) CA ED25519/);
  });

  it('is refused with an expired certificate, a wrong principal or an untrusted CA', async () => {
    const expired = makeKey(dir, 'id_expired', 'ed25519');
    certify(ca, expired, ['-I', 'expired', '-n', 'root', '-V', '-2d:-1d']);
    const wrong = makeKey(dir, 'id_wrong', 'ed25519');
    certify(ca, wrong, ['-I', 'wrong', '-n', 'not-root']);
    const rogueCa = makeKey(dir, 'rogue_ca', 'ed25519');
    const rogue = makeKey(dir, 'id_rogue', 'ed25519');
    certify(rogueCa, rogue, ['-I', 'rogue', '-n', 'root']);
    for (const key of [expired, wrong, rogue]) {
      const result = await login(key);
      assert.equal(result.status, 255, `${key}: ${result.stdout.toString()}`);
      assert.match(result.stderr, /Permission denied \(publickey/);
    }
    const log = sshd.log();
    assert.match(log, /Certificate invalid: expired/);
    assert.match(log, /Certificate invalid: name is not a listed principal/);
  });
});
