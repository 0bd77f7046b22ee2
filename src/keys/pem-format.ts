/**
 * PEM private keys as OpenSSL writes them (ssh-keygen -m PEM / -m PKCS8): PKCS#1 "RSA PRIVATE KEY", SEC1
 * "EC PRIVATE KEY" (both possibly with the legacy "Proc-Type: 4,ENCRYPTED" header), PKCS#8 "PRIVATE KEY"
 * and "ENCRYPTED PRIVATE KEY". OpenSSL does the decoding and decryption; we only classify the outcome.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readDerElement } from '../wire/der.ts';
import { armorLabel, unarmor } from './armor.ts';
import { checkRsaPrivateJwk, DSA_SIGNING_UNSUPPORTED } from './algorithms/index.ts';
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
    // we blame the passphrase — unless a PKCS#8 envelope does not even parse (OpenSSL then fails in ASN.1,
    // not in the decryption, and ssh-keygen says "invalid format"): a truncated file, typically.
    if (encrypted && !pkcs8EnvelopeBroken(text)) throw new WrongPassphraseError('incorrect passphrase supplied to decrypt private key');
    throw new KeyFormatError('invalid format');
  }
  // OpenSSL parses PKCS#1 and PKCS#8 RSA keys without checking that their components agree.
  if (keyObject.asymmetricKeyType === 'rsa') checkRsaPrivateJwk(keyObject.export({ format: 'jwk' }));
  return new SshPrivateKey(keyObject, '');
}

/**
 * Whether an "ENCRYPTED PRIVATE KEY" body fails to be a whole EncryptedPrivateKeyInfo (RFC 5958 §3):
 * SEQUENCE { AlgorithmIdentifier SEQUENCE, encryptedData OCTET STRING } filling the body exactly.
 */
function pkcs8EnvelopeBroken(text: string): boolean {
  if (armorLabel(text) !== 'ENCRYPTED PRIVATE KEY') return false;
  try {
    const der = unarmor(text, 'ENCRYPTED PRIVATE KEY');
    const outer = readDerElement(der, 0);
    const algorithm = readDerElement(der, outer.start);
    const data = readDerElement(der, algorithm.end);
    return outer.tag !== 0x30 || outer.end !== der.length || algorithm.tag !== 0x30 || data.tag !== 0x04 || data.end !== outer.end;
  } catch {
    return true;
  }
}
