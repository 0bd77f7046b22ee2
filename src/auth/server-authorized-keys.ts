/**
 * Finding a user's key in their AuthorizedKeysFile(s), as sshd does (auth2-pubkey.c): %-tokens expanded,
 * StrictModes ownership and permission checks on the file and the directories above it, and the key's
 * options enforced (from=, expiry-time=); the options that shape sessions are returned as restrictions.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseAuthorizedKeys, type AuthorizedKey, type PublicKey } from '../keys/index.ts';
import { expandAuthorizedKeysPath } from './authorized-keys-path.ts';
import { matchHostAndAddress } from '../match/addresses.ts';
import type { SessionRestrictions } from './server-auth.ts';

export interface KeyOwner {
  name: string;
  uid: number;
  home: string;
}

export interface AuthorizedKeysLookup {
  owner: KeyOwner;
  /** AuthorizedKeysFile entries (with %h %u %U %% tokens; "none" entries are skipped). */
  files: readonly string[];
  strictModes: boolean;
  /** The client's address, for from=. */
  address: string;
  /** Diagnostics worded as sshd logs them (never key material). */
  log?: (message: string) => void;
}

/**
 * sshd's safe_path: the file and every directory up to the user's home (and above it, to /) must be owned
 * by the user or root and not writable by group or others. Returns the complaint, or undefined when safe.
 */
export async function unsafePathReason(path: string, owner: KeyOwner): Promise<string | undefined> {
  const allowedOwner = (uid: number) => uid === 0 || uid === owner.uid;
  const file = await stat(path);
  if (!file.isFile()) return `${path} is not a regular file`;
  if (!allowedOwner(file.uid) || (file.mode & 0o022) !== 0) return `bad ownership or modes for file ${path}`;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const info = await stat(dir);
    if (!allowedOwner(info.uid) || (info.mode & 0o022) !== 0) return `bad ownership or modes for directory ${dir}`;
    if (dir === owner.home || dir === '/' || dirname(dir) === dir) break;
  }
  return undefined;
}

/** What an authorized_keys entry allows the sessions of this login. */
export function restrictionsOf(entry: Pick<AuthorizedKey, 'options'>): SessionRestrictions {
  const o = entry.options;
  return {
    permitPty: o.permitPty,
    permitPortForwarding: o.permitPortForwarding,
    permitAgentForwarding: o.permitAgentForwarding,
    permitX11Forwarding: o.permitX11Forwarding,
    permitUserRc: o.permitUserRc,
    forcedCommand: o.command,
    permitOpen: [...o.permitOpen],
    permitListen: [...o.permitListen],
    environment: o.environment.map((e) => ({ ...e })),
  };
}

/** The first usable entry for `key` in the user's authorized keys files, or undefined. */
export async function findAuthorizedKey(key: PublicKey, lookup: AuthorizedKeysLookup): Promise<AuthorizedKey | undefined> {
  return searchAuthorizedKeysFiles(lookup, (text, path) => findKeyInAuthorizedKeysText(text, path, key, lookup));
}

/**
 * Reads the user's authorized keys files in order (tokens expanded, StrictModes checked, missing files
 * skipped) and hands each one's text to `search`; the first answer that is not undefined is returned.
 */
export async function searchAuthorizedKeysFiles<T>(
  lookup: AuthorizedKeysLookup,
  search: (text: string, path: string) => T | undefined | Promise<T | undefined>,
): Promise<T | undefined> {
  const log = lookup.log ?? (() => {});
  for (const pattern of lookup.files) {
    if (pattern.toLowerCase() === 'none') continue;
    let path: string;
    try {
      path = expandAuthorizedKeysPath(pattern, { user: lookup.owner.name, home: lookup.owner.home, uid: lookup.owner.uid });
    } catch (error) {
      log(`AuthorizedKeysFile ${pattern}: ${(error as Error).message}`);
      continue;
    }
    let text: string;
    try {
      if (lookup.strictModes) {
        const reason = await unsafePathReason(path, lookup.owner);
        if (reason) {
          log(`Authentication refused: ${reason}`);
          continue;
        }
      }
      text = await readFile(path, 'utf8');
    } catch {
      continue; // sshd skips files that do not exist or cannot be read
    }
    const found = await search(text, path);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The first usable entry for `key` in authorized_keys text (a file's, or AuthorizedKeysCommand's output);
 * `label` names the source in the log lines (sshd's auth_check_authkeys_file).
 */
export function findKeyInAuthorizedKeysText(
  text: string,
  label: string,
  key: PublicKey,
  lookup: Pick<AuthorizedKeysLookup, 'owner' | 'address' | 'log'>,
): AuthorizedKey | undefined {
  const log = lookup.log ?? (() => {});
  const { keys } = parseAuthorizedKeys(text);
  for (const entry of keys) {
    if (entry.options.certAuthority || !entry.key.equals(key)) continue;
    if (entry.options.expiryTime && entry.options.expiryTime.getTime() < Date.now()) {
      log(`${label}:${entry.line}: key has expired`);
      continue;
    }
    if (entry.options.from && matchHostAndAddress(lookup.address, lookup.address, entry.options.from.join(',')) !== 1) {
      log(`Authentication tried for ${lookup.owner.name} with correct key but not from a permitted host (host=${lookup.address}, ip=${lookup.address}).`);
      continue;
    }
    return entry;
  }
  return undefined;
}
