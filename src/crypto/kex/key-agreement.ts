/**
 * Key-agreement primitives for the kex methods we support, behind one interface for both roles: the client
 * (initiator) sends a public value and turns the server's reply into K; the server turns the client's value
 * into its reply and K. Diffie-Hellman style agreements (both sides generate a key pair) and KEMs (the server
 * encapsulates to the client's key, hybrid.ts) both fit it, so the kex flow has no per-method cases. K's
 * encoding in the exchange hash (mpint or string) is a property of the method (methods.ts), not of K.
 */
import {
  createECDH,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  getDiffieHellman,
  type KeyObject,
} from 'node:crypto';
import { ProtocolError } from '../../wire/errors.ts';
import { decodeDhPublicValue, encodeDhPublicKey } from './dh-spki.ts';

export type HashName = 'sha256' | 'sha384' | 'sha512';

/**
 * One party's ephemeral key pair: for DH and ECDH either role; for a KEM, the client's side. `computeSecret`
 * returns K: the unsigned big-endian magnitude for DH/ECDH, the hashed combination for hybrids.
 */
export interface KeyAgreement {
  /** Our public value: Q as a string for ECDH/X25519, e or f as an mpint magnitude for DH, C_INIT for hybrids. */
  readonly publicValue: Buffer;
  /** Validates the peer's public value and returns K; throws ProtocolError on an invalid one. */
  computeSecret(peerPublic: Buffer): Buffer;
}

/** What the responder (server) sends back and the secret it computed. */
export interface KeyAgreementResponse {
  /** f, Q_S or S_REPLY. */
  readonly publicValue: Buffer;
  readonly secret: Buffer;
}

/** A kex method's key agreement, seen from either role. */
export interface KeyAgreementMethod {
  /** Client: a fresh key pair whose public value opens the exchange. */
  initiate(): KeyAgreement;
  /** Server: validates the client's public value, returns the reply and K; throws ProtocolError when invalid. */
  respond(initiatorPublic: Buffer): KeyAgreementResponse;
}

/** Diffie-Hellman style: both roles generate a key pair and combine it with the peer's public value. */
export function keyPairAgreement(generate: () => KeyAgreement): KeyAgreementMethod {
  return {
    initiate: generate,
    respond(initiatorPublic) {
      const ours = generate();
      return { publicValue: ours.publicValue, secret: ours.computeSecret(initiatorPublic) };
    },
  };
}

export const KEX_FAILED = 3; // SSH_DISCONNECT_KEY_EXCHANGE_FAILED, RFC 4253 §11.1

/** curve25519-sha256 (RFC 8731). */
export function x25519Agreement(): KeyAgreement {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const jwk = publicKey.export({ format: 'jwk' });
  return {
    publicValue: Buffer.from(jwk.x!, 'base64url'),
    computeSecret(peerPublic) {
      if (peerPublic.length !== 32) throw new ProtocolError('invalid X25519 public value length', KEX_FAILED);
      const peer: KeyObject = createPublicKey({
        key: { kty: 'OKP', crv: 'X25519', x: peerPublic.toString('base64url') },
        format: 'jwk',
      });
      // RFC 8731 §3: an all-zero shared secret (low-order peer point) must abort the exchange. OpenSSL
      // already refuses to derive it ("failed during derivation"); the check below stays for other builds.
      let secret: Buffer;
      try {
        secret = diffieHellman({ privateKey, publicKey: peer });
      } catch {
        throw new ProtocolError('X25519 shared secret is zero', KEX_FAILED);
      }
      if (secret.every((byte) => byte === 0)) throw new ProtocolError('X25519 shared secret is zero', KEX_FAILED);
      return secret;
    },
  };
}

const CURVES = { nistp256: 'prime256v1', nistp384: 'secp384r1', nistp521: 'secp521r1' } as const;

/** ecdh-sha2-nistp256/384/521 (RFC 5656 §4). Points are uncompressed (0x04 || x || y). */
export function ecdhAgreement(curve: keyof typeof CURVES): KeyAgreement {
  const ecdh = createECDH(CURVES[curve]);
  const publicValue = ecdh.generateKeys();
  return {
    publicValue,
    computeSecret(peerPublic) {
      // OpenSSL validates that the point is on the curve; the first byte must mark an uncompressed point.
      if (peerPublic.length !== publicValue.length || peerPublic[0] !== 0x04) {
        throw new ProtocolError('invalid ECDH public point', KEX_FAILED);
      }
      try {
        return ecdh.computeSecret(peerPublic);
      } catch {
        throw new ProtocolError('invalid ECDH public point', KEX_FAILED);
      }
    },
  };
}

/**
 * Finite-field Diffie-Hellman over `prime` with `generator` (RFC 4253 §8, RFC 4419). OpenSSL chooses the
 * private exponent's length; key objects avoid crypto.createDiffieHellman's slow prime check (dh-spki.ts).
 */
export function dhAgreement(prime: Buffer, generator: Buffer): KeyAgreement {
  const generatorValue = generator.length === 0 ? 0 : Number(BigInt('0x' + generator.toString('hex')));
  const { privateKey, publicKey } = generateDhKeyPair('dh', { prime, generator: generatorValue });
  const publicValue = decodeDhPublicValue(publicKey.export({ type: 'spki', format: 'der' }));
  const primeValue = BigInt('0x' + prime.toString('hex'));
  return {
    publicValue,
    computeSecret(peerPublic) {
      // RFC 4253 §8: values not in [1, p-1] must not be accepted; 1 and p-1 are degenerate too.
      const value = peerPublic.length === 0 ? 0n : BigInt('0x' + peerPublic.toString('hex'));
      if (value <= 1n || value >= primeValue - 1n) throw new ProtocolError('invalid DH public value', KEX_FAILED);
      const peer = createPublicKey({ key: encodeDhPublicKey(prime, generator, peerPublic), format: 'der', type: 'spki' });
      return diffieHellman({ privateKey, publicKey: peer });
    },
  };
}

/** node:crypto supports 'dh' key pairs from explicit parameters; @types/node lacks that overload. */
const generateDhKeyPair = generateKeyPairSync as unknown as (
  type: 'dh',
  options: { prime: Buffer; generator: number },
) => { publicKey: KeyObject; privateKey: KeyObject };

/** The fixed groups of RFC 3526 (2048 to 8192 bits); Node ships them as modp14 to modp18. */
export function modpGroup(name: 'modp14' | 'modp15' | 'modp16' | 'modp17' | 'modp18'): { prime: Buffer; generator: Buffer } {
  const group = getDiffieHellman(name);
  return { prime: group.getPrime(), generator: group.getGenerator() };
}
