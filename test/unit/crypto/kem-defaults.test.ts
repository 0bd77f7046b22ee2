/**
 * Where the post-quantum methods stand in what each side offers by default: the client proposes OpenSSH
 * 10's lists (ML-KEM first, AES-GCM before AES-CTR) while `ssh -G` keeps 9.2's; the server offers ML-KEM
 * ahead of sshd 9.2's default list while `sshd -T` keeps printing that list; explicit lists stay as written.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALGORITHM_OPTIONS, clientProposal, resolveAlgorithmOption } from '../../../src/config/ssh/index.ts';
import { KEX_METHODS } from '../../../src/crypto/kex/methods.ts';
import { CIPHERS } from '../../../src/crypto/cipher/index.ts';
import { parseSshdConfigText } from '../../../src/config/sshd/index.ts';
import { serverAlgorithms } from '../../../src/server/algorithms.ts';
import { generatePrivateKey } from '../../../src/keys/index.ts';

const kexProposal = (spec?: string) => clientProposal('kexAlgorithms', resolveAlgorithmOption('kexAlgorithms', spec), KEX_METHODS.keys());
const cipherProposal = (spec?: string) => clientProposal('ciphers', resolveAlgorithmOption('ciphers', spec), CIPHERS.keys());

describe('client proposal', () => {
  test('unset: OpenSSH 10\'s order, while the resolved (-G) list stays 9.2\'s', () => {
    assert.equal(resolveAlgorithmOption('kexAlgorithms', undefined)[0], 'sntrup761x25519-sha512');
    assert.deepEqual(kexProposal().slice(0, 4), [
      'mlkem768x25519-sha256', 'sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com', 'curve25519-sha256',
    ]);
    assert.deepEqual(cipherProposal(), [
      'chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr',
    ]);
    assert.deepEqual([...ALGORITHM_OPTIONS.ciphers.defaults].slice(0, 2), ['chacha20-poly1305@openssh.com', 'aes128-ctr']);
  });

  test('+ appends to OpenSSH 10\'s list; explicit and - lists are proposed as configured', () => {
    const plus = kexProposal('+diffie-hellman-group14-sha256,curve25519-sha256');
    assert.equal(plus[0], 'mlkem768x25519-sha256');
    assert.equal(plus.filter((k) => k === 'curve25519-sha256').length, 1);
    assert.deepEqual(kexProposal('curve25519-sha256,sntrup761x25519-sha512'), ['curve25519-sha256', 'sntrup761x25519-sha512']);
    assert.ok(!kexProposal('-sntrup*').includes('mlkem768x25519-sha256'), 'a removal keeps 9.2\'s list minus the pattern');
    assert.deepEqual(cipherProposal('aes256-ctr'), ['aes256-ctr']);
    assert.deepEqual(kexProposal('mlkem768x25519-sha256'), ['mlkem768x25519-sha256'], 'the name is accepted');
  });
});

describe('server offer', () => {
  const offer = (text: string) => serverAlgorithms(parseSshdConfigText(text, 'test').settings, [generatePrivateKey('ed25519')]).kex;

  test('unset: ML-KEM ahead of sshd 9.2\'s default list; -T\'s list is unchanged', () => {
    const config = parseSshdConfigText('', 'test');
    assert.equal(config.settings.kexAlgorithms[0], 'sntrup761x25519-sha512');
    assert.deepEqual(offer('').slice(0, 3), ['mlkem768x25519-sha256', 'sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com']);
  });

  test('an explicit list is offered as written (names accepted, order kept)', () => {
    assert.deepEqual(offer('KexAlgorithms curve25519-sha256,mlkem768x25519-sha256\n'), ['curve25519-sha256', 'mlkem768x25519-sha256']);
    assert.deepEqual(offer('KexAlgorithms sntrup761x25519-sha512\n'), ['sntrup761x25519-sha512']);
  });
});
