/**
 * SSH private keys: a node:crypto private KeyObject with its SSH public key and comment, able to sign in
 * the SSH signature encoding (RFC 4253 §6.6: string algorithm, string blob).
 */
import { createPrivateKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { Writer } from '../wire/index.ts';
import {
  algorithmFor,
  ecdsaKeyTypeForBits,
  RSA_MAXIMUM_BITS,
} from './algorithms/index.ts';
import { publicKeyFromKeyObject, type SshPublicKey } from './public-key.ts';
import { KeyFormatError, type KeyType, type PrivateKey } from './types.ts';

export class SshPrivateKey implements PrivateKey {
  readonly publicKey: SshPublicKey;
  readonly comment: string;
  /** The secret, which never leaves node:crypto except through the explicit serializers of this module. */
  readonly keyObject: KeyObject;

  constructor(keyObject: KeyObject, comment = '') {
    if (keyObject.type !== 'private') throw new TypeError('SshPrivateKey needs a private KeyObject');
    this.keyObject = keyObject;
    this.publicKey = publicKeyFromKeyObject(keyObject);
    this.comment = comment;
  }

  get type(): KeyType {
    return this.publicKey.type;
  }

  sign(data: Buffer, algorithm: string = this.publicKey.signatureAlgorithms[0]!): Buffer {
    if (!this.publicKey.signatureAlgorithms.includes(algorithm)) {
      throw new KeyFormatError(`signature algorithm ${algorithm} cannot be used with a ${this.type} key`);
    }
    const blob = algorithmFor(this.type).sign(this.type, this.keyObject, algorithm, data);
    return Buffer.from(new Writer().string(algorithm).string(blob).finish());
  }

  /** A copy carrying a different comment (the key itself is immutable). */
  withComment(comment: string): SshPrivateKey {
    return new SshPrivateKey(this.keyObject, comment);
  }

  /** The private key as a JWK; only the serializers in this directory call this. */
  exportJwk(): JsonWebKey {
    return this.keyObject.export({ format: 'jwk' });
  }
}

/** Builds a private key from a private JWK, checking it agrees with the public key stored beside it. */
export function privateKeyFromJwk(jwk: JsonWebKey, comment: string): SshPrivateKey {
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey({ key: jwk, format: 'jwk' });
  } catch {
    throw new KeyFormatError('invalid format: private key rejected by the crypto library');
  }
  return new SshPrivateKey(keyObject, comment);
}

export type GeneratedKeyType = 'ed25519' | 'ecdsa' | 'rsa';

/** ssh-keygen's default sizes (ecdsa 256, rsa 3072). */
export const DEFAULT_BITS: Readonly<Record<GeneratedKeyType, number>> = { ed25519: 256, ecdsa: 256, rsa: 3072 };

/** Smallest RSA modulus we generate (stricter than what we accept on load, RSA_MINIMUM_BITS). */
export const RSA_GENERATE_MINIMUM_BITS = 2048;

/** Invalid key type or size passed to generatePrivateKey; the message is ssh-keygen's. */
export class KeyGenerationError extends Error {
  override readonly name = 'KeyGenerationError';
}

/**
 * Checks a requested key size the way ssh-keygen does before generating (and with its messages).
 * `bits` undefined means the default; it is ignored for ed25519.
 */
export function checkKeySize(type: GeneratedKeyType, bits?: number): void {
  if (type === 'ecdsa' && bits !== undefined && ecdsaKeyTypeForBits(bits) === undefined) {
    throw new KeyGenerationError('Invalid ECDSA key length: valid lengths are 256, 384 or 521 bits');
  }
  if (type === 'rsa' && bits !== undefined) {
    if (bits < RSA_GENERATE_MINIMUM_BITS) {
      throw new KeyGenerationError(`Invalid RSA key length: minimum is ${RSA_GENERATE_MINIMUM_BITS} bits`);
    }
    if (bits > RSA_MAXIMUM_BITS) throw new KeyGenerationError(`Invalid RSA key length: maximum is ${RSA_MAXIMUM_BITS} bits`);
  }
}

const EC_CURVE_OF_BITS: Readonly<Record<number, string>> = { 256: 'P-256', 384: 'P-384', 521: 'P-521' };

/** Creates a fresh key pair. `bits` is ignored for ed25519, as ssh-keygen does. */
export function generatePrivateKey(type: GeneratedKeyType, bits?: number, comment = ''): SshPrivateKey {
  checkKeySize(type, bits);
  switch (type) {
    case 'ed25519':
      return new SshPrivateKey(generateKeyPairSync('ed25519').privateKey, comment);
    case 'ecdsa': {
      const namedCurve = EC_CURVE_OF_BITS[bits ?? DEFAULT_BITS.ecdsa]!;
      return new SshPrivateKey(generateKeyPairSync('ec', { namedCurve }).privateKey, comment);
    }
    case 'rsa': {
      const modulusLength = bits ?? DEFAULT_BITS.rsa;
      const pair = generateKeyPairSync('rsa', { modulusLength, publicExponent: 65537 });
      return new SshPrivateKey(pair.privateKey, comment);
    }
    default:
      throw new KeyGenerationError(`unknown key type ${String(type)}`);
  }
}
