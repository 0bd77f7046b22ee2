/**
 * Just enough DER (X.690 §8, §10) to hand public values that node:crypto has no JWK form for (finite-field
 * DH, DSA) to createPublicKey as a SubjectPublicKeyInfo (RFC 5280 §4.1), and to read the public value back.
 * Only definite lengths, only the universal tags used here; everything read is bounds-checked.
 */
import { DecodeError } from './errors.ts';

export const DER_TAG = { integer: 0x02, bitString: 0x03, objectIdentifier: 0x06, sequence: 0x30 } as const;

/** X.690 §8.1.3: short form below 128, else 0x80|count followed by the big-endian length. */
function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function derElement(tag: number, ...contents: Buffer[]): Buffer {
  const content = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export function derSequence(...elements: Buffer[]): Buffer {
  return derElement(DER_TAG.sequence, ...elements);
}

/** DER INTEGER (X.690 §8.3) of an unsigned big-endian magnitude: minimal, with a 0 byte when the top bit is set. */
export function derInteger(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = Buffer.from(magnitude.subarray(start));
  if (trimmed.length === 0) return derElement(DER_TAG.integer, Buffer.from([0]));
  return derElement(DER_TAG.integer, (trimmed[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

/** BIT STRING (X.690 §8.6) holding whole octets: no unused bits. */
export function derBitString(content: Buffer): Buffer {
  return derElement(DER_TAG.bitString, Buffer.from([0]), content);
}

/**
 * SubjectPublicKeyInfo (RFC 5280 §4.1.1.2): SEQUENCE { SEQUENCE { OID, parameters }, BIT STRING { INTEGER value } },
 * the layout RFC 3279 §2.3.2 (DSA) and §2.3.3 (DH) use. `oid` is the complete encoded OBJECT IDENTIFIER element.
 */
export function derPublicKeyInfo(oid: Buffer, parameters: Buffer, publicValue: Uint8Array): Buffer {
  return derSequence(derSequence(oid, parameters), derBitString(derInteger(publicValue)));
}

export interface DerElement {
  readonly tag: number;
  /** Where the content starts and ends in the buffer read. */
  readonly start: number;
  readonly end: number;
}

/** Reads one element at `offset`. Throws DecodeError when it does not fit in `der`. */
export function readDerElement(der: Buffer, offset: number): DerElement {
  if (offset + 2 > der.length) throw new DecodeError('truncated DER');
  const tag = der[offset]!;
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count > 4 || start + count > der.length) throw new DecodeError('bad DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!;
    start += count;
  }
  if (start + length > der.length) throw new DecodeError('truncated DER');
  return { tag, start, end: start + length };
}

/** The public value (unsigned magnitude) of a SubjectPublicKeyInfo whose BIT STRING holds one INTEGER. */
export function readPublicKeyInfoValue(spki: Buffer): Buffer {
  const outer = readDerElement(spki, 0);
  if (outer.tag !== DER_TAG.sequence) throw new DecodeError('expected SEQUENCE');
  const algorithm = readDerElement(spki, outer.start);
  const bitString = readDerElement(spki, algorithm.end);
  if (bitString.tag !== DER_TAG.bitString || bitString.start >= bitString.end) throw new DecodeError('expected BIT STRING');
  const value = readDerElement(spki, bitString.start + 1);
  if (value.tag !== DER_TAG.integer) throw new DecodeError('expected INTEGER');
  let start = value.start;
  while (start < value.end - 1 && spki[start] === 0) start++;
  return spki.subarray(start, value.end);
}
