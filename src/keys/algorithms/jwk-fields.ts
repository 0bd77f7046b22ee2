/** Conversions between JWK base64url members and the unsigned big-endian magnitudes SSH carries. */
import { KeyFormatError } from '../types.ts';

export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** Decodes a JWK member, failing with KeyFormatError when it is absent (a public JWK where a private one was due). */
export function jwkBytes(value: string | undefined, member: string): Buffer {
  if (value === undefined) throw new KeyFormatError(`key is missing its "${member}" component`);
  return Buffer.from(value, 'base64url');
}

/** Left-pads (or, for leading zeros only, trims) a big-endian magnitude to exactly `length` bytes. */
export function fixedLength(magnitude: Uint8Array, length: number): Buffer {
  let start = 0;
  while (magnitude.length - start > length && magnitude[start] === 0) start++;
  const significant = magnitude.subarray(start);
  if (significant.length > length) throw new KeyFormatError('integer too large for its field');
  const out = Buffer.alloc(length);
  out.set(significant, length - significant.length);
  return out;
}

/** The number of significant bits of a big-endian magnitude (BN_num_bits). */
export function bitLength(magnitude: Uint8Array): number {
  let start = 0;
  while (start < magnitude.length && magnitude[start] === 0) start++;
  if (start === magnitude.length) return 0;
  return (magnitude.length - start - 1) * 8 + (32 - Math.clz32(magnitude[start]!));
}

export function toBigInt(magnitude: Uint8Array): bigint {
  return magnitude.length === 0 ? 0n : BigInt('0x' + Buffer.from(magnitude).toString('hex'));
}

export function fromBigInt(value: bigint): Buffer {
  if (value === 0n) return Buffer.alloc(0);
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 === 0 ? hex : '0' + hex, 'hex');
}
