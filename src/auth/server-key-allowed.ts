/**
 * Whether a public key may authenticate a user, in sshd's order (auth2-pubkey.c user_key_allowed): a key
 * revoked by RevokedKeys is refused outright, and a RevokedKeys file that cannot be used refuses every key;
 * then the AuthorizedKeysFile entries are searched, then AuthorizedKeysCommand's output. The command is run
 * by the server layer and handed in, so this layer never starts processes itself.
 */
import { fingerprint, keyTypeLabel, type AuthorizedKey, type FingerprintHash, type PublicKey } from '../keys/index.ts';
import { isKeyRevokedByFile, RevokedKeysFileError } from '../keys/revoked-keys.ts';
import { findAuthorizedKey, findKeyInAuthorizedKeysText, type AuthorizedKeysLookup } from './server-authorized-keys.ts';

export interface KeyAllowedPolicy {
  lookup: AuthorizedKeysLookup;
  /** RevokedKeys (null: none). */
  revokedKeysFile: string | null;
  /** FingerprintHash, for the log lines. */
  fingerprintHash: FingerprintHash;
  /**
   * AuthorizedKeysCommand, when configured: its output and the name its lines are logged under, or
   * undefined when it did not run cleanly (already logged).
   */
  keysCommand?: (key: PublicKey) => Promise<{ text: string; label: string } | undefined>;
  /** Error-level log lines, worded as sshd's. */
  logError(message: string): void;
}

/**
 * auth.c auth_key_is_revoked: true when the key must be refused because RevokedKeys lists it or cannot be
 * checked (fail closed).
 */
export async function keyIsRevoked(key: PublicKey, path: string | null, hash: FingerprintHash, logError: (message: string) => void): Promise<boolean> {
  if (path === null) return false;
  const described = `${keyTypeLabel(key.type)} ${fingerprint(key.blob, hash)}`;
  try {
    if (!(await isKeyRevokedByFile(key, path))) return false;
    logError(`Authentication key ${described} revoked by file ${path}`);
  } catch (error) {
    if (!(error instanceof RevokedKeysFileError)) throw error;
    if (error.detail) logError(error.detail);
    logError(`Error checking authentication key ${described} in revoked keys file ${path}: ${error.message}`);
  }
  return true;
}

/** The authorized_keys entry that lets `key` in, or undefined when none does. */
export async function userKeyAllowed(key: PublicKey, policy: KeyAllowedPolicy): Promise<AuthorizedKey | undefined> {
  if (await keyIsRevoked(key, policy.revokedKeysFile, policy.fingerprintHash, policy.logError)) return undefined;
  const fromFiles = await findAuthorizedKey(key, policy.lookup);
  if (fromFiles || !policy.keysCommand) return fromFiles;
  const output = await policy.keysCommand(key);
  if (!output) return undefined;
  return findKeyInAuthorizedKeysText(output.text, output.label, key, policy.lookup);
}
