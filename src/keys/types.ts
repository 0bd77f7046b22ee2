/**
 * The contract between key handling and the protocol layers. Keys are immutable values; every secret stays
 * inside a node:crypto KeyObject and is never logged or put in an error message.
 */

/**
 * Public-key algorithms by their key-format name (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709). ssh-dss is
 * verify-only (src/keys/algorithms/dsa.ts).
 */
export type KeyType =
  | 'ssh-ed25519'
  | 'ecdsa-sha2-nistp256'
  | 'ecdsa-sha2-nistp384'
  | 'ecdsa-sha2-nistp521'
  | 'ssh-rsa'
  | 'ssh-dss';

export interface PublicKey {
  readonly type: KeyType;
  /** The SSH wire encoding of the key (RFC 4253 §6.6), as it appears in KEXDH_REPLY and authorized_keys. */
  readonly blob: Buffer;
  /** Key size in bits as ssh-keygen -l prints it (256 for ed25519, curve size for ECDSA, modulus for RSA). */
  readonly bits: number;
  /**
   * Signature algorithms usable with this key, most preferred first: ['ssh-ed25519'],
   * ['ecdsa-sha2-nistp256'], or ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] (RFC 8332).
   */
  readonly signatureAlgorithms: readonly string[];
  /**
   * Verifies `signature` — the SSH signature encoding `string algorithm, string blob` — over `data`.
   * Returns false (never throws) when malformed, mismatched, or when the signature's algorithm is not one
   * of this key's or not in `allowedAlgorithms` when given.
   */
  verify(data: Buffer, signature: Buffer, allowedAlgorithms?: readonly string[]): boolean;
  /** `type base64` (no comment): the authorized_keys / known_hosts form. */
  toLine(): string;
  equals(other: PublicKey): boolean;
}

export interface PrivateKey {
  readonly publicKey: PublicKey;
  readonly comment: string;
  /**
   * Signs `data` and returns the SSH signature encoding `string algorithm, string blob`. `algorithm`
   * defaults to publicKey.signatureAlgorithms[0]; RSA keys accept rsa-sha2-512, rsa-sha2-256 and ssh-rsa.
   */
  sign(data: Buffer, algorithm?: string): Buffer;
}

/** A key file could not be parsed: truncated, corrupt, or of an unknown type. */
export class KeyFormatError extends Error {
  override readonly name: string = 'KeyFormatError';
}

/** The key file is encrypted and no passphrase was given. */
export class PassphraseRequiredError extends Error {
  override readonly name = 'PassphraseRequiredError';
}

/** The passphrase given does not decrypt the key (OpenSSH: "incorrect passphrase supplied to decrypt private key"). */
export class WrongPassphraseError extends Error {
  override readonly name = 'WrongPassphraseError';
}
