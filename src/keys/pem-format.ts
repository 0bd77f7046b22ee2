/**
 * PEM private keys as OpenSSL writes them (ssh-keygen -m PEM / -m PKCS8): PKCS#1 "RSA PRIVATE KEY", SEC1
 * "EC PRIVATE KEY" (both possibly with the legacy "Proc-Type: 4,ENCRYPTED" header), PKCS#8 "PRIVATE KEY"
 * and "ENCRYPTED PRIVATE KEY". OpenSSL does the decoding and decryption; we only classify the outcome.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { armorLabel } from './armor.ts';
import { DSA_SIGNING_UNSUPPORTED } from './algorithms/index.ts';
import { SshPrivateKey } from './private-key.ts';
import { KeyFormatError, PassphraseRequiredError, WrongPassphraseError } from './types.ts';

const PEM_LABELS = ['RSA PRIVATE KEY', 'EC PRIVATE KEY', 'PRIVATE KEY', 'ENCRYPTED PRIVATE KEY'];
/** Labels of private keys we recognise but do not support (so the error can say why). */
const UNSUPPORTED_LABELS = ['DSA PRIVATE KEY'];

export function isPemPrivateKey(text: string): boolean {
  const label = armorLabel(text);
  return label !== undefined && (PEM_LABELS.includes(label) || UNSUPPORTED_LABELS.includes(label));
}

export function isPemKeyEncrypted(text: string): boolean {
  return armorLabel(text) === 'ENCRYPTED PRIVATE KEY' || /^Proc-Type:\s*4,\s*ENCRYPTED\s*$/m.test(text);
}

export function parsePemPrivateKey(text: string, passphrase?: string | Buffer): SshPrivateKey {
  if (UNSUPPORTED_LABELS.includes(armorLabel(text) ?? '')) throw new KeyFormatError(DSA_SIGNING_UNSUPPORTED);
  const encrypted = isPemKeyEncrypted(text);
  if (encrypted && (passphrase === undefined || passphrase.length === 0)) {
    throw new PassphraseRequiredError('private key is encrypted and no passphrase was given');
  }
  let keyObject: KeyObject;
  try {
    // Passing an empty passphrase for a clear key keeps OpenSSL from ever prompting on the terminal.
    keyObject = createPrivateKey({ key: text, format: 'pem', passphrase: encrypted ? passphrase : '' });
  } catch {
    // For an encrypted key a decryption failure and a corrupt body look the same to OpenSSL; like OpenSSH
    // we blame the passphrase.
    if (encrypted) throw new WrongPassphraseError('incorrect passphrase supplied to decrypt private key');
    throw new KeyFormatError('invalid format');
  }
  return new SshPrivateKey(keyObject, '');
}
