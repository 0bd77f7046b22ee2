/**
 * The certificate codec (PROTOCOL.certkeys) against certificates made by the real `ssh-keygen -s`: every
 * field decoded, the CA signature verified, fingerprints as ssh-keygen -l prints them, tampering and
 * truncation refused with CertificateError, and sshkey_cert_check_authority's verdicts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeKey, tempDir } from '../../helpers/openssh.ts';
import {
  CertificateError,
  certificateAlgorithms,
  checkCertificateAuthority,
  describeCertificate,
  issueCertificate,
  optionText,
  parseCertificateBlob,
  parseCertificateLine,
  parseVerifiedCertificate,
  SSH_CERT_TYPE,
  textOptionData,
  verifyCertificateSignature,
} from '../../../src/keys/certificate.ts';
import { fingerprint, generatePrivateKey, KeyFormatError, parsePublicKeyLine } from '../../../src/keys/index.ts';

function sign(dir: string, ca: string, key: string, args: string[]): string {
  execFileSync('ssh-keygen', ['-q', '-s', ca, ...args, `${key}.pub`], { cwd: dir, stdio: 'pipe' });
  return readFileSync(`${key}-cert.pub`, 'utf8').trim();
}

function keygenFingerprint(path: string): string {
  return execFileSync('ssh-keygen', ['-l', '-f', path], { encoding: 'utf8' }).split(' ')[1]!;
}

describe('OpenSSH certificates made by ssh-keygen -s', () => {
  let dir: string;
  let ca: string;
  before(() => {
    dir = tempDir('tether-cert-');
    ca = makeKey(dir, 'ca', 'ed25519');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [type, bits, certType] of [
    ['ed25519', undefined, 'ssh-ed25519-cert-v01@openssh.com'],
    ['ecdsa', 384, 'ecdsa-sha2-nistp384-cert-v01@openssh.com'],
    ['rsa', 2048, 'ssh-rsa-cert-v01@openssh.com'],
  ] as const) {
    it(`decodes every field of a ${type} user certificate`, () => {
      const key = makeKey(dir, `user_${type}`, type, bits);
      const line = sign(dir, ca, key, [
        '-I', 'key id with spaces', '-z', '4242', '-n', 'alice,bob', '-V', '20200101000000:20400101000000',
        '-O', 'force-command=/bin/echo forced', '-O', 'source-address=127.0.0.0/8,::1', '-O', 'no-pty',
      ]);
      const { certificate, comment } = parseCertificateLine(line);
      assert.equal(certificate.type, certType);
      assert.equal(comment.length > 0, true);
      assert.equal(certificate.serial, 4242n);
      assert.equal(certificate.certType, SSH_CERT_TYPE.USER);
      assert.equal(certificate.keyId, 'key id with spaces');
      assert.deepEqual(certificate.principals, ['alice', 'bob']);
      // ssh-keygen reads -V times as local time.
      assert.equal(certificate.validAfter, BigInt(new Date(2020, 0, 1).getTime() / 1000));
      assert.equal(certificate.validBefore, BigInt(new Date(2040, 0, 1).getTime() / 1000));
      assert.deepEqual(certificate.criticalOptions.map((option) => [option.name, optionText(option)]), [
        ['force-command', '/bin/echo forced'],
        ['source-address', '127.0.0.0/8,::1'],
      ]);
      // -O no-pty removes permit-pty from the default extensions.
      assert.deepEqual(certificate.extensions.map((option) => option.name), [
        'permit-X11-forwarding', 'permit-agent-forwarding', 'permit-port-forwarding', 'permit-user-rc',
      ]);
      assert.ok(certificate.key.equals(parsePublicKeyLine(readFileSync(`${key}.pub`, 'utf8')).key));
      assert.ok(certificate.signatureKey.equals(parsePublicKeyLine(readFileSync(`${ca}.pub`, 'utf8')).key));
      assert.equal(certificate.signatureAlgorithm, 'ssh-ed25519');
      assert.ok(verifyCertificateSignature(certificate));
      // ssh-keygen -l on a certificate prints the certified key's fingerprint.
      assert.equal(fingerprint(certificate.key.blob), keygenFingerprint(`${key}-cert.pub`));
    });
  }

  it('offers an RSA certificate under the three RSA certificate algorithm names', () => {
    const key = makeKey(dir, 'rsa_names', 'rsa', 2048);
    const { certificate } = parseCertificateLine(sign(dir, ca, key, ['-I', 'r', '-n', 'x']));
    assert.deepEqual(certificateAlgorithms(certificate), [
      'rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-256-cert-v01@openssh.com', 'ssh-rsa-cert-v01@openssh.com',
    ]);
  });

  it('verifies a certificate signed by an RSA CA with rsa-sha2-512', () => {
    const rsaCa = makeKey(dir, 'rsa_ca', 'rsa', 2048);
    const key = makeKey(dir, 'by_rsa_ca', 'ed25519');
    const certificate = parseVerifiedCertificate(
      Buffer.from(sign(dir, rsaCa, key, ['-t', 'rsa-sha2-512', '-I', 'r', '-n', 'x']).split(' ')[1]!, 'base64'),
    );
    assert.equal(certificate.signatureAlgorithm, 'rsa-sha2-512');
  });

  it('names the certificate in logs as sshd does: type, fingerprint, ID, serial and CA', () => {
    const key = makeKey(dir, 'described', 'ed25519');
    const { certificate } = parseCertificateLine(sign(dir, ca, key, ['-I', 'regress user key', '-z', '7', '-n', 'u']));
    assert.equal(
      describeCertificate(certificate),
      `ED25519-CERT ${keygenFingerprint(`${key}.pub`)} ID regress user key (serial 7) CA ED25519 ${keygenFingerprint(`${ca}.pub`)}`,
    );
  });

  it('refuses a certificate whose signed part was altered, and every truncation', () => {
    const key = makeKey(dir, 'tampered', 'ed25519');
    const blob = Buffer.from(sign(dir, ca, key, ['-I', 'abc', '-n', 'root']).split(' ')[1]!, 'base64');
    const altered = Buffer.from(blob);
    const at = altered.indexOf(Buffer.from('abc'));
    altered[at] = 'x'.charCodeAt(0);
    assert.ok(!verifyCertificateSignature(parseCertificateBlob(altered)));
    assert.throws(() => parseVerifiedCertificate(altered), { name: 'CertificateError', message: 'incorrect signature' });
    for (let length = 0; length < blob.length; length += 7) {
      assert.throws(() => parseCertificateBlob(blob.subarray(0, length)), CertificateError);
    }
    assert.throws(() => parseCertificateBlob(Buffer.concat([blob, Buffer.from([0])])), KeyFormatError);
  });
});

describe('issueCertificate and checkCertificateAuthority', () => {
  const ca = generatePrivateKey('ed25519');
  const user = generatePrivateKey('ecdsa', 256);
  const now = 1_800_000_000n;

  it('round-trips through the decoder with a verifying signature', () => {
    const certificate = issueCertificate(
      {
        key: user.publicKey, serial: 9n, keyId: 'id', principals: ['alice'], validAfter: now - 10n, validBefore: now + 10n,
        criticalOptions: [{ name: 'force-command', data: textOptionData('true') }],
        extensions: [{ name: 'permit-pty', data: Buffer.alloc(0) }],
      },
      ca,
    );
    const decoded = parseVerifiedCertificate(certificate.blob);
    assert.equal(decoded.type, 'ecdsa-sha2-nistp256-cert-v01@openssh.com');
    assert.deepEqual(
      [decoded.serial, decoded.keyId, decoded.principals, decoded.validAfter, decoded.validBefore],
      [9n, 'id', ['alice'], now - 10n, now + 10n],
    );
    assert.equal(optionText(decoded.criticalOptions[0]!), 'true');
    assert.ok(decoded.key.equals(user.publicKey));
    // OpenSSH reads it too (ssh-keygen -L checks the CA signature as it loads the certificate).
    const dir = tempDir('tether-cert-');
    try {
      const path = join(dir, 'issued-cert.pub');
      writeFileSync(path, `${decoded.type} ${decoded.blob.toString('base64')}\n`);
      const listed = execFileSync('ssh-keygen', ['-L', '-f', path], { encoding: 'utf8' });
      assert.match(listed, /Type: ecdsa-sha2-nistp256-cert-v01@openssh\.com user certificate/);
      assert.match(listed, /Serial: 9/);
      assert.match(listed, /force-command true/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives sshd\'s reasons for a certificate that may not be used', () => {
    const issue = (fields: Partial<Parameters<typeof issueCertificate>[0]>) =>
      issueCertificate({ key: user.publicKey, principals: ['alice'], validAfter: now - 10n, validBefore: now + 10n, ...fields }, ca);
    const user_ = { wantHost: false, requirePrincipal: true, now };
    assert.equal(checkCertificateAuthority(issue({}), { ...user_, name: 'alice' }), undefined);
    assert.equal(checkCertificateAuthority(issue({}), { ...user_, name: 'bob' }), 'Certificate invalid: name is not a listed principal');
    assert.equal(checkCertificateAuthority(issue({ validBefore: now }), user_), 'Certificate invalid: expired');
    assert.equal(checkCertificateAuthority(issue({ validAfter: now + 1n }), user_), 'Certificate invalid: not yet valid');
    assert.equal(checkCertificateAuthority(issue({ principals: [] }), user_), 'Certificate lacks principal list');
    assert.equal(checkCertificateAuthority(issue({ principals: [] }), { ...user_, requirePrincipal: false, name: 'x' }), undefined);
    assert.equal(checkCertificateAuthority(issue({ certType: SSH_CERT_TYPE.HOST }), user_), 'Certificate invalid: not a user certificate');
  });

  it('refuses a certificate type that is neither user nor host', () => {
    assert.throws(() => issueCertificate({ key: user.publicKey, certType: 3 }, ca), { name: 'CertificateError', message: 'unknown certificate type' });
  });
});

describe('parseCertificateLine', () => {
  it('refuses a plain key line and a type that disagrees with the blob', () => {
    const key = generatePrivateKey('ed25519');
    assert.throws(() => parseCertificateLine(key.publicKey.toLine()), KeyFormatError);
    const certificate = issueCertificate({ key: key.publicKey }, key);
    assert.throws(
      () => parseCertificateLine(`ecdsa-sha2-nistp256-cert-v01@openssh.com ${certificate.blob.toString('base64')}`),
      /key type does not match/,
    );
  });
});
