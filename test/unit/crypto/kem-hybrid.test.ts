/**
 * The KEMs and the PQ/T hybrid key agreement in memory: ML-KEM-768 and sntrup761 round trips and their
 * wire sizes, K = HASH(KEM secret || X25519 secret) checked against an independent computation, K entering
 * the exchange hash as a string (not an mpint), and both kex flows run against each other for every hybrid
 * method, a tampered reply failing the host-key signature as it does in OpenSSH.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { mlkem768, mlkem768Available, sntrup761, type Kem } from '../../../src/crypto/kex/kem.ts';
import { hybridKemAgreement } from '../../../src/crypto/kex/hybrid.ts';
import { KEX_METHODS, type KexMethod } from '../../../src/crypto/kex/methods.ts';
import { clientKexFlow, serverKexFlow, type KexOutcome } from '../../../src/transport/kex-flow.ts';
import { encodeSharedSecret } from '../../../src/transport/key-derivation.ts';
import { generatePrivateKey } from '../../../src/keys/index.ts';
import { ProtocolError } from '../../../src/wire/errors.ts';

// Node 26 (the project's) has ML-KEM; a Node without it must not list the method either.
const MLKEM = 'mlkem768x25519-sha256';
const HYBRIDS = [MLKEM, 'sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com'];

const kems: Array<{ kem: () => Kem; pk: number; ct: number }> = [
  { kem: mlkem768, pk: 1184, ct: 1088 },
  { kem: sntrup761, pk: 1158, ct: 1039 },
];

describe('KEMs', () => {
  test('ML-KEM-768 is available on this Node and listed exactly when it is', () => {
    assert.equal(mlkem768Available(), true, 'the project Node (26) provides crypto.encapsulate with ml-kem-768');
    assert.equal(KEX_METHODS.has(MLKEM), mlkem768Available());
    assert.deepEqual([...KEX_METHODS.keys()].slice(0, 3), HYBRIDS, 'the hybrids come first, in OpenSSH 10\'s order');
  });

  for (const { kem: make, pk, ct } of kems) {
    const kem = make();
    test(`${kem.name}: sizes and a round trip; wrong sizes are protocol errors`, () => {
      const keys = kem.generate();
      assert.equal(keys.publicKey.length, pk);
      const { ciphertext, sharedSecret } = kem.encapsulate(keys.publicKey);
      assert.equal(ciphertext.length, ct);
      assert.equal(sharedSecret.length, 32);
      assert.deepEqual(keys.decapsulate(ciphertext), sharedSecret);
      assert.throws(() => kem.encapsulate(keys.publicKey.subarray(1)), ProtocolError);
      assert.throws(() => kem.generate().decapsulate(ciphertext.subarray(1)), ProtocolError);
    });
  }

  test('ML-KEM-768 refuses an encapsulation key that fails FIPS 203\'s modulus check', () => {
    assert.throws(() => mlkem768().encapsulate(Buffer.alloc(1184, 0xff)), ProtocolError);
  });
});

describe('hybrid key agreement', () => {
  test('K = SHA-256(KEM secret || X25519 secret); C_INIT = pk || X25519, S_REPLY = ct || X25519', () => {
    // A transparent KEM with a known secret, so K can be recomputed from the X25519 half alone.
    const kemSecret = Buffer.alloc(32, 0x5a);
    const fake: Kem = {
      name: 'fake', publicKeyLength: 8, ciphertextLength: 4,
      generate: () => ({ publicKey: Buffer.alloc(8, 1), decapsulate: () => Buffer.from(kemSecret) }),
      encapsulate: () => ({ ciphertext: Buffer.alloc(4, 2), sharedSecret: Buffer.from(kemSecret) }),
    };
    const peer = generateKeyPairSync('x25519');
    const peerPublic = Buffer.from(peer.publicKey.export({ format: 'jwk' }).x!, 'base64url');
    const reply = hybridKemAgreement(fake, 'sha256').respond(Buffer.concat([Buffer.alloc(8, 1), peerPublic]));
    assert.equal(reply.publicValue.length, 4 + 32);
    assert.deepEqual(reply.publicValue.subarray(0, 4), Buffer.alloc(4, 2));
    const serverX25519 = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: reply.publicValue.subarray(4).toString('base64url') }, format: 'jwk' });
    const classical = diffieHellman({ privateKey: peer.privateKey, publicKey: serverX25519 });
    assert.deepEqual(reply.secret, createHash('sha256').update(kemSecret).update(classical).digest());

    const client = hybridKemAgreement(fake, 'sha256').initiate();
    assert.equal(client.publicValue.length, 8 + 32);
    assert.throws(() => client.computeSecret(Buffer.alloc(35)), ProtocolError);
    // A low-order X25519 point (all zero) gives a zero secret: refused as in RFC 8731 §3.
    assert.throws(() => client.computeSecret(Buffer.concat([Buffer.alloc(4, 2), Buffer.alloc(32)])), ProtocolError);
  });

  test('K enters the hash as a string for hybrids and as an mpint otherwise', () => {
    const secret = Buffer.from([0x80, 0, 1]);
    assert.deepEqual(encodeSharedSecret(secret, 'string'), Buffer.from([0, 0, 0, 3, 0x80, 0, 1]));
    assert.deepEqual(encodeSharedSecret(secret, 'mpint'), Buffer.from([0, 0, 0, 4, 0, 0x80, 0, 1]));
    for (const name of HYBRIDS) assert.equal(KEX_METHODS.get(name)!.secretEncoding, 'string', name);
    assert.equal(KEX_METHODS.get('curve25519-sha256')!.secretEncoding, 'mpint');
  });
});

const hostKey = generatePrivateKey('ed25519');
const transcript = {
  clientVersion: 'SSH-2.0-test-client',
  serverVersion: 'SSH-2.0-test-server',
  clientKexInit: Buffer.from([20, 1, 2, 3]),
  serverKexInit: Buffer.from([20, 4, 5, 6]),
};

/** Runs both flows against each other; `tamper` may alter the server's reply on its way. */
function exchange(method: KexMethod, tamper: (payload: Buffer) => Buffer = (p) => p): { client?: KexOutcome; server?: KexOutcome } {
  const toServer: Buffer[] = [];
  const toClient: Buffer[] = [];
  const client = clientKexFlow({ method, transcript, hostKeyAlgorithm: 'ssh-ed25519', preferredGroupBits: 3072, send: (p) => toServer.push(p) });
  const server = serverKexFlow({ method, transcript, hostKey, hostKeyAlgorithm: 'ssh-ed25519', send: (p) => toClient.push(tamper(p)) });
  const outcomes: { client?: KexOutcome; server?: KexOutcome } = {};
  client.start();
  server.start();
  for (let round = 0; round < 4 && (toServer.length > 0 || toClient.length > 0); round++) {
    for (const payload of toServer.splice(0)) outcomes.server = server.handle(payload) ?? outcomes.server;
    for (const payload of toClient.splice(0)) outcomes.client = client.handle(payload) ?? outcomes.client;
  }
  return outcomes;
}

