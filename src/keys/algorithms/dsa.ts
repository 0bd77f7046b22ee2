/**
 * ssh-dss (RFC 4253 §6.6), verify-only: OpenSSH 9.2 still accepts DSA user keys when PubkeyAcceptedAlgorithms
 * names ssh-dss, so the server can check such logins; Tether never signs with, generates or loads a DSA
 * private key. Public blob: string "ssh-dss", mpint p, mpint q, mpint g, mpint y. Signature blob: r || s,
 * each an unsigned 160-bit integer in 20 bytes, over the SHA-1 hash of the data (FIPS 186-2, RFC 4253 §6.6).
 *
 * node:crypto has no JWK form for DSA, so the fields travel in a JWK-shaped object { kty: 'DSA', p, q, g, y }
 * and are imported through a DER SubjectPublicKeyInfo (RFC 3279 §2.3.2).
 */
import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { derInteger, derPublicKeyInfo, derSequence } from '../../wire/der.ts';
import type { Reader, Writer } from '../../wire/index.ts';
import { KeyFormatError, type KeyType } from '../types.ts';
import { bitLength, jwkBytes, toBase64Url, toBigInt } from './jwk-fields.ts';
import type { KeyAlgorithm } from './types.ts';

/** The refusal for everything that would need a DSA private key. */
export const DSA_SIGNING_UNSUPPORTED = 'ssh-dss is not supported for signing';

const DSA_OID = Buffer.from('06072a8648ce380401', 'hex'); // id-dsa, 1.2.840.10040.4.1
/** FIPS 186-2: 512 ≤ L ≤ 1024 (OpenSSH only makes 1024-bit keys), N = 160. */
const MINIMUM_P_BITS = 512;
const MAXIMUM_P_BITS = 1024;
const Q_BITS = 160;
/** SIGBLOB_LEN of ssh-dss.c: r and s, 20 bytes each. */
const SIGNATURE_LENGTH = 40;

function refuse(): never {
  throw new KeyFormatError(DSA_SIGNING_UNSUPPORTED);
}

function checkDomain(p: Uint8Array, q: Uint8Array, g: Uint8Array, y: Uint8Array): void {
  const pBits = bitLength(p);
  if (pBits < MINIMUM_P_BITS || pBits > MAXIMUM_P_BITS) throw new KeyFormatError(`invalid format: DSA modulus of ${pBits} bits`);
  if (bitLength(q) !== Q_BITS) throw new KeyFormatError('invalid format: DSA subgroup order is not 160 bits');
  const bigP = toBigInt(p);
  for (const value of [toBigInt(g), toBigInt(y)]) {
    if (value <= 1n || value >= bigP) throw new KeyFormatError('invalid format: DSA value out of range');
  }
}

export const dsa: KeyAlgorithm = {
  keyTypes: ['ssh-dss'],
  verifyOnly: true,

  readPublicFields(_type: KeyType, reader: Reader): JsonWebKey {
    const p = reader.mpint();
    const q = reader.mpint();
    const g = reader.mpint();
    const y = reader.mpint();
    checkDomain(p, q, g, y);
    return { kty: 'DSA', p: toBase64Url(p), q: toBase64Url(q), g: toBase64Url(g), y: toBase64Url(y) };
  },

  writePublicFields(_type: KeyType, fields: JsonWebKey, writer: Writer): void {
    for (const member of ['p', 'q', 'g', 'y'] as const) writer.mpint(jwkBytes(fields[member] as string | undefined, member));
  },

  importPublic(_type: KeyType, fields: JsonWebKey): KeyObject {
    const [p, q, g, y] = (['p', 'q', 'g', 'y'] as const).map((member) => jwkBytes(fields[member] as string | undefined, member));
    // Dss-Parms ::= SEQUENCE { p, q, g }; the BIT STRING holds DSAPublicKey ::= INTEGER y (RFC 3279 §2.3.2).
    const spki = derPublicKeyInfo(DSA_OID, derSequence(derInteger(p!), derInteger(q!), derInteger(g!)), y!);
    try {
      return createPublicKey({ key: spki, format: 'der', type: 'spki' });
    } catch {
      throw new KeyFormatError('invalid format: public key rejected by the crypto library');
    }
  },

  readPrivateFields(): JsonWebKey {
    return refuse();
  },

  writePrivateFields(): void {
    refuse();
  },

  keyTypeOf(): KeyType {
    return 'ssh-dss';
  },

  bits(_type: KeyType, fields: JsonWebKey): number {
    return bitLength(jwkBytes(fields.p, 'p'));
  },

  signatureAlgorithms(): readonly string[] {
    return ['ssh-dss'];
  },

  sign(): Buffer {
    return refuse();
  },

  verify(_type: KeyType, key: KeyObject, _signatureAlgorithm: string, data: Buffer, blob: Buffer): boolean {
    // ssh-dss.c refuses any other length; IEEE P1363 is exactly r || s at the subgroup order's size.
    if (blob.length !== SIGNATURE_LENGTH) return false;
    try {
      return verify('sha1', data, { key, dsaEncoding: 'ieee-p1363' }, blob);
    } catch {
      return false;
    }
  },
};
