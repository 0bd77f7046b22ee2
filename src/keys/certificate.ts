/**
 * OpenSSH certificates (PROTOCOL.certkeys): a `*-cert-v01@openssh.com` blob carries a nonce, the certified
 * key's own public fields, serial, type, key ID, principals, validity interval, critical options,
 * extensions, a reserved field, the CA's public key and the CA's signature over everything before it.
 *
 * A client offers the blob as it is and signs with the certified key; a server decodes it here, checks the
 * CA signature (verifyCertificateSignature) and the certificate's authority (checkCertificateAuthority).
 * Decoding is bounded and throws CertificateError (a KeyFormatError) worded as OpenSSH's ssh_err().
 */
import { randomBytes } from 'node:crypto';
import { Reader, Writer } from '../wire/index.ts';
import { certificateKeyTypes, keyTypeFromName } from './algorithms/index.ts';
import { asKeyFormatError, parsePublicKeyBlob, SshPublicKey } from './public-key.ts';
import { fingerprint, keyTypeLabel, type FingerprintHash } from './fingerprint.ts';
import { KeyFormatError, type KeyType, type PrivateKey, type PublicKey } from './types.ts';

const CERT_SUFFIX = '-cert-v01@openssh.com';

/** PROTOCOL.certkeys: the certificate's "type" field. */
export const SSH_CERT_TYPE = { USER: 1, HOST: 2 } as const;

/** sshkey.c SSHKEY_CERT_MAX_PRINCIPALS. */
export const MAX_PRINCIPALS = 256;
/** A certificate travels in one packet; nothing larger is decoded. */
export const MAX_CERTIFICATE_BYTES = 16 * 1024;

/** A certificate that is malformed, of an unknown type, or whose CA signature does not verify. */
export class CertificateError extends KeyFormatError {
  override readonly name = 'CertificateError';
}

/** One critical option or extension (PROTOCOL.certkeys): a name and its data (itself wire-encoded). */
export interface CertificateOption {
  readonly name: string;
  readonly data: Buffer;
}

export interface Certificate {
  /** The certificate's key-format name, e.g. ssh-ed25519-cert-v01@openssh.com. */
  readonly type: string;
  readonly blob: Buffer;
  /** The key the certificate certifies; it makes the signatures. */
  readonly key: SshPublicKey;
  readonly nonce: Buffer;
  readonly serial: bigint;
  /** SSH_CERT_TYPE.USER or HOST. */
  readonly certType: number;
  readonly keyId: string;
  /** Empty: valid for any principal (a user certificate without principals is refused by sshd). */
  readonly principals: readonly string[];
  /** Seconds since the epoch; validBefore 0xffffffffffffffff is "forever". */
  readonly validAfter: bigint;
  readonly validBefore: bigint;
  readonly criticalOptions: readonly CertificateOption[];
  readonly extensions: readonly CertificateOption[];
  /** The CA's key (never itself a certificate). */
  readonly signatureKey: SshPublicKey;
  /** The CA's signature: string algorithm, string blob. */
  readonly signature: Buffer;
  /** The signature's algorithm (checked against CASignatureAlgorithms). */
  readonly signatureAlgorithm: string;
  /** The bytes the CA signed: the blob up to and including the signature key. */
  readonly signedData: Buffer;
}

/** The certificate key types of the plain key types Tether implements, in registry order. */
export const CERTIFICATE_KEY_TYPES: readonly string[] = Object.freeze(certificateKeyTypes());

export function isCertificateType(name: string): boolean {
  return name.endsWith(CERT_SUFFIX);
}

/**
 * The algorithm name to offer a certificate under for a signature algorithm of its key: the key's own
 * names with the certificate suffix (rsa-sha2-512 → rsa-sha2-512-cert-v01@openssh.com).
 */
export function certificateAlgorithm(signatureAlgorithm: string): string {
  return `${signatureAlgorithm}${CERT_SUFFIX}`;
}

/** The plain signature algorithm behind a certificate algorithm name, or undefined when it is not one. */
export function plainAlgorithmOf(certificateAlgorithmName: string): string | undefined {
  return isCertificateType(certificateAlgorithmName) ? certificateAlgorithmName.slice(0, -CERT_SUFFIX.length) : undefined;
}

/** The certificate algorithm names a certificate may be offered under (PROTOCOL.certkeys: RSA has three). */
export function certificateAlgorithms(certificate: Certificate): string[] {
  return certificate.key.signatureAlgorithms.map(certificateAlgorithm);
}

