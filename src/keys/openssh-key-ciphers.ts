/**
 * The symmetric ciphers OpenSSH may use to encrypt the private section of an openssh-key-v1 file
 * (PROTOCOL.key), with the bcrypt_pbkdf key derivation. Key and IV come out of one KDF call, key first.
 * For the AES-GCM variant the 16-byte tag follows the encrypted section, outside its length field.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { createRequire } from 'node:module';
import type bcryptPbkdfModule from 'bcrypt-pbkdf';
import { KeyFormatError, WrongPassphraseError } from './types.ts';

export interface KeyFileCipher {
  readonly name: string;
  readonly keyLength: number;
  readonly ivLength: number;
  /** The private section is padded to a multiple of this (PROTOCOL.key). */
  readonly blockSize: number;
  /** Bytes of authentication tag stored after the encrypted section (0 for unauthenticated modes). */
  readonly tagLength: number;
  /** The node:crypto (OpenSSL) cipher name. */
  readonly openssl: string;
}

const CIPHERS: readonly KeyFileCipher[] = [
  { name: 'aes256-ctr', keyLength: 32, ivLength: 16, blockSize: 16, tagLength: 0, openssl: 'aes-256-ctr' },
  { name: 'aes192-ctr', keyLength: 24, ivLength: 16, blockSize: 16, tagLength: 0, openssl: 'aes-192-ctr' },
  { name: 'aes128-ctr', keyLength: 16, ivLength: 16, blockSize: 16, tagLength: 0, openssl: 'aes-128-ctr' },
  { name: 'aes256-cbc', keyLength: 32, ivLength: 16, blockSize: 16, tagLength: 0, openssl: 'aes-256-cbc' },
  { name: 'aes192-cbc', keyLength: 24, ivLength: 16, blockSize: 16, tagLength: 0, openssl: 'aes-192-cbc' },
  { name: 'aes128-cbc', keyLength: 16, ivLength: 16, blockSize: 16, tagLength: 0, openssl: 'aes-128-cbc' },
  { name: 'aes256-gcm@openssh.com', keyLength: 32, ivLength: 12, blockSize: 16, tagLength: 16, openssl: 'aes-256-gcm' },
  { name: 'aes128-gcm@openssh.com', keyLength: 16, ivLength: 12, blockSize: 16, tagLength: 16, openssl: 'aes-128-gcm' },
];

/** The unencrypted case: "none" pads to 8 bytes (PROTOCOL.key). */
export const NO_CIPHER_BLOCK_SIZE = 8;

export function keyFileCipher(name: string): KeyFileCipher {
  const cipher = CIPHERS.find((candidate) => candidate.name === name);
  if (!cipher) throw new KeyFormatError(`unknown cipher ${name.slice(0, 64)} in private key file`);
  return cipher;
}

let bcryptPbkdf: typeof bcryptPbkdfModule | undefined;

/**
 * bcrypt-pbkdf (and the tweetnacl it needs) loads only for an encrypted key: a static import would start
 * Node's CommonJS loader and read both packages on every `tether ssh`, for keys that are mostly unencrypted
 * (issue 17: start-up is most of a short command's time).
 */
function loadBcryptPbkdf(): typeof bcryptPbkdfModule {
  bcryptPbkdf ??= createRequire(import.meta.url)('bcrypt-pbkdf') as typeof bcryptPbkdfModule;
  return bcryptPbkdf;
}

/** bcrypt_pbkdf(passphrase, salt, rounds) → key || iv. */
export function deriveKeyAndIv(cipher: KeyFileCipher, passphrase: Buffer, salt: Buffer, rounds: number): {
  key: Buffer;
  iv: Buffer;
} {
  const out = Buffer.alloc(cipher.keyLength + cipher.ivLength);
  if (loadBcryptPbkdf().pbkdf(passphrase, passphrase.length, salt, salt.length, out, out.length, rounds) !== 0) {
    throw new KeyFormatError('invalid format: bad KDF parameters');
  }
  return { key: out.subarray(0, cipher.keyLength), iv: out.subarray(cipher.keyLength) };
}

/** Decrypts the private section; `tag` is required for GCM. A failed GCM tag means a wrong passphrase. */
export function decryptSection(cipher: KeyFileCipher, key: Buffer, iv: Buffer, data: Buffer, tag: Buffer): Buffer {
  const decipher = createDecipheriv(cipher.openssl, key, iv);
  decipher.setAutoPadding(false);
  if (cipher.tagLength > 0) (decipher as unknown as { setAuthTag(tag: Buffer): void }).setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    throw new WrongPassphraseError('incorrect passphrase supplied to decrypt private key');
  }
}

/** Encrypts the (already padded) private section; returns ciphertext followed by the tag, if any. */
export function encryptSection(cipher: KeyFileCipher, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const encipher = createCipheriv(cipher.openssl, key, iv);
  encipher.setAutoPadding(false);
  const parts: Buffer[] = [encipher.update(data), encipher.final()];
  if (cipher.tagLength > 0) parts.push((encipher as unknown as { getAuthTag(): Buffer }).getAuthTag());
  return Buffer.concat(parts);
}
