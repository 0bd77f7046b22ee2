/**
 * Post-quantum/traditional hybrid key agreement: a KEM combined with X25519, as mlkem768x25519-sha256
 * (draft-ietf-sshm-mlkem-hybrid-kex §2) and sntrup761x25519-sha512 (draft-josefsson-ntruprime-ssh §2, as
 * OpenSSH 8.5+ implements it) define it:
 *
 *   C_INIT  = KEM public key  || X25519 public key      (client → server, a string)
 *   S_REPLY = KEM ciphertext  || X25519 public key      (server → client, a string)
 *   K       = HASH(KEM shared secret || X25519 shared secret)
 *
 * K is then encoded as a string, not an mpint, in the exchange hash and the key derivation (the method's
 * `secretEncoding`). Either component alone keeps the exchange secret.
 */
import { createHash } from 'node:crypto';
import { ProtocolError } from '../../wire/errors.ts';
import type { Kem } from './kem.ts';
import { KEX_FAILED, x25519Agreement, type HashName, type KeyAgreementMethod } from './key-agreement.ts';

const X25519_BYTES = 32;

function combine(hash: HashName, kemSecret: Buffer, classicalSecret: Buffer): Buffer {
  const secret = createHash(hash).update(kemSecret).update(classicalSecret).digest();
  kemSecret.fill(0);
  classicalSecret.fill(0);
  return secret;
}

export function hybridKemAgreement(kem: Kem, hash: HashName): KeyAgreementMethod {
  return {
    initiate() {
      const keys = kem.generate();
      const classical = x25519Agreement();
      return {
        publicValue: Buffer.concat([keys.publicKey, classical.publicValue]),
        computeSecret(reply) {
          if (reply.length !== kem.ciphertextLength + X25519_BYTES) {
            throw new ProtocolError(`invalid ${kem.name} hybrid reply length ${reply.length}`, KEX_FAILED);
          }
          const kemSecret = keys.decapsulate(reply.subarray(0, kem.ciphertextLength));
          return combine(hash, kemSecret, classical.computeSecret(reply.subarray(kem.ciphertextLength)));
        },
      };
    },
    respond(init) {
      if (init.length !== kem.publicKeyLength + X25519_BYTES) {
        throw new ProtocolError(`invalid ${kem.name} hybrid public value length ${init.length}`, KEX_FAILED);
      }
      const classical = x25519Agreement();
      const classicalSecret = classical.computeSecret(init.subarray(kem.publicKeyLength));
      const { ciphertext, sharedSecret } = kem.encapsulate(init.subarray(0, kem.publicKeyLength));
      return {
        publicValue: Buffer.concat([ciphertext, classical.publicValue]),
        secret: combine(hash, sharedSecret, classicalSecret),
      };
    },
  };
}
