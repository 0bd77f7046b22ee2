/**
 * SSH public keys: the wire blob of RFC 4253 §6.6 / RFC 5656 §3.1 / RFC 8709 §4, held alongside a
 * node:crypto KeyObject that does the verifying, and the one-line text form of authorized_keys and .pub files.
 */
import { createPublicKey, timingSafeEqual, type JsonWebKey, type KeyObject } from 'node:crypto';
import { DecodeError, Reader, Writer } from '../wire/index.ts';
import { algorithmFor, algorithmForKeyObject, keyTypeFromName } from './algorithms/index.ts';
import { KeyFormatError, type KeyType, type PublicKey } from './types.ts';

export class SshPublicKey implements PublicKey {
  readonly type: KeyType;
  readonly blob: Buffer;
  readonly bits: number;
  readonly signatureAlgorithms: readonly string[];
  /** The key as node:crypto holds it; exposed for the protocol layers that need it (e.g. for JWK export). */
  readonly keyObject: KeyObject;

  constructor(type: KeyType, jwk: JsonWebKey, keyObject?: KeyObject) {
    const family = algorithmFor(type);
    const writer = new Writer();
    writer.string(type);
    family.writePublicFields(type, jwk, writer);
    this.type = type;
    this.blob = Buffer.from(writer.finish());
    this.bits = family.bits(type, jwk);
    this.signatureAlgorithms = family.signatureAlgorithms(type);
    this.keyObject = keyObject ?? (family.importPublic ? family.importPublic(type, jwk) : importPublicJwk(jwk));
  }

  verify(data: Buffer, signature: Buffer, allowedAlgorithms?: readonly string[]): boolean {
    try {
      // RFC 4253 §6.6: string signature-format-identifier, string signature-blob.
      const reader = new Reader(signature);
      const algorithm = reader.text(64);
      const blob = reader.string();
      reader.end('signature');
      if (!this.signatureAlgorithms.includes(algorithm)) return false;
      if (allowedAlgorithms && !allowedAlgorithms.includes(algorithm)) return false;
      return algorithmFor(this.type).verify(this.type, this.keyObject, algorithm, data, blob);
    } catch {
      return false;
    }
  }

  toLine(): string {
    return `${this.type} ${this.blob.toString('base64')}`;
  }

  /** Constant-time for blobs of equal length, so matching an offered key against authorized_keys leaks no prefix. */
  equals(other: PublicKey): boolean {
    return this.type === other.type && this.blob.length === other.blob.length && timingSafeEqual(this.blob, other.blob);
  }
}

function importPublicJwk(jwk: JsonWebKey): KeyObject {
  try {
    return createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    // OpenSSL refuses points not on the curve and similar nonsense; the blob is what is wrong.
    throw new KeyFormatError('invalid format: public key rejected by the crypto library');
  }
}

/** Decodes a public key blob (RFC 4253 §6.6). Throws KeyFormatError on anything malformed or unsupported. */
export function parsePublicKeyBlob(blob: Buffer): SshPublicKey {
  try {
    const reader = new Reader(blob);
    const type = keyTypeFromName(reader.text(64));
    const jwk = algorithmFor(type).readPublicFields(type, reader);
    reader.end('public key blob');
    const key = new SshPublicKey(type, jwk);
    // Re-encoding must give back the same bytes: mpints with superfluous zero bytes are not canonical.
    if (!key.blob.equals(blob)) throw new KeyFormatError('invalid format: public key blob is not canonical');
    return key;
  } catch (error) {
    throw asKeyFormatError(error);
  }
}

/** The public half of a node:crypto key (public or private). */
export function publicKeyFromKeyObject(key: KeyObject): SshPublicKey {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const family = algorithmForKeyObject(publicKey);
  const jwk = publicKey.export({ format: 'jwk' });
  return new SshPublicKey(family.keyTypeOf(jwk), jwk, publicKey);
}

/**
 * Parses `type base64 [comment]`, the form of .pub files and of authorized_keys / known_hosts key fields.
 * The type named in the text must agree with the type inside the blob.
 */
export function parsePublicKeyLine(line: string): { key: SshPublicKey; comment: string } {
  const match = /^\s*(\S+)\s+([A-Za-z0-9+/=]+)(?:\s+(.*?))?\s*$/.exec(line);
  if (!match) throw new KeyFormatError('invalid format');
  const [, typeName, base64, comment] = match;
  const key = parsePublicKeyBlob(Buffer.from(base64!, 'base64'));
  if (key.type !== typeName) throw new KeyFormatError('invalid format: key type does not match the key blob');
  return { key, comment: comment ?? '' };
}

/** Decoding errors from the wire layer become KeyFormatError: to the caller, the key is what is malformed. */
export function asKeyFormatError(error: unknown): Error {
  if (error instanceof DecodeError) return new KeyFormatError(`invalid format: ${error.message}`);
  return error instanceof Error ? error : new KeyFormatError(String(error));
}
