/**
 * Just enough DER (X.690) to move finite-field DH public values in and out of node:crypto KeyObjects:
 * SubjectPublicKeyInfo { AlgorithmIdentifier { dhKeyAgreement, DHParameter { p, g } }, BIT STRING { INTEGER y } }
 * (PKCS #3, RFC 3279 §2.3.3). KeyObjects are used instead of crypto.createDiffieHellman because the latter
 * runs a safe-prime check costing seconds to tens of seconds for 4096–8192-bit groups.
 */
import { DecodeError } from '../../wire/errors.ts';

const DH_KEY_AGREEMENT_OID = Buffer.from('06092a864886f70d010301', 'hex'); // 1.2.840.113549.1.3.1

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function element(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

/** DER INTEGER from an unsigned big-endian magnitude. */
function integer(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  return element(0x02, (trimmed[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

export function encodeDhPublicKey(prime: Buffer, generator: Buffer, publicValue: Buffer): Buffer {
  const algorithm = element(0x30, Buffer.concat([DH_KEY_AGREEMENT_OID, element(0x30, Buffer.concat([integer(prime), integer(generator)]))]));
  const subjectPublicKey = element(0x03, Buffer.concat([Buffer.from([0]), integer(publicValue)]));
  return element(0x30, Buffer.concat([algorithm, subjectPublicKey]));
}

/** Reads one element at `offset`: its tag, content bounds and where the next element starts. */
function readElement(der: Buffer, offset: number): { tag: number; start: number; end: number } {
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

/** The public value y (unsigned magnitude) from a DH SubjectPublicKeyInfo. */
export function decodeDhPublicValue(spki: Buffer): Buffer {
  const outer = readElement(spki, 0);
  const algorithm = readElement(spki, outer.start);
  const bitString = readElement(spki, algorithm.end);
  if (bitString.tag !== 0x03) throw new DecodeError('expected BIT STRING');
  const value = readElement(spki, bitString.start + 1);
  if (value.tag !== 0x02) throw new DecodeError('expected INTEGER');
  let start = value.start;
  while (start < value.end - 1 && spki[start] === 0) start++;
  return spki.subarray(start, value.end);
}
