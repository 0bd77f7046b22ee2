/**
 * ecdsa-sha2-nistp256/384/521 (RFC 5656). Public blob: string type, string curve identifier, string Q (an
 * uncompressed SEC1 point, §3.1). Private fields: string curve, string Q, mpint d. Signature blob
 * (§3.1.2): mpint r, mpint s, hashed with the curve's SHA-2 (§6.2.1).
 */
import { sign, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { Reader, Writer } from '../../wire/index.ts';
import { KeyFormatError, type KeyType } from '../types.ts';
import { fixedLength, jwkBytes, toBase64Url } from './jwk-fields.ts';
import type { KeyAlgorithm } from './types.ts';

interface Curve {
  readonly keyType: KeyType;
  /** The identifier inside the blob (RFC 5656 §6.1). */
  readonly identifier: string;
  readonly jwkCurve: string;
  readonly hash: string;
  /** Bytes in one field element: the length of x, y, d, r and s in fixed-width form. */
  readonly fieldBytes: number;
  readonly bits: number;
}

const CURVES: readonly Curve[] = [
  { keyType: 'ecdsa-sha2-nistp256', identifier: 'nistp256', jwkCurve: 'P-256', hash: 'sha256', fieldBytes: 32, bits: 256 },
  { keyType: 'ecdsa-sha2-nistp384', identifier: 'nistp384', jwkCurve: 'P-384', hash: 'sha384', fieldBytes: 48, bits: 384 },
  { keyType: 'ecdsa-sha2-nistp521', identifier: 'nistp521', jwkCurve: 'P-521', hash: 'sha512', fieldBytes: 66, bits: 521 },
];

function curveOf(type: KeyType): Curve {
  const curve = CURVES.find((candidate) => candidate.keyType === type);
  if (!curve) throw new KeyFormatError(`not an ECDSA key type: ${type}`);
  return curve;
}

/** The ECDSA key type for a curve size in bits (256, 384, 521), or undefined. */
export function ecdsaKeyTypeForBits(bits: number): KeyType | undefined {
  return CURVES.find((curve) => curve.bits === bits)?.keyType;
}

/** Reads `string curve, string Q` and checks the curve name agrees with the key type. */
function readCurveAndPoint(type: KeyType, reader: Reader): JsonWebKey {
  const curve = curveOf(type);
  const identifier = reader.text(64);
  if (identifier !== curve.identifier) throw new KeyFormatError('invalid format: ECDSA curve does not match key type');
  const point = reader.string();
  // SEC1 §2.3.3 uncompressed form: 0x04 || x || y. Compressed points are not allowed in SSH (RFC 5656 §3.1).
  if (point.length !== 1 + 2 * curve.fieldBytes || point[0] !== 0x04) {
    throw new KeyFormatError('invalid format: ECDSA public point is not an uncompressed point on the curve');
  }
  return {
    kty: 'EC',
    crv: curve.jwkCurve,
    x: toBase64Url(point.subarray(1, 1 + curve.fieldBytes)),
    y: toBase64Url(point.subarray(1 + curve.fieldBytes)),
  };
}

function writeCurveAndPoint(type: KeyType, jwk: JsonWebKey, writer: Writer): void {
  const curve = curveOf(type);
  writer.string(curve.identifier);
  const x = fixedLength(jwkBytes(jwk.x, 'x'), curve.fieldBytes);
  const y = fixedLength(jwkBytes(jwk.y, 'y'), curve.fieldBytes);
  writer.string(Buffer.concat([Buffer.of(0x04), x, y]));
}

export const ecdsa: KeyAlgorithm = {
  keyTypes: CURVES.map((curve) => curve.keyType),

  readPublicFields: readCurveAndPoint,
  writePublicFields: writeCurveAndPoint,

  readPrivateFields(type: KeyType, reader: Reader): JsonWebKey {
    const jwk = readCurveAndPoint(type, reader);
    const scalar = reader.mpint();
    return { ...jwk, d: toBase64Url(fixedLength(scalar, curveOf(type).fieldBytes)) };
  },

  writePrivateFields(type: KeyType, jwk: JsonWebKey, writer: Writer): void {
    writeCurveAndPoint(type, jwk, writer);
    writer.mpint(jwkBytes(jwk.d, 'd'));
  },

  keyTypeOf(jwk: JsonWebKey): KeyType {
    const curve = CURVES.find((candidate) => candidate.jwkCurve === jwk.crv);
    if (!curve) throw new KeyFormatError('unknown or unsupported key type');
    return curve.keyType;
  },

  bits(type: KeyType): number {
    return curveOf(type).bits;
  },

  signatureAlgorithms(type: KeyType): readonly string[] {
    return [type];
  },

  sign(type: KeyType, key: KeyObject, _algorithm: string, data: Buffer): Buffer {
    const curve = curveOf(type);
    // IEEE P1363 gives r || s at fixed width, which maps directly onto the two mpints of RFC 5656 §3.1.2.
    const rs = sign(curve.hash, data, { key, dsaEncoding: 'ieee-p1363' });
    const writer = new Writer();
    writer.mpint(rs.subarray(0, curve.fieldBytes));
    writer.mpint(rs.subarray(curve.fieldBytes));
    return Buffer.from(writer.finish());
  },

  verify(type: KeyType, key: KeyObject, _algorithm: string, data: Buffer, blob: Buffer): boolean {
    const curve = curveOf(type);
    let rs: Buffer;
    try {
      const reader = new Reader(blob);
      const r = reader.mpint();
      const s = reader.mpint();
      reader.end('ECDSA signature');
      rs = Buffer.concat([fixedLength(r, curve.fieldBytes), fixedLength(s, curve.fieldBytes)]);
    } catch {
      return false;
    }
    return verify(curve.hash, data, { key, dsaEncoding: 'ieee-p1363' }, rs);
  },
};
