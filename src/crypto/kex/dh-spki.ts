/**
 * Finite-field DH public values in and out of node:crypto KeyObjects as a SubjectPublicKeyInfo
 * { AlgorithmIdentifier { dhKeyAgreement, DHParameter { p, g } }, BIT STRING { INTEGER y } }
 * (PKCS #3, RFC 3279 §2.3.3). KeyObjects are used instead of crypto.createDiffieHellman because the latter
 * runs a safe-prime check costing seconds to tens of seconds for 4096–8192-bit groups.
 */
import { derInteger, derPublicKeyInfo, derSequence, readPublicKeyInfoValue } from '../../wire/der.ts';

const DH_KEY_AGREEMENT_OID = Buffer.from('06092a864886f70d010301', 'hex'); // 1.2.840.113549.1.3.1

export function encodeDhPublicKey(prime: Buffer, generator: Buffer, publicValue: Buffer): Buffer {
  return derPublicKeyInfo(DH_KEY_AGREEMENT_OID, derSequence(derInteger(prime), derInteger(generator)), publicValue);
}

/** The public value y (unsigned magnitude) from a DH SubjectPublicKeyInfo. */
export function decodeDhPublicValue(spki: Buffer): Buffer {
  return readPublicKeyInfoValue(spki);
}
