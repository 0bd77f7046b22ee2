/**
 * The openssh-key-v1 private key file format (OpenSSH PROTOCOL.key):
 *
 *   "openssh-key-v1" NUL, string ciphername, string kdfname, string kdfoptions, uint32 N (= 1),
 *   string publickey, string encrypted-section [, tag for AEAD ciphers]
 *
 * The decrypted section holds uint32 checkint, uint32 checkint (equal: a cheap passphrase check), the
 * private key fields with the comment, then padding bytes 1, 2, 3, … up to the cipher block size.
 * kdfoptions for "bcrypt" is string salt, uint32 rounds.
 */
import { randomBytes } from 'node:crypto';
import { Reader, Writer } from '../wire/index.ts';
import { armor, unarmor } from './armor.ts';
import {
  decryptSection,
  deriveKeyAndIv,
  encryptSection,
  keyFileCipher,
  NO_CIPHER_BLOCK_SIZE,
} from './openssh-key-ciphers.ts';
import { decodePrivateKeyFields, writePrivateKeyFields } from './private-key-fields.ts';
import type { SshPrivateKey } from './private-key.ts';
import { asKeyFormatError, parsePublicKeyBlob } from './public-key.ts';
import { KeyFormatError, PassphraseRequiredError, WrongPassphraseError, type PrivateKey } from './types.ts';

export const OPENSSH_LABEL = 'OPENSSH PRIVATE KEY';
const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
/** OpenSSH writes 70 base64 characters per line. */
const LINE_WIDTH = 70;
const SALT_LENGTH = 16;
export const DEFAULT_KDF_ROUNDS = 16;
export const DEFAULT_KEY_CIPHER = 'aes256-ctr';

/** The fields before the private section, readable without a passphrase. */
interface Envelope {
  cipherName: string;
  kdfName: string;
  kdfOptions: Buffer;
  publicBlob: Buffer;
  section: Buffer;
  tag: Buffer;
}

function readEnvelope(text: string): Envelope {
  const binary = unarmor(text, OPENSSH_LABEL);
  if (binary.length < MAGIC.length || !binary.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new KeyFormatError('invalid format');
  }
  try {
    const reader = new Reader(binary, MAGIC.length);
    const cipherName = reader.text(64);
    const kdfName = reader.text(64);
    const kdfOptions = reader.string(1024);
    const count = reader.uint32();
    // OpenSSH itself only ever writes and reads one key per file.
    if (count !== 1) throw new KeyFormatError('invalid format: key file does not hold exactly one key');
    const publicBlob = reader.string();
    const section = reader.string();
    const tagLength = cipherName === 'none' ? 0 : keyFileCipher(cipherName).tagLength;
    const tag = reader.raw(tagLength);
    reader.end('private key file');
    return { cipherName, kdfName, kdfOptions, publicBlob, section, tag };
  } catch (error) {
    throw asKeyFormatError(error);
  }
}

export function isOpenSshKeyEncrypted(text: string): boolean {
  return readEnvelope(text).cipherName !== 'none';
}

/** The public key stored in the clear at the top of the file (what ssh-keygen -l reads without a passphrase). */
export function readOpenSshPublicKey(text: string): ReturnType<typeof parsePublicKeyBlob> {
  return parsePublicKeyBlob(readEnvelope(text).publicBlob);
}

function toBuffer(passphrase: string | Buffer): Buffer {
  return typeof passphrase === 'string' ? Buffer.from(passphrase, 'utf8') : passphrase;
}

/**
 * sshkey.c private2_decrypt: the private section is at least one cipher block and a whole number of them.
 * A truncated (or spliced) file fails here, before any passphrase is tried, as "invalid format".
 */
function checkSectionLength(section: Buffer, blockSize: number): void {
  if (section.length < blockSize || section.length % blockSize !== 0) throw new KeyFormatError('invalid format');
}

