/**
 * Identity files as authentication keys, loaded as ssh does: the public half from `file.pub` or from the
 * private file's clear header, and the private half only when the server has accepted the public key, so
 * that a passphrase is asked for a key that will actually be used.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { AuthKey } from '../auth/client-auth.ts';
import type { PrivateKey, PublicKey } from '../keys/types.ts';
import { PassphraseRequiredError, WrongPassphraseError } from '../keys/types.ts';
import { isPrivateKeyEncrypted, parsePrivateKey, readPublicKeyFromPrivate } from '../keys/parse-private-key.ts';
import { parsePublicKeyLine } from '../keys/public-key.ts';
import { checkPrivateKeyPermissions } from '../keys/key-files.ts';

export interface IdentityFileOptions {
  /** Asks for a passphrase; undefined or empty skips the key. */
  passphrase?: (prompt: string) => Promise<string | undefined>;
  /** How many wrong passphrases before giving up on a key (NumberOfPasswordPrompts). */
  attempts?: number;
  warn?: (message: string) => void;
  debug?: (message: string) => void;
  /** Called once a private key has been loaded (decrypted) for signing: AddKeysToAgent hooks in here. */
  onLoaded?: (path: string, key: PrivateKey) => void | Promise<void>;
}

/** The default IdentityFile list of OpenSSH 9, in its order, under `sshDir`. */
export function defaultIdentityFiles(sshDir: string): string[] {
  return ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'].map((name) => `${sshDir}/${name}`);
}

function readPublicHalf(path: string): PublicKey | undefined {
  const pubPath = `${path}.pub`;
  if (existsSync(pubPath)) {
    try {
      return parsePublicKeyLine(readFileSync(pubPath, 'utf8').trim()).key;
    } catch {
      // Fall through to the private file: a broken .pub should not hide a good key.
    }
  }
  try {
    return readPublicKeyFromPrivate(readFileSync(path));
  } catch {
    return undefined;
  }
}

/** Loads a private key, asking for its passphrase when needed; throws when it cannot be used. */
export async function loadIdentity(path: string, options: IdentityFileOptions): Promise<PrivateKey> {
  checkPrivateKeyPermissions(path);
  const data = readFileSync(path);
  if (!isPrivateKeyEncrypted(data)) return parsePrivateKey(data);
  const attempts = options.attempts ?? 3;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const passphrase = await options.passphrase?.(`Enter passphrase for key '${path}': `);
    if (!passphrase) throw new PassphraseRequiredError(`no passphrase given for ${path}`);
    try {
      return parsePrivateKey(data, passphrase);
    } catch (error) {
      if (!(error instanceof WrongPassphraseError)) throw error;
      options.warn?.('Bad passphrase, try again for ' + path);
    }
  }
  throw new WrongPassphraseError(`incorrect passphrase supplied to decrypt private key ${path}`);
}

/** AuthKeys for the identity files that exist, in order. */
export function identityFileKeys(paths: string[], options: IdentityFileOptions): AuthKey[] {
  const keys: AuthKey[] = [];
  for (const path of paths) {
    if (!existsSync(path)) {
      options.debug?.(`identity file ${path} type -1`);
      continue;
    }
    const publicKey = readPublicHalf(path);
    if (!publicKey) {
      options.warn?.(`Load key "${path}": invalid format`);
      continue;
    }
    let loaded: PrivateKey | undefined;
    keys.push({
      publicKey,
      label: path,
      async sign(data, algorithm) {
        try {
          if (!loaded) {
            loaded = await loadIdentity(path, options);
            await options.onLoaded?.(path, loaded);
          }
        } catch (error) {
          const message = (error as Error).message;
          if (message.includes('UNPROTECTED PRIVATE KEY FILE')) {
            options.warn?.(message);
            options.warn?.(`Load key "${path}": bad permissions`);
          } else if (error instanceof WrongPassphraseError) {
            options.warn?.(`Load key "${path}": incorrect passphrase supplied to decrypt private key`);
          }
          throw error;
        }
        return loaded.sign(data, algorithm);
      },
    });
  }
  return keys;
}
