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

const INCONSISTENT = 'invalid format: RSA private key components are inconsistent';

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/**
 * The consistency checks of OpenSSL's RSA_check_key (bar the primality tests), which node:crypto does not
 * run when it imports a key: n = p·q, e odd and > 1, d > 0 with d·e ≡ 1 (mod lcm(p−1, q−1)), and the CRT
 * values dp = d mod (p−1), dq = d mod (q−1), qi = q⁻¹ mod p. A key failing them signs garbage (or leaks its
 * factors through a faulty CRT signature), so it is refused on load, whatever file or agent message it came in.
 */
export function checkRsaPrivateJwk(jwk: JsonWebKey): void {
  const [n, e, d, p, q, dp, dq, qi] = (['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'] as const).map((member) => toBigInt(jwkBytes(jwk[member], member)));
  if (p! < 3n || q! < 3n || p! * q! !== n!) throw new KeyFormatError('invalid format: RSA primes do not match the modulus');
  if (e! < 3n || e! % 2n === 0n || d! <= 0n) throw new KeyFormatError(INCONSISTENT);
  const [p1, q1] = [p! - 1n, q! - 1n];
  const lambda = (p1 / gcd(p1, q1)) * q1;
  if ((d! * e!) % lambda !== 1n) throw new KeyFormatError(INCONSISTENT);
  if (dp !== d! % p1 || dq !== d! % q1 || qi! >= p! || (qi! * q!) % p! !== 1n) throw new KeyFormatError(INCONSISTENT);
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
    const [bigD, bigP, bigQ] = [toBigInt(d), toBigInt(p), toBigInt(q)];
    if (bigP < 3n || bigQ < 3n) throw new KeyFormatError('invalid format: RSA primes do not match the modulus');
    // SSH stores only d, iqmp, p and q; the CRT exponents JWK (RFC 7518 §6.3.2) requires are derived here.
    const jwk: JsonWebKey = {
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
    checkRsaPrivateJwk(jwk);
    return jwk;
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