function decrypt(envelope: Envelope, passphrase: string | Buffer | undefined): Buffer {
  if (envelope.cipherName === 'none') {
    if (envelope.kdfName !== 'none') throw new KeyFormatError('invalid format: KDF without a cipher');
    checkSectionLength(envelope.section, NO_CIPHER_BLOCK_SIZE);
    return envelope.section;
  }
  const cipher = keyFileCipher(envelope.cipherName);
  if (envelope.kdfName !== 'bcrypt') throw new KeyFormatError(`unsupported KDF ${envelope.kdfName.slice(0, 64)}`);
  if (passphrase === undefined || toBuffer(passphrase).length === 0) {
    throw new PassphraseRequiredError('private key is encrypted and no passphrase was given');
  }
  let salt: Buffer;
  let rounds: number;
  try {
    const options = new Reader(envelope.kdfOptions);
    salt = options.string(1024);
    rounds = options.uint32();
    options.end('KDF options');
  } catch (error) {
    throw asKeyFormatError(error);
  }
  checkSectionLength(envelope.section, cipher.blockSize);
  const secret = toBuffer(passphrase);
  const { key, iv } = deriveKeyAndIv(cipher, secret, salt, rounds);
  // A copy we made from a string is ours to wipe; a caller's Buffer is left to the caller.
  if (typeof passphrase === 'string') secret.fill(0);
  try {
    return decryptSection(cipher, key, iv, envelope.section, envelope.tag);
  } finally {
    key.fill(0);
  }
}

/** Parses an openssh-key-v1 file. */
export function parseOpenSshPrivateKey(text: string, passphrase?: string | Buffer): SshPrivateKey {
  const envelope = readEnvelope(text);
  const plain = decrypt(envelope, passphrase);
  try {
    const reader = new Reader(plain);
    const check1 = reader.uint32();
    const check2 = reader.uint32();
    if (check1 !== check2) {
      if (envelope.cipherName === 'none') throw new KeyFormatError('invalid format');
      throw new WrongPassphraseError('incorrect passphrase supplied to decrypt private key');
    }
    const key = decodePrivateKeyFields(reader);
    const padding = reader.rest();
    // PROTOCOL.key: deterministic padding 1, 2, 3, … — anything else means corruption.
    if (padding.some((byte, index) => byte !== ((index + 1) & 0xff))) throw new KeyFormatError('invalid format');
    if (!key.publicKey.blob.equals(envelope.publicBlob)) {
      throw new KeyFormatError('invalid format: public key does not match the private key');
    }
    return key;
  } catch (error) {
    throw asKeyFormatError(error);
  } finally {
    if (plain !== envelope.section) plain.fill(0);
  }
}

export interface SerializeOptions {
  /** Encrypts with bcrypt_pbkdf and `cipher` when non-empty. */
  passphrase?: string | Buffer;
  /** bcrypt_pbkdf rounds (ssh-keygen -a); default 16. */
  rounds?: number;
  /** Key file cipher; default aes256-ctr, as ssh-keygen. */
  cipher?: string;
}

/** Writes `key` as an openssh-key-v1 file (armoured text, ending in a newline). */
export function serializePrivateKey(key: PrivateKey, options: SerializeOptions = {}): string {
  const passphrase = options.passphrase === undefined ? Buffer.alloc(0) : toBuffer(options.passphrase);
  const encrypted = passphrase.length > 0;
  const cipher = encrypted ? keyFileCipher(options.cipher ?? DEFAULT_KEY_CIPHER) : undefined;
  const blockSize = cipher?.blockSize ?? NO_CIPHER_BLOCK_SIZE;

  const section = new Writer(2048);
  // A random checkint makes the passphrase check unpredictable to anyone without the key (PROTOCOL.key).
  const checkint = randomBytes(4).readUInt32BE(0);
  section.uint32(checkint).uint32(checkint);
  writePrivateKeyFields(key, section);
  for (let pad = 1; section.size % blockSize !== 0; pad++) section.byte(pad);
  let body: Buffer = Buffer.from(section.finish());
  section.finish().fill(0);

  const kdfOptions = new Writer();
  if (cipher) {
    const rounds = options.rounds ?? DEFAULT_KDF_ROUNDS;
    if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError('KDF rounds must be a positive integer');
    const salt = randomBytes(SALT_LENGTH);
    kdfOptions.string(salt).uint32(rounds);
    const { key: cipherKey, iv } = deriveKeyAndIv(cipher, passphrase, salt, rounds);
    const plain = body;
    body = encryptSection(cipher, cipherKey, iv, plain);
    plain.fill(0);
    cipherKey.fill(0);
  }

  const file = new Writer(4096);
  file.raw(MAGIC);
  file.string(cipher?.name ?? 'none');
  file.string(cipher ? 'bcrypt' : 'none');
  file.string(kdfOptions.finish());
  file.uint32(1);
  file.string(key.publicKey.blob);
  const tagLength = cipher?.tagLength ?? 0;
  file.string(body.subarray(0, body.length - tagLength));
  file.raw(body.subarray(body.length - tagLength));
  return armor(Buffer.from(file.finish()), OPENSSH_LABEL, LINE_WIDTH);
}
