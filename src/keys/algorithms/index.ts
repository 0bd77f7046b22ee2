/** Looks up the algorithm family for a key type or a node:crypto key. */
import type { KeyObject } from 'node:crypto';
import { KeyFormatError, type KeyType } from '../types.ts';
import { ecdsa } from './ecdsa.ts';
import { ed25519 } from './ed25519.ts';
import { rsa } from './rsa.ts';
import type { KeyAlgorithm } from './types.ts';

export type { KeyAlgorithm } from './types.ts';
export { ecdsaKeyTypeForBits } from './ecdsa.ts';
export { RSA_MINIMUM_BITS, RSA_MAXIMUM_BITS } from './rsa.ts';

const FAMILIES: readonly KeyAlgorithm[] = [ed25519, ecdsa, rsa];

/** OpenSSH's wording (SSH_ERR_KEY_TYPE_UNKNOWN). */
export const UNKNOWN_KEY_TYPE = 'unknown or unsupported key type';

export function isKeyType(name: string): name is KeyType {
  return FAMILIES.some((family) => (family.keyTypes as readonly string[]).includes(name));
}

export function algorithmFor(type: KeyType): KeyAlgorithm {
  const family = FAMILIES.find((candidate) => candidate.keyTypes.includes(type));
  if (!family) throw new KeyFormatError(UNKNOWN_KEY_TYPE);
  return family;
}

/** Reads the key-type string of a blob and checks we support it. */
export function keyTypeFromName(name: string): KeyType {
  if (!isKeyType(name)) throw new KeyFormatError(UNKNOWN_KEY_TYPE);
  return name;
}

/** The family of a key held by node:crypto (e.g. one read from a PEM file). */
export function algorithmForKeyObject(key: KeyObject): KeyAlgorithm {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return ed25519;
    case 'ec':
      return ecdsa;
    case 'rsa':
      return rsa;
    default:
      throw new KeyFormatError(UNKNOWN_KEY_TYPE);
  }
}