describe('the kex flow with each hybrid method, in memory', () => {
  for (const name of HYBRIDS) {
    test(`${name}: both roles reach the same K and H; K is a string of the hash's length`, () => {
      const method = KEX_METHODS.get(name)!;
      const { client, server } = exchange(method);
      assert.ok(client && server);
      assert.deepEqual(client.exchangeHash, server.exchangeHash);
      assert.deepEqual(client.encodedSecret, server.encodedSecret);
      const hashBytes = method.hash === 'sha256' ? 32 : 64;
      assert.equal(client.encodedSecret.readUInt32BE(0), hashBytes);
      assert.equal(client.encodedSecret.length, 4 + hashBytes);
      assert.equal(client.exchangeHash.length, hashBytes);
    });

    test(`${name}: a corrupted KEM ciphertext fails the host-key signature check`, () => {
      const method = KEX_METHODS.get(name)!;
      // The reply is byte 31, string K_S, string S_REPLY, string signature: flip a byte inside S_REPLY.
      const flip = (payload: Buffer) => {
        const copy = Buffer.from(payload);
        const replyStart = 1 + 4 + copy.readUInt32BE(1) + 4;
        copy[replyStart + 10]! ^= 0x01;
        return copy;
      };
      assert.throws(() => exchange(method, flip), /incorrect signature on key exchange/);
    });
  }
});
