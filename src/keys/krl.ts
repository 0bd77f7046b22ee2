/**
 * OpenSSH key revocation lists, the binary format `ssh-keygen -k` writes (PROTOCOL.krl). Decoding follows
 * what sshd accepts (krl.c ssh_krl_from_blob): a header, then sections of revoked certificates, explicit
 * keys and SHA1 / SHA256 fingerprints, optionally followed by signatures over everything before them.
 *
 * Tether has no certificates, so certificate sections are decoded and checked for well-formedness and kept,
 * but they can only ever match certificates: a plain key is revoked by its blob or its fingerprints.
 * Memory stays proportional to the input (bitmaps are kept as bytes, never expanded); callers bound the
 * input size.
 */
import { createHash } from 'node:crypto';
import { DecodeError, Reader } from '../wire/index.ts';
import { parsePublicKeyBlob } from './public-key.ts';
import type { PublicKey } from './types.ts';

/** PROTOCOL.krl §1: "SSHKRL\n\0". */
const KRL_MAGIC = Buffer.from('SSHKRL\n\0', 'latin1');
const KRL_FORMAT_VERSION = 1;

/** PROTOCOL.krl §1 section types. */
const SECTION = { CERTIFICATES: 1, EXPLICIT_KEY: 2, FINGERPRINT_SHA1: 3, SIGNATURE: 4, FINGERPRINT_SHA256: 5 } as const;
/** PROTOCOL.krl §2 certificate subsection types. */
const CERT_SECTION = { SERIAL_LIST: 0x20, SERIAL_RANGE: 0x21, SERIAL_BITMAP: 0x22, KEY_ID: 0x23 } as const;

/** sshbuf's limit on a bignum (SSHBUF_MAX_BIGNUM, 16384 bits) plus the sign byte. */
const MAX_BITMAP_BYTES = 16384 / 8 + 1;
const U64_LIMIT = 1n << 64n;

/**
 * Why a KRL was refused. `message` is worded as OpenSSH's ssh_err() words the same failure, since sshd logs
 * it after "Error checking authentication key …".
 */
export class KrlError extends Error {
  override readonly name = 'KrlError';
  readonly code: 'bad-magic' | 'invalid-format' | 'incomplete' | 'too-large' | 'signature' | 'revoked';
  /** What exactly was wrong (sshd logs this separately at error level, e.g. "Unsupported KRL section 9"). */
  readonly detail: string | undefined;

  constructor(code: KrlError['code'], detail?: string) {
    super(KRL_ERROR_TEXT[code]);
    this.code = code;
    this.detail = detail;
  }
}

const KRL_ERROR_TEXT: Record<KrlError['code'], string> = {
  'bad-magic': 'KRL file has invalid magic number',
  'invalid-format': 'invalid format',
  incomplete: 'incomplete message',
  'too-large': 'bignum is too large',
  signature: 'incorrect signature',
  revoked: 'Key is revoked',
};

/** Certificates revoked for one CA (PROTOCOL.krl §2); `caKey` is undefined for the "any CA" section. */
export interface RevokedCertificates {
  readonly caKey: Buffer | undefined;
  readonly serials: bigint[];
  readonly serialRanges: Array<{ min: bigint; max: bigint }>;
  /** Bit N of `bits` (big-endian, least significant bit last) revokes serial `offset + N`. */
  readonly serialBitmaps: Array<{ offset: bigint; bits: Buffer }>;
  readonly keyIds: string[];
}

export interface Krl {
  readonly krlVersion: bigint;
  readonly generatedDate: bigint;
  readonly comment: string;
  /** Keys whose signatures over the KRL verified (PROTOCOL.krl §5), not revoked by the KRL itself. */
  readonly signers: readonly PublicKey[];
  readonly certificates: readonly RevokedCertificates[];
  /** Whether a plain key is revoked: by its blob (§3) or its SHA1 / SHA256 fingerprint (§4). */
  revokesKey(key: PublicKey): boolean;
  /**
   * Whether a certificate from `caKey` (a key blob) with this serial and key ID is revoked by a section for
   * that CA or for any CA (§2; serial 0, a CA's default, is never revoked by serial, as in krl.c).
   */
  revokesCertificate(certificate: { caKey: Buffer; serial: bigint; keyId: string }): boolean;
}

