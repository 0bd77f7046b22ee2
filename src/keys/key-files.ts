/**
 * Reading key files from disk with OpenSSH's safety rule: a private key file we own must not be
 * readable or writable by group or others (authfile.c sshkey_perm_ok), or it is ignored with a loud warning.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { parseAuthorizedKeyLine } from './authorized-keys.ts';
import { parseKnownHostsLine } from './known-hosts.ts';
import { isPrivateKeyEncrypted, parsePrivateKey, readPublicKeyFromPrivate } from './parse-private-key.ts';
import type { SshPrivateKey } from './private-key.ts';
import { parsePublicKeyLine, type SshPublicKey } from './public-key.ts';

/** The private key file is accessible to others; `message` is OpenSSH's warning text, line for line. */
export class UnprotectedPrivateKeyError extends Error {
  override readonly name = 'UnprotectedPrivateKeyError';
  readonly path: string;
  readonly mode: number;

  constructor(path: string, mode: number) {
    super(unprotectedKeyWarning(path, mode));
    this.path = path;
    this.mode = mode;
  }
}

/** OpenSSH's warning for a private key file with permissions `mode` (without a trailing newline). */
export function unprotectedKeyWarning(path: string, mode: number): string {
  return [
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    '@         WARNING: UNPROTECTED PRIVATE KEY FILE!          @',
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    `Permissions 0${(mode & 0o777).toString(8).padStart(3, '0')} for '${path}' are too open.`,
    'It is required that your private key files are NOT accessible by others.',
    'This private key will be ignored.',
  ].join('\n');
}

/**
 * Throws UnprotectedPrivateKeyError when `path` is owned by us and has any group/other permission bits.
 * (Files owned by someone else are not judged, as OpenSSH does not: e.g. root reading a user's key.)
 */
export function checkPrivateKeyPermissions(path: string): void {
  const stats = statSync(path);
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid === uid && (stats.mode & 0o077) !== 0) {
    throw new UnprotectedPrivateKeyError(path, stats.mode);
  }
}

/** Reads a private key file after the permission check. Errors as parsePrivateKey, plus fs errors. */
export function loadPrivateKeyFile(path: string, passphrase?: string | Buffer): SshPrivateKey {
  checkPrivateKeyPermissions(path);
  return parsePrivateKey(readFileSync(path), passphrase);
}

/** Reads a one-key public file (`id_ed25519.pub`): `type base64 [comment]`. */
export function loadPublicKeyFile(path: string): { key: SshPublicKey; comment: string } {
  const line = readFileSync(path, 'utf8')
    .split('\n')
    .find((text) => text.trim() !== '' && !text.trimStart().startsWith('#'));
  return parsePublicKeyLine(line ?? '');
}

/** The public key of a private key file without decrypting it (see readPublicKeyFromPrivate). */
export function loadPublicKeyFromPrivateFile(path: string): SshPublicKey {
  return readPublicKeyFromPrivate(readFileSync(path));
}

/** A key found by readKeysForListing; `comment` is undefined where ssh-keygen would print "no comment". */
export interface ListedKey {
  readonly key: SshPublicKey;
  readonly comment: string | undefined;
}

/**
 * The keys `ssh-keygen -l -f file` lists, found the way it finds them: first as one key (`file.pub`, where
 * an empty comment becomes that file's name; then the public part of `file` as a private key, with its
 * comment when stored in the clear); failing that, every line of `file` read as a .pub / authorized_keys
 * line, or as a known_hosts line (whose host field is the comment). Marker lines (@revoked…) are skipped.
 */
export function readKeysForListing(file: string): ListedKey[] {
  const single = readSingleKey(file);
  return single ? [single] : readKeyList(file);
}

function readSingleKey(file: string): ListedKey | undefined {
  const publicFile = `${file}.pub`;
  if (existsSync(publicFile)) {
    try {
      const { key, comment } = parsePublicKeyLine(readFileSync(publicFile, 'utf8').split('\n')[0] ?? '');
      return { key, comment: comment || publicFile };
    } catch {
      // Not a usable .pub file: ssh-keygen goes on to the next way, and so do we.
    }
  }
  if (!statSync(file).isFile()) return undefined;
  const data = readFileSync(file);
  try {
    if (!isPrivateKeyEncrypted(data)) {
      const key = parsePrivateKey(data);
      return { key: key.publicKey, comment: key.comment };
    }
    return { key: readPublicKeyFromPrivate(data), comment: undefined };
  } catch {
    return undefined;
  }
}

function readKeyList(file: string): ListedKey[] {
  const keys: ListedKey[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, index) => {
      const line = text.trim();
      if (line === '' || line.startsWith('#') || line.startsWith('@')) return;
      try {
        const entry = parseAuthorizedKeyLine(line, index + 1);
        if (entry) keys.push({ key: entry.key, comment: entry.comment || undefined });
        return;
      } catch {
        // Not an authorized_keys line; perhaps a known_hosts one.
      }
      const parsed = parseKnownHostsLine(line, file, index + 1);
      if (parsed.kind === 'entry') keys.push({ key: parsed.entry.key, comment: parsed.entry.hosts });
    });
  return keys;
}
