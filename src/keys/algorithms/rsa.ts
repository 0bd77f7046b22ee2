/**
 * ssh-rsa keys (RFC 4253 §6.6) with the signature algorithms of RFC 8332: rsa-sha2-512, rsa-sha2-256 and
 * the legacy SHA-1 ssh-rsa. Public blob: string "ssh-rsa", mpint e, mpint n. Private fields (PROTOCOL.key,
 * draft-miller-ssh-agent §4.2.3): mpint n, mpint e, mpint d, mpint iqmp, mpint p, mpint q.
 * Signature blob: the PKCS#1 v1.5 signature, as long as the modulus (RFC 8332 §3).
 */
import { sign, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { Reader, Writer } from '../../wire/index.ts';
import { KeyFormatError, type KeyType } from '../types.ts';
import { bitLength, fixedLength, fromBigInt, jwkBytes, toBase64Url, toBigInt } from './jwk-fields.ts';
import type { KeyAlgorithm } from './types.ts';

/** OpenSSH's SSH_RSA_MINIMUM_MODULUS_SIZE: smaller moduli are refused on load. */
export const RSA_MINIMUM_BITS = 1024;
/** OpenSSH's SSHBUF_MAX_BIGNUM limit expressed in bits. */
export const RSA_MAXIMUM_BITS = 16384;

const HASH_OF_SIGNATURE_ALGORITHM: Readonly<Record<string, string>> = {
  'rsa-sha2-512': 'sha512',
  'rsa-sha2-256': 'sha256',
  'ssh-rsa': 'sha1',
};

function checkModulus(n: Uint8Array): void {
  const bits = bitLength(n);
  if (bits < RSA_MINIMUM_BITS) throw new KeyFormatError(`RSA key too small: ${bits} bits (minimum ${RSA_MINIMUM_BITS})`);
  if (bits > RSA_MAXIMUM_BITS) throw new KeyFormatError(`RSA key too large: ${bits} bits`);
}

function hashFor(signatureAlgorithm: string): string {
  const hash = HASH_OF_SIGNATURE_ALGORITHM[signatureAlgorithm];
  if (!hash) throw new KeyFormatError(`unsupported RSA signature algorithm ${signatureAlgorithm}`);
  return hash;
}

function modulusBytes(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (!bits) throw new KeyFormatError('RSA key without modulus length');
  return Math.ceil(bits / 8);
}

export const rsa: KeyAlgorithm = {
  keyTypes: ['ssh-rsa'],

  readPublicFields(_type: KeyType, reader: Reader): JsonWebKey {
    const e = reader.mpint();
    const n = reader.mpint();
    checkModulus(n);
    return { kty: 'RSA', n: toBase64Url(n), e: toBase64Url(e) };
  },

  writePublicFields(_type: KeyType, jwk: JsonWebKey, writer: Writer): void {
    writer.mpint(jwkBytes(jwk.e, 'e'));
    writer.mpint(jwkBytes(jwk.n, 'n'));
  },

  readPrivateFields(_type: KeyType, reader: Reader): JsonWebKey {
    const n = reader.mpint();
    const e = reader.mpint();
    const d = reader.mpint();
    const iqmp = reader.mpint();
    const p = reader.mpint();
    const q = reader.mpint();
    checkModulus(n);
    const [bigN, bigD, bigP, bigQ] = [toBigInt(n), toBigInt(d), toBigInt(p), toBigInt(q)];
    if (bigP < 2n || bigQ < 2n || bigP * bigQ !== bigN) {
      throw new KeyFormatError('invalid format: RSA primes do not match the modulus');
    }
    // SSH stores only d, iqmp, p and q; the CRT exponents JWK (RFC 7518 §6.3.2) requires are derived here.
    return {
      kty: 'RSA',
      n: toBase64Url(n),
      e: toBase64Url(e),
      d: toBase64Url(d),
      p: toBase64Url(p),
      q: toBase64Url(q),
      dp: toBase64Url(fromBigInt(bigD % (bigP - 1n))),
      dq: toBase64Url(fromBigInt(bigD % (bigQ - 1n))),
      qi: toBase64Url(iqmp),
    };
  },

  writePrivateFields(_type: KeyType, jwk: JsonWebKey, writer: Writer): void {
    writer.mpint(jwkBytes(jwk.n, 'n'));
    writer.mpint(jwkBytes(jwk.e, 'e'));
    writer.mpint(jwkBytes(jwk.d, 'd'));
    writer.mpint(jwkBytes(jwk.qi, 'qi'));
    writer.mpint(jwkBytes(jwk.p, 'p'));
    writer.mpint(jwkBytes(jwk.q, 'q'));
  },

  keyTypeOf(): KeyType {
    return 'ssh-rsa';
  },

  bits(_type: KeyType, jwk: JsonWebKey): number {
    return bitLength(jwkBytes(jwk.n, 'n'));
  },

  signatureAlgorithms(): readonly string[] {
    return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  },

  sign(_type: KeyType, key: KeyObject, signatureAlgorithm: string, data: Buffer): Buffer {
    // node:crypto pads RSA signatures with PKCS#1 v1.5 by default, as RFC 8332 §3 requires.
    return sign(hashFor(signatureAlgorithm), data, key);
  },

  verify(_type: KeyType, key: KeyObject, signatureAlgorithm: string, data: Buffer, blob: Buffer): boolean {
    const length = modulusBytes(key);
    // Some implementations drop leading zero bytes of the signature; OpenSSH accepts that, and so do we.
    if (blob.length > length) return false;
    return verify(hashFor(signatureAlgorithm), data, key, fixedLength(blob, length));
  },
};
