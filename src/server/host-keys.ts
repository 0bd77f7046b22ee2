/**
 * The server's host keys: loaded from the HostKey files, or generated on first start when a file is absent
 * (ed25519, ecdsa-nistp256, rsa-3072, the types sshd's ssh-keygen -A makes), written 0600 with a .pub beside.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import {
  generatePrivateKey,
  loadPrivateKeyFile,
  serializePrivateKey,
  type GeneratedKeyType,
  type PrivateKey,
} from '../keys/index.ts';

/** A HostKey file could not be used; the message names the file, never key material. */
export class HostKeyError extends Error {
  override readonly name = 'HostKeyError';
}

export interface HostKeyFile {
  path: string;
  key: PrivateKey;
  /** True when this start created the file. */
  generated: boolean;
}

/** The key type a host key file name implies (ssh_host_ed25519_key, ssh_host_ecdsa_key, ssh_host_rsa_key). */
export function hostKeyTypeFromName(path: string): GeneratedKeyType | undefined {
  const name = basename(path).toLowerCase();
  if (name.includes('ed25519')) return 'ed25519';
  if (name.includes('ecdsa')) return 'ecdsa';
  if (name.includes('rsa')) return 'rsa';
  return undefined;
}

const GENERATED_BITS: Record<GeneratedKeyType, number | undefined> = { ed25519: undefined, ecdsa: 256, rsa: 3072 };

/** Creates a host key at `path` (and `path.pub`), with the directory made 0700 when it does not exist. */
export function generateHostKeyFile(path: string, type: GeneratedKeyType, comment = 'tether-host-key'): PrivateKey {
  const key = generatePrivateKey(type, GENERATED_BITS[type], comment);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // 'wx' refuses to overwrite a file that appeared meanwhile (another server starting at the same time).
  writeFileSync(path, serializePrivateKey(key), { mode: 0o600, flag: 'wx' });
  writeFileSync(`${path}.pub`, `${key.publicKey.toLine()} ${comment}\n`, { mode: 0o644 });
  return key;
}

/**
 * Loads every configured host key, generating absent ones whose type the file name tells when
 * `generateMissing` is set. Throws HostKeyError when no key at all can be had (sshd: "no hostkeys available").
 */
export function loadHostKeys(paths: readonly string[], options: { generateMissing: boolean; warn?: (message: string) => void }): HostKeyFile[] {
  const keys: HostKeyFile[] = [];
  for (const path of paths) {
    try {
      if (!existsSync(path)) {
        const type = hostKeyTypeFromName(path);
        if (!options.generateMissing || type === undefined) {
          options.warn?.(`Unable to load host key: ${path}`);
          continue;
        }
        keys.push({ path, key: generateHostKeyFile(path, type), generated: true });
        continue;
      }
      keys.push({ path, key: loadPrivateKeyFile(path), generated: false });
    } catch (error) {
      // sshd prints the reason (bad permissions, unreadable file) and carries on with the other keys.
      options.warn?.(`Unable to load host key "${path}": ${(error as Error).message.split('\n').slice(-3).join(' ')}`);
      options.warn?.(`Unable to load host key: ${path}`);
    }
  }
  // Two files holding the same key would be offered twice; keep the first.
  const unique = keys.filter((entry, index) => keys.findIndex((other) => other.key.publicKey.equals(entry.key.publicKey)) === index);
  if (unique.length === 0) throw new HostKeyError('sshd: no hostkeys available -- exiting.');
  return unique;
}
