/** Reads a private key in any format we support, choosing the parser from the armour label. */
import { armorLabel } from './armor.ts';
import {
  isOpenSshKeyEncrypted,
  OPENSSH_LABEL,
  parseOpenSshPrivateKey,
  readOpenSshPublicKey,
} from './openssh-key-format.ts';
import { isPemKeyEncrypted, isPemPrivateKey, parsePemPrivateKey } from './pem-format.ts';
import type { SshPrivateKey } from './private-key.ts';
import type { SshPublicKey } from './public-key.ts';
import { KeyFormatError, PassphraseRequiredError } from './types.ts';

function asText(data: Buffer | string): string {
  return typeof data === 'string' ? data : data.toString('latin1');
}

/**
 * Parses an OpenSSH (openssh-key-v1) or PEM (PKCS#1, SEC1, PKCS#8, plain or encrypted) private key.
 * Throws PassphraseRequiredError, WrongPassphraseError or KeyFormatError.
 */
export function parsePrivateKey(data: Buffer | string, passphrase?: string | Buffer): SshPrivateKey {
  const text = asText(data);
  if (armorLabel(text) === OPENSSH_LABEL) return parseOpenSshPrivateKey(text, passphrase);
  if (isPemPrivateKey(text)) return parsePemPrivateKey(text, passphrase);
  throw new KeyFormatError('invalid format');
}

/** Whether a passphrase is needed to read the key. Throws KeyFormatError when it is not a private key. */
export function isPrivateKeyEncrypted(data: Buffer | string): boolean {
  const text = asText(data);
  if (armorLabel(text) === OPENSSH_LABEL) return isOpenSshKeyEncrypted(text);
  if (isPemPrivateKey(text)) return isPemKeyEncrypted(text);
  throw new KeyFormatError('invalid format');
}

/**
 * The public key of a private key file, read without a passphrase where the format allows it
 * (openssh-key-v1 stores it in the clear; encrypted PEM does not, so that throws PassphraseRequiredError).
 */
export function readPublicKeyFromPrivate(data: Buffer | string): SshPublicKey {
  const text = asText(data);
  if (armorLabel(text) === OPENSSH_LABEL) return readOpenSshPublicKey(text);
  if (isPemPrivateKey(text)) {
    if (isPemKeyEncrypted(text)) throw new PassphraseRequiredError('private key is encrypted');
    return parsePemPrivateKey(text).publicKey;
  }
  throw new KeyFormatError('invalid format');
}
