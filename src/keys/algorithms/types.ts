/**
 * What each public-key algorithm family (Ed25519, ECDSA, RSA, verify-only DSA) knows: how its keys are laid
 * out on the wire and how its signatures are made and checked. Keys travel between these functions as JWKs
 * because that is the one form node:crypto both imports and exports for Ed25519, ECDSA and RSA without DER
 * plumbing; a family node:crypto has no JWK for (DSA) carries its fields in JWK-shaped objects and imports
 * them itself (importPublic).
 */
import type { JsonWebKey, KeyObject } from 'node:crypto';
import type { Reader, Writer } from '../../wire/index.ts';
import type { KeyType } from '../types.ts';

export interface KeyAlgorithm {
  readonly keyTypes: readonly KeyType[];
  /**
   * A legacy family that is only parsed and verified (ssh-dss): never listed by `ssh -Q` nor offered by
   * default, so usable only where configuration names it; signing and private keys are refused.
   */
  readonly verifyOnly?: boolean;
  /** The public KeyObject of the fields readPublicFields returned, when they are not a JWK node:crypto imports. */
  importPublic?(type: KeyType, fields: JsonWebKey): KeyObject;
  /** Reads the public fields that follow the key-type string in a public key blob (RFC 4253 §6.6). */
  readPublicFields(type: KeyType, reader: Reader): JsonWebKey;
  writePublicFields(type: KeyType, jwk: JsonWebKey, writer: Writer): void;
  /**
   * Reads the private fields that follow the key-type string in an openssh-key-v1 private section
   * (PROTOCOL.key) or an agent add-identity message (draft-miller-ssh-agent §4.2.3). Returns a private JWK.
   */
  readPrivateFields(type: KeyType, reader: Reader): JsonWebKey;
  writePrivateFields(type: KeyType, jwk: JsonWebKey, writer: Writer): void;
  /** The key type of a JWK exported by node:crypto (used for keys read from PEM files). */
  keyTypeOf(jwk: JsonWebKey): KeyType;
  /** Key size as ssh-keygen -l reports it. */
  bits(type: KeyType, jwk: JsonWebKey): number;
  signatureAlgorithms(type: KeyType): readonly string[];
  /** Returns the inner signature blob (the second `string` of an SSH signature). */
  sign(type: KeyType, key: KeyObject, signatureAlgorithm: string, data: Buffer): Buffer;
  /** Checks the inner signature blob; false on any malformation, never throws. */
  verify(type: KeyType, key: KeyObject, signatureAlgorithm: string, data: Buffer, blob: Buffer): boolean;
}