/** sshkey_type() of a certificate: the key's short name with -CERT (ED25519-CERT, RSA-CERT, ECDSA-CERT). */
export function certificateTypeLabel(certificate: Certificate): string {
  return `${keyTypeLabel(certificate.key.type)}-CERT`;
}

/**
 * How OpenSSH names a certificate in its logs (auth.c format_method_key): the fingerprint is that of the
 * certified key (sshkey_fingerprint hashes the plain key), followed by the key ID, serial and CA.
 */
export function describeCertificate(certificate: Certificate, hash: FingerprintHash = 'sha256'): string {
  const ca = certificate.signatureKey;
  return (
    `${certificateTypeLabel(certificate)} ${fingerprint(certificate.key.blob, hash)} ID ${certificate.keyId} ` +
    `(serial ${certificate.serial}) CA ${keyTypeLabel(ca.type)} ${fingerprint(ca.blob, hash)}`
  );
}

function readOptions(section: Buffer): CertificateOption[] {
  const reader = new Reader(section);
  const options: CertificateOption[] = [];
  while (reader.remaining > 0) options.push({ name: reader.text(1024), data: Buffer.from(reader.string()) });
  return options;
}

/**
 * Decodes a certificate blob (PROTOCOL.certkeys). The CA signature is decoded but not checked: that is
 * verifyCertificateSignature's job. Throws CertificateError (a KeyFormatError).
 */
export function parseCertificateBlob(blob: Buffer): Certificate {
  try {
    if (blob.length > MAX_CERTIFICATE_BYTES) throw new CertificateError('invalid format: certificate too large');
    const reader = new Reader(blob);
    const type = reader.text(64);
    const plain = plainAlgorithmOf(type);
    if (plain === undefined || !CERTIFICATE_KEY_TYPES.includes(type)) throw new CertificateError('unknown or unsupported key type');
    const keyType: KeyType = keyTypeFromName(plain);
    const nonce = Buffer.from(reader.string(1024));
    const fieldsStart = reader.position;
    // The certified key's fields are laid out as in its plain blob after the type string.
    const fieldsReader = new Reader(blob, fieldsStart);
    const plainWriter = new Writer(blob.length).string(keyType);
    for (let i = 0; i < (keyType === 'ssh-ed25519' ? 1 : 2); i++) plainWriter.string(fieldsReader.string(16 * 1024));
    const key = parsePublicKeyBlob(Buffer.from(plainWriter.finish()));
    reader.raw(fieldsReader.position - fieldsStart);
    const serial = reader.uint64();
    const certType = reader.uint32();
    const keyId = reader.text(4096);
    const principalsReader = new Reader(reader.string(64 * 1024));
    const principals: string[] = [];
    while (principalsReader.remaining > 0) {
      if (principals.length >= MAX_PRINCIPALS) throw new CertificateError('invalid format: too many principals');
      principals.push(principalsReader.text(1024));
    }
    const validAfter = reader.uint64();
    const validBefore = reader.uint64();
    const criticalOptions = readOptions(reader.string());
    const extensions = readOptions(reader.string());
    reader.string(); // reserved
    const caBlob = reader.string();
    const signedData = Buffer.from(blob.subarray(0, reader.position));
    const signature = Buffer.from(reader.string());
    reader.end('certificate');
    if (certType !== SSH_CERT_TYPE.USER && certType !== SSH_CERT_TYPE.HOST) throw new CertificateError('unknown certificate type');
    let signatureKey: SshPublicKey;
    try {
      // sshkey_type_is_valid_ca: a plain key; a certificate cannot sign certificates.
      signatureKey = parsePublicKeyBlob(Buffer.from(caBlob));
    } catch {
      throw new CertificateError('invalid certificate signing key');
    }
    const signatureAlgorithm = new Reader(signature).text(64);
    return {
      type, blob: Buffer.from(blob), key, nonce, serial, certType, keyId, principals, validAfter, validBefore,
      criticalOptions, extensions, signatureKey, signature, signatureAlgorithm, signedData,
    };
  } catch (error) {
    if (error instanceof CertificateError) throw error;
    const converted = asKeyFormatError(error);
    throw new CertificateError(converted.message);
  }
}

/** Whether the CA's signature over the certificate verifies (cert_parse's sshkey_verify). */
export function verifyCertificateSignature(certificate: Certificate): boolean {
  return certificate.signatureKey.verify(certificate.signedData, certificate.signature);
}

/** Decodes a certificate and checks its CA signature; throws CertificateError("incorrect signature"). */
export function parseVerifiedCertificate(blob: Buffer): Certificate {
  const certificate = parseCertificateBlob(blob);
  if (!verifyCertificateSignature(certificate)) throw new CertificateError('incorrect signature');
  return certificate;
}

