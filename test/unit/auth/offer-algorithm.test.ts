/**
 * offerAlgorithmFor for RSA certificates (PROTOCOL.certkeys; sshconnect2.c key_sig_algorithm): the server's
 * server-sig-algs names plain algorithms only, so an RSA certificate is offered as rsa-sha2-*-cert-v01 when
 * the plain rsa-sha2-* is announced, in the order of the client's PubkeyAcceptedAlgorithms.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { offerAlgorithmFor } from '../../../src/auth/client-auth.ts';
import { generatePrivateKey } from '../../../src/keys/index.ts';

const SERVER_SIG_ALGS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-rsa', 'rsa-sha2-256', 'rsa-sha2-512'];

describe('offerAlgorithmFor with an RSA certificate', () => {
  const rsa = generatePrivateKey('rsa', 2048).publicKey;

  it('offers rsa-sha2-512-cert-v01 by default when the server announces rsa-sha2-512', () => {
    assert.deepEqual(offerAlgorithmFor(rsa, true, SERVER_SIG_ALGS, undefined), {
      offer: 'rsa-sha2-512-cert-v01@openssh.com',
      signature: 'rsa-sha2-512',
    });
  });

  it('follows PubkeyAcceptedAlgorithms, and skips the key when nothing in it is announced', () => {
    const accepted = ['rsa-sha2-256-cert-v01@openssh.com', 'ssh-rsa-cert-v01@openssh.com'];
    assert.deepEqual(offerAlgorithmFor(rsa, true, SERVER_SIG_ALGS, accepted), {
      offer: 'rsa-sha2-256-cert-v01@openssh.com',
      signature: 'rsa-sha2-256',
    });
    assert.equal(offerAlgorithmFor(rsa, true, ['ssh-ed25519'], accepted), undefined);
  });
});