function sectionRevokes(section: RevokedCertificates, serial: bigint, keyId: string): boolean {
  if (section.keyIds.includes(keyId)) return true;
  if (serial === 0n) return false;
  if (section.serials.includes(serial)) return true;
  if (section.serialRanges.some(({ min, max }) => min <= serial && serial <= max)) return true;
  return section.serialBitmaps.some(({ offset, bits }) => {
    if (serial < offset) return false;
    const index = serial - offset;
    if (index >= BigInt(bits.length * 8)) return false;
    const byte = bits[bits.length - 1 - Number(index / 8n)]!;
    return (byte & (1 << Number(index % 8n))) !== 0;
  });
}

/** Whether `data` starts like a KRL; files that do not are read as plain lists of keys instead. */
export function isKrl(data: Buffer): boolean {
  return data.length >= KRL_MAGIC.length && data.subarray(0, KRL_MAGIC.length).equals(KRL_MAGIC);
}

/** Decodes a KRL and verifies its signatures, if any. Throws KrlError. */
export function parseKrl(data: Buffer): Krl {
  if (!isKrl(data)) throw new KrlError('bad-magic');
  try {
    return decode(data);
  } catch (error) {
    if (error instanceof DecodeError) {
      throw /^truncated/.test(error.message) ? new KrlError('incomplete', error.message) : new KrlError('invalid-format', error.message);
    }
    throw error;
  }
}

/** sshbuf_get_cstring: a string that may not contain NUL. */
function cstring(reader: Reader): string {
  const bytes = reader.string();
  if (bytes.includes(0)) throw new KrlError('invalid-format', 'string contains a NUL byte');
  return bytes.toString('utf8');
}

function decode(data: Buffer): Krl {
  const reader = new Reader(data, KRL_MAGIC.length);
  if (reader.uint32() !== KRL_FORMAT_VERSION) throw new KrlError('invalid-format', 'unsupported KRL format version');
  const krlVersion = reader.uint64();
  const generatedDate = reader.uint64();
  reader.uint64(); // flags: none defined
  reader.string(); // reserved
  const comment = cstring(reader);
  const sectionsStart = reader.position;

  // First pass: verify the signatures before looking into data of unverified provenance (as krl.c does).
  const signers = verifySignatures(data, sectionsStart);

  const explicitKeys = new Set<string>();
  const sha1s = new Set<string>();
  const sha256s = new Set<string>();
  const certificates: RevokedCertificates[] = [];
  const sections = new Reader(data, sectionsStart);
  while (sections.remaining > 0) {
    const type = sections.byte();
    const body = new Reader(sections.string());
    switch (type) {
      case SECTION.CERTIFICATES:
        certificates.push(decodeCertificates(body));
        break;
      case SECTION.EXPLICIT_KEY:
        while (body.remaining > 0) explicitKeys.add(body.string().toString('hex'));
        break;
      case SECTION.FINGERPRINT_SHA1:
      case SECTION.FINGERPRINT_SHA256: {
        const [set, length] = type === SECTION.FINGERPRINT_SHA1 ? [sha1s, 20] : [sha256s, 32];
        while (body.remaining > 0) {
          const hash = body.string();
          if (hash.length !== length) throw new KrlError('invalid-format', 'bad length of a fingerprint hash');
          set.add(hash.toString('hex'));
        }
        break;
      }
      case SECTION.SIGNATURE:
        sections.string(); // the signature itself, already verified; the body read was the signing key
        continue;
      default:
        throw new KrlError('invalid-format', `Unsupported KRL section ${type}`);
    }
    if (body.remaining > 0) throw new KrlError('invalid-format', 'KRL section contains unparsed data');
  }

  const revokesKey = (key: PublicKey): boolean =>
    sha1s.has(createHash('sha1').update(key.blob).digest('hex')) ||
    sha256s.has(createHash('sha256').update(key.blob).digest('hex')) ||
    explicitKeys.has(key.blob.toString('hex'));

  // A KRL whose every signer it revokes vouches for nothing (krl.c: "All keys used to sign KRL were revoked").
  const validSigners = signers.filter((key) => !revokesKey(key));
  if (signers.length > 0 && validSigners.length === 0) throw new KrlError('revoked', 'All keys used to sign KRL were revoked');
  const revokesCertificate = ({ caKey, serial, keyId }: { caKey: Buffer; serial: bigint; keyId: string }): boolean =>
    certificates.some((section) => (section.caKey === undefined || section.caKey.equals(caKey)) && sectionRevokes(section, serial, keyId));
  return { krlVersion, generatedDate, comment, signers: validSigners, certificates, revokesKey, revokesCertificate };
}