/** Parses `type base64 [comment]` of a `-cert.pub` file; the named type must be the blob's. */
export function parseCertificateLine(line: string): { certificate: Certificate; comment: string } {
  const match = /^\s*(\S+)\s+([A-Za-z0-9+/=]+)(?:\s+(.*?))?\s*$/.exec(line);
  if (!match) throw new CertificateError('invalid format');
  const certificate = parseCertificateBlob(Buffer.from(match[2]!, 'base64'));
  if (certificate.type !== match[1]) throw new CertificateError('invalid format: key type does not match the key blob');
  return { certificate, comment: match[3] ?? '' };
}

export interface AuthorityCheck {
  /** A host certificate is wanted (else a user certificate). */
  wantHost: boolean;
  /** A certificate without principals is refused. */
  requirePrincipal: boolean;
  /** The name that must be among the principals; undefined skips the principal check. */
  name?: string;
  /** Seconds since the epoch (default: now). */
  now?: bigint;
}

/**
 * sshkey_cert_check_authority: undefined when the certificate may be used, else OpenSSH's reason
 * ("Certificate invalid: expired", …).
 */
export function checkCertificateAuthority(certificate: Certificate, check: AuthorityCheck): string | undefined {
  const now = check.now ?? BigInt(Math.floor(Date.now() / 1000));
  if (check.wantHost && certificate.certType !== SSH_CERT_TYPE.HOST) return 'Certificate invalid: not a host certificate';
  if (!check.wantHost && certificate.certType !== SSH_CERT_TYPE.USER) return 'Certificate invalid: not a user certificate';
  if (now < certificate.validAfter) return 'Certificate invalid: not yet valid';
  if (now >= certificate.validBefore) return 'Certificate invalid: expired';
  if (certificate.principals.length === 0) {
    if (check.requirePrincipal) return 'Certificate lacks principal list';
  } else if (check.name !== undefined && !certificate.principals.includes(check.name)) {
    return 'Certificate invalid: name is not a listed principal';
  }
  return undefined;
}

/** The value of a string-valued option (force-command, source-address): its data is one `string`. */
export function optionText(option: CertificateOption): string {
  const reader = new Reader(option.data);
  const text = reader.text(64 * 1024);
  reader.end(`certificate option ${option.name}`);
  return text;
}

export interface CertificateFields {
  key: PublicKey;
  serial?: bigint;
  certType?: number;
  keyId?: string;
  principals?: readonly string[];
  validAfter?: bigint;
  validBefore?: bigint;
  /** Each kept in the order given: PROTOCOL.certkeys wants them sorted by name, as ssh-keygen writes them. */
  criticalOptions?: readonly CertificateOption[];
  extensions?: readonly CertificateOption[];
  nonce?: Buffer;
}

/** Encodes a string-valued option's data (force-command, source-address). */
export function textOptionData(value: string): Buffer {
  return Buffer.from(new Writer().string(value).finish());
}

function writeOptions(options: readonly CertificateOption[]): Buffer {
  const writer = new Writer();
  for (const option of options) writer.string(option.name).string(option.data);
  return Buffer.from(writer.finish());
}

/**
 * Issues a certificate for `fields.key`, signed by `ca` (ssh-keygen -s). Defaults: a user certificate,
 * serial 0, valid from the epoch forever, no principals, options or extensions.
 */
export function issueCertificate(fields: CertificateFields, ca: PrivateKey, signatureAlgorithm?: string): Certificate {
  const type = certificateAlgorithm(fields.key.type);
  const keyFields = new Reader(fields.key.blob);
  keyFields.string(64); // the plain type string; the fields follow
  const principals = new Writer();
  for (const principal of fields.principals ?? []) principals.string(principal);
  const body = new Writer(1024)
    .string(type)
    .string(fields.nonce ?? randomBytes(32))
    .raw(keyFields.rest())
    .uint64(fields.serial ?? 0n)
    .uint32(fields.certType ?? SSH_CERT_TYPE.USER)
    .string(fields.keyId ?? '')
    .string(principals.finish())
    .uint64(fields.validAfter ?? 0n)
    .uint64(fields.validBefore ?? 0xffffffffffffffffn)
    .string(writeOptions(fields.criticalOptions ?? []))
    .string(writeOptions(fields.extensions ?? []))
    .string('')
    .string(ca.publicKey.blob);
  const signed = Buffer.from(body.finish());
  const signature = ca.sign(signed, signatureAlgorithm);
  return parseCertificateBlob(Buffer.concat([signed, Buffer.from(new Writer().string(signature).finish())]));
}
