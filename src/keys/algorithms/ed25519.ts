/**
 * ssh-ed25519 (RFC 8709). Public blob: string "ssh-ed25519", string A (32 bytes). Private fields
 * (PROTOCOL.key, draft-miller-ssh-agent §4.2.3): string A, string k||A (64 bytes: seed then public key).
 * Signature blob: the 64-byte EdDSA signature (RFC 8709 §6).
 */
import { sign, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { Reader, Writer } from '../../wire/index.ts';
import { KeyFormatError, type KeyType } from '../types.ts';
import { jwkBytes, toBase64Url } from './jwk-fields.ts';
import type { KeyAlgorithm } from './types.ts';

const PUBLIC_LENGTH = 32;
const SEED_LENGTH = 32;
const SIGNATURE_LENGTH = 64;

function readPublicPoint(reader: Reader): Buffer {
  const point = reader.string();
  if (point.length !== PUBLIC_LENGTH) throw new KeyFormatError('invalid format: ed25519 public key is not 32 bytes');
  return point;
}

export const ed25519: KeyAlgorithm = {
  keyTypes: ['ssh-ed25519'],

  readPublicFields(_type: KeyType, reader: Reader): JsonWebKey {
    return { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(readPublicPoint(reader)) };
  },

  writePublicFields(_type: KeyType, jwk: JsonWebKey, writer: Writer): void {
    writer.string(jwkBytes(jwk.x, 'x'));
  },

  readPrivateFields(_type: KeyType, reader: Reader): JsonWebKey {
    const publicPoint = readPublicPoint(reader);
    const secret = reader.string();
    if (secret.length !== SEED_LENGTH + PUBLIC_LENGTH || !secret.subarray(SEED_LENGTH).equals(publicPoint)) {
      throw new KeyFormatError('invalid format: ed25519 private key does not match its public key');
    }
    return {
      kty: 'OKP',
      crv: 'Ed25519',
      x: toBase64Url(publicPoint),
      d: toBase64Url(secret.subarray(0, SEED_LENGTH)),
    };
  },

  writePrivateFields(_type: KeyType, jwk: JsonWebKey, writer: Writer): void {
    const publicPoint = jwkBytes(jwk.x, 'x');
    writer.string(publicPoint);
    const secret = Buffer.concat([jwkBytes(jwk.d, 'd'), publicPoint]);
    writer.string(secret);
    secret.fill(0);
  },

  keyTypeOf(jwk: JsonWebKey): KeyType {
    if (jwk.crv !== 'Ed25519') throw new KeyFormatError('unknown or unsupported key type');
    return 'ssh-ed25519';
  },

  bits(): number {
    return 256;
  },

  signatureAlgorithms(): readonly string[] {
    return ['ssh-ed25519'];
  },

  sign(_type: KeyType, key: KeyObject, _algorithm: string, data: Buffer): Buffer {
    return sign(null, data, key);
  },

  verify(_type: KeyType, key: KeyObject, _algorithm: string, data: Buffer, blob: Buffer): boolean {
    if (blob.length !== SIGNATURE_LENGTH) return false;
    return verify(null, data, key, blob);
  },
};