/**
 * PROTOCOL.krl §5: each signature section holds a key and its signature over the KRL from the magic up to
 * and including that key. Signature sections come last; one key may sign only once.
 */
function verifySignatures(data: Buffer, sectionsStart: number): PublicKey[] {
  const signers: PublicKey[] = [];
  const reader = new Reader(data, sectionsStart);
  while (reader.remaining > 0) {
    const type = reader.byte();
    const body = reader.string();
    if (type !== SECTION.SIGNATURE) {
      if (signers.length > 0) throw new KrlError('invalid-format', 'KRL contains non-signature section after signature');
      continue;
    }
    let key: PublicKey;
    try {
      key = parsePublicKeyBlob(body);
    } catch {
      throw new KrlError('invalid-format', 'unsupported or malformed KRL signing key');
    }
    const signedLength = reader.position;
    const signature = reader.string();
    if (!key.verify(data.subarray(0, signedLength), signature)) throw new KrlError('signature');
    if (signers.some((signer) => signer.equals(key))) throw new KrlError('invalid-format', 'KRL signed more than once with the same key');
    signers.push(key);
  }
  return signers;
}

/** PROTOCOL.krl §2: the CA key (empty for any CA), a reserved string, then subsections. */
function decodeCertificates(reader: Reader): RevokedCertificates {
  const caBlob = reader.string();
  reader.string(); // reserved
  const revoked: RevokedCertificates = {
    caKey: caBlob.length > 0 ? Buffer.from(caBlob) : undefined,
    serials: [],
    serialRanges: [],
    serialBitmaps: [],
    keyIds: [],
  };
  while (reader.remaining > 0) {
    const type = reader.byte();
    const body = new Reader(reader.string());
    switch (type) {
      case CERT_SECTION.SERIAL_LIST:
        while (body.remaining > 0) revoked.serials.push(body.uint64());
        break;
      case CERT_SECTION.SERIAL_RANGE: {
        const min = body.uint64();
        const max = body.uint64();
        if (min > max) throw new KrlError('invalid-format', 'serial range with its minimum above its maximum');
        revoked.serialRanges.push({ min, max });
        break;
      }
      case CERT_SECTION.SERIAL_BITMAP: {
        const offset = body.uint64();
        const bits = bitmapBytes(body.string());
        if (bits.length > 0 && offset + BigInt(bits.length * 8 - Math.clz32(bits[0]!) + 24) - 1n >= U64_LIMIT) {
          throw new KrlError('invalid-format', 'bitmap wraps u64');
        }
        revoked.serialBitmaps.push({ offset, bits });
        break;
      }
      case CERT_SECTION.KEY_ID:
        while (body.remaining > 0) revoked.keyIds.push(cstring(body));
        break;
      default:
        throw new KrlError('invalid-format', `Unsupported KRL certificate section ${type}`);
    }
    if (body.remaining > 0) throw new KrlError('invalid-format', 'KRL certificate section contains unparsed data');
  }
  return revoked;
}

/** The bitmap is an mpint (RFC 4251 §5): non-negative, at most one leading zero byte, bounded like sshbuf. */
function bitmapBytes(mpint: Buffer): Buffer {
  if (mpint.length > MAX_BITMAP_BYTES) throw new KrlError('too-large');
  if (mpint.length > 0 && (mpint[0]! & 0x80) !== 0) throw new KrlError('invalid-format', 'negative bitmap');
  let start = 0;
  while (start < mpint.length && mpint[start] === 0) start++;
  return Buffer.from(mpint.subarray(start));
}
