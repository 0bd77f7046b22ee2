/** Looks up the algorithm family for a key type or a node:crypto key. */
import type { KeyObject } from 'node:crypto';
import { KeyFormatError, type KeyType } from '../types.ts';
import { dsa, DSA_SIGNING_UNSUPPORTED } from './dsa.ts';
import { ecdsa } from './ecdsa.ts';
import { ed25519 } from './ed25519.ts';
import { rsa } from './rsa.ts';
import type { KeyAlgorithm } from './types.ts';

export type { KeyAlgorithm } from './types.ts';
export { ecdsaKeyTypeForBits } from './ecdsa.ts';
export { RSA_MINIMUM_BITS, RSA_MAXIMUM_BITS, checkRsaPrivateJwk } from './rsa.ts';
export { DSA_SIGNING_UNSUPPORTED } from './dsa.ts';

/** Registry order is `ssh -Q key` order; verify-only families (ssh-dss) come last and are not listed. */
const FAMILIES: readonly KeyAlgorithm[] = [ed25519, ecdsa, rsa, dsa];

/** OpenSSH's wording (SSH_ERR_KEY_TYPE_UNKNOWN). */
export const UNKNOWN_KEY_TYPE = 'unknown or unsupported key type';

/**
 * Every key type implemented for signing and verifying, in registry order (`ssh -Q key`). Verify-only
 * types (ssh-dss) are left out: they are parsed and checked only where configuration names them.
 */
export function keyTypes(): KeyType[] {
  return FAMILIES.filter((family) => !family.verifyOnly).flatMap((family) => [...family.keyTypes]);
}

/**
 * The certificate key types of the implemented key types (`ssh -Q key-cert`), PROTOCOL.certkeys: each key
 * type with the -cert-v01@openssh.com suffix.
 */
export function certificateKeyTypes(): string[] {
  return keyTypes().map((type) => `${type}-cert-v01@openssh.com`);
}

/**
 * Every signature algorithm implemented (`ssh -Q sig`): each key type, followed by the signature-only names
 * its family adds (RFC 8332's rsa-sha2-* for ssh-rsa keys).
 */
export function signatureAlgorithmNames(): string[] {
  const names: string[] = [];
  for (const type of keyTypes()) {
    for (const name of [type, ...algorithmFor(type).signatureAlgorithms(type)]) if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** Whether `name` is a key type whose public keys we parse, verify-only ones included. */
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
    case 'dsa':
      // Only private keys reach here in practice (PEM / PKCS#8 files), and DSA ones are not usable.
      throw new KeyFormatError(DSA_SIGNING_UNSUPPORTED);
    default:
      throw new KeyFormatError(UNKNOWN_KEY_TYPE);
  }
}
