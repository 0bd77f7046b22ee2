/** Unit tests for the server's small parts: moduli, terminal modes, password files, algorithms (MaxStartups: max-startups.test.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { moduliGroupChooser, parseModuli } from '../../../src/server/moduli.ts';
import { sttyArguments } from '../../../src/sessions/terminal-modes.ts';
import { encodeTerminalModes, TTY_OP } from '../../../src/connection/session-requests.ts';
import { hashPassword, PasswordFileVerifier, readPasswordFile, setPassword, verifyPasswordHash } from '../../../src/auth/server-password-file.ts';
import { serverAlgorithms, AlgorithmConfigError } from '../../../src/server/algorithms.ts';
import { parseSshdConfigText } from '../../../src/config/sshd/index.ts';
import { generatePrivateKey } from '../../../src/keys/index.ts';
import { defaultConfigText } from '../../../src/server/default-config.ts';
import { userSpecificDelayMs } from '../../../src/auth/server-auth.ts';

const MODULI = [
  '# Time Type Tests Tries Size Generator Modulus',
  `20230101000000 2 6 100 2047 2 ${'F'.repeat(512)}`,
  `20230101000000 2 6 100 3071 2 ${'E'.repeat(768)}`,
  `20230101000000 2 6 100 3071 5 ${'D'.repeat(768)}`,
  `20230101000000 2 6 100 4095 2 ${'C'.repeat(1024)}`,
  `20230101000000 2 1 100 4095 2 ${'B'.repeat(1024)}`, // composite: skipped
  `20230101000000 1 6 100 4095 2 ${'A'.repeat(1024)}`, // not a safe prime: skipped
  'garbage line',
].join('\n');

describe('moduli', () => {
  it('keeps only tested safe primes', () => {
    const entries = parseModuli(MODULI);
    assert.deepEqual(entries.map((e) => e.bits), [2048, 3072, 3072, 4096]);
  });
  it('picks the smallest size at least the preferred one, within the range', () => {
    const choose = moduliGroupChooser(parseModuli(MODULI));
    assert.equal(choose(2048, 3072, 8192).prime.length * 8, 3072);
    assert.equal(choose(2048, 2500, 8192).prime.length * 8, 3072);
    assert.equal(choose(2048, 8192, 8192).prime.length * 8, 4096, 'largest below when nothing is big enough');
    // No group below 3072 bits, from the file or the RFC 3526 fallback (ssh-audit warns of 2048).
    assert.equal(choose(2048, 2048, 8192).prime.length * 8, 3072);
    assert.throws(() => choose(2048, 2048, 2048), /no DH group fits/);
  });
  it('falls back to the RFC 3526 groups when the file has nothing suitable', () => {
    const choose = moduliGroupChooser([]);
    assert.equal(choose(2048, 8192, 8192).prime.length * 8, 8192);
  });
});

describe('terminal modes to stty', () => {
  it('maps characters, flags and disabled characters', () => {
    const modes = encodeTerminalModes([
      [TTY_OP.VINTR, 5],
      [TTY_OP.VEOL, 255],
      [TTY_OP.ECHO, 0],
      [TTY_OP.ICANON, 1],
      [TTY_OP.CS8, 1],
      [TTY_OP.ISPEED, 38400],
    ]);
    assert.deepEqual(sttyArguments(modes), ['intr', '0x05', 'eol', 'undef', '-echo', 'icanon', 'cs8']);
  });
});

describe('password file', () => {
  it('stores scrypt hashes 0600 and verifies in constant time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-pw-'));
    try {
      const path = join(dir, 'passwd');
      await setPassword(path, 'alice', 'open sesame');
      await setPassword(path, 'bob', 'hunter2');
      assert.equal(statSync(path).mode & 0o777, 0o600);
      const text = readFileSync(path, 'utf8');
      assert.match(text, /^alice:\$scrypt\$32768\$8\$1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/m);
      assert.doesNotMatch(text, /open sesame|hunter2/);
      const verifier = new PasswordFileVerifier(path);
      assert.equal(await verifier.verify('alice', 'open sesame'), true);
      assert.equal(await verifier.verify('alice', 'hunter2'), false);
      assert.equal(await verifier.verify('carol', 'open sesame'), false);
      assert.equal(await verifier.verify(undefined, 'open sesame'), false);
      assert.equal(readPasswordFile(path).size, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('rejects malformed or absurd hashes', async () => {
    assert.equal(await verifyPasswordHash('x', '$scrypt$3$8$1$AAAA$AAAA'), false);
    assert.equal(await verifyPasswordHash('x', '$scrypt$1073741824$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), false);
    assert.equal(await verifyPasswordHash('x', await hashPassword('x')), true);
  });
});

describe('algorithms offered', () => {
  it('narrows the configured lists to what is implemented, in order', () => {
    const config = parseSshdConfigText('Ciphers aes256-ctr,3des-cbc,aes128-gcm@openssh.com\nMACs hmac-sha1,hmac-sha2-512\n', 'test');
    const algorithms = serverAlgorithms(config.settings, [generatePrivateKey('ed25519')]);
    assert.deepEqual(algorithms.cipher, ['aes256-ctr', 'aes128-gcm@openssh.com']);
    assert.deepEqual(algorithms.mac, ['hmac-sha2-512']);
    assert.deepEqual(algorithms.hostKey, ['ssh-ed25519']);
    assert.ok(algorithms.kex.includes('sntrup761x25519-sha512@openssh.com'), 'sntrup761 is implemented');
  });
  it('refuses a list with nothing we implement', () => {
    const config = parseSshdConfigText('Ciphers 3des-cbc\n', 'test');
    assert.throws(() => serverAlgorithms(config.settings, [generatePrivateKey('ed25519')]), AlgorithmConfigError);
  });
  it('the embedded default parses as sshd_config and listens on loopback only', () => {
    const config = parseSshdConfigText(defaultConfigText({ port: 2222, stateDir: '/tmp/state' }), 'default');
    assert.deepEqual(config.settings.listenAddresses.map((a) => `${a.address}:${a.port}`), ['127.0.0.1:2222']);
    assert.ok(!config.settings.kexAlgorithms.some((k) => k.includes('nistp')), 'no NIST curves');
    assert.ok(config.settings.macs.every((m) => m.endsWith('-etm@openssh.com')), 'encrypt-then-MAC only');
    assert.equal(config.settings.kexAlgorithms[0], 'mlkem768x25519-sha256', 'post-quantum first');
  });
});

describe('failure delay', () => {
  it('is 5–10 ms and stable per user', () => {
    const a = userSpecificDelayMs('alice');
    assert.ok(a >= 5 && a <= 10);
    assert.equal(userSpecificDelayMs('alice'), a);
  });
});
