/**
 * The embedded server's password file: one `user:$scrypt$N$r$p$salt$hash` line per user (salt and hash in
 * unpadded base64), written 0600. scrypt (RFC 7914) comes from node:crypto; comparisons are constant-time.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PasswordVerifier } from './server-password.ts';

/** N = 2^15, r = 8, p = 1: about 32 MiB and a few tens of milliseconds per check. */
const DEFAULT_PARAMS = { N: 32768, r: 8, p: 1 };
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Refuse absurd parameters from a tampered file rather than exhaust memory. */
const MAX_MEMORY = 256 * 1024 * 1024;

export class PasswordFileError extends Error {
  override readonly name = 'PasswordFileError';
}

function scrypt(password: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(password, salt, length, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

const b64 = (data: Buffer) => data.toString('base64').replace(/=+$/, '');

/** Makes a `$scrypt$…` hash of `password` with a fresh salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const { N, r, p } = DEFAULT_PARAMS;
  const hash = await scrypt(password, salt, HASH_BYTES, { N, r, p, maxmem: MAX_MEMORY });
  return `$scrypt$${N}$${r}$${p}$${b64(salt)}$${b64(hash)}`;
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function parseHash(text: string): ParsedHash | undefined {
  const match = /^\$scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(text);
  if (!match) return undefined;
  const [N, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (N < 2 || (N & (N - 1)) !== 0 || r < 1 || p < 1 || 128 * N * r > MAX_MEMORY || p > 16) return undefined;
  const hash = Buffer.from(match[5]!, 'base64');
  if (hash.length < 16 || hash.length > 64) return undefined;
  return { N, r, p, salt: Buffer.from(match[4]!, 'base64'), hash };
}

/** Checks `password` against a `$scrypt$…` hash in constant time. */
export async function verifyPasswordHash(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const computed = await scrypt(password, parsed.salt, parsed.hash.length, { N: parsed.N, r: parsed.r, p: parsed.p, maxmem: MAX_MEMORY });
  return timingSafeEqual(computed, parsed.hash);
}

/** Reads the file into user → hash; a missing file is empty. */
export function readPasswordFile(path: string): Map<string, string> {
  const entries = new Map<string, string>();
  if (!existsSync(path)) return entries;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    if (line.startsWith('#') || colon <= 0) continue;
    entries.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return entries;
}

/** Sets (or replaces) `user`'s password in the file, atomically, mode 0600. */
export async function setPassword(path: string, user: string, password: string): Promise<void> {
  if (user === '' || /[:\n\r]/.test(user)) throw new PasswordFileError(`invalid user name for a password file`);
  const entries = readPasswordFile(path);
  entries.set(user, await hashPassword(password));
  const text = [...entries].map(([name, hash]) => `${name}:${hash}\n`).join('');
  const temporary = join(dirname(path), `.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(temporary, text, { mode: 0o600 });
  renameSync(temporary, path);
}

/** A fixed hash to spend the same time on for users the file does not list. */
const DUMMY = '$scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

/** Verifies against the file, re-read on each check so `tether server passwd` takes effect at once. */
export class PasswordFileVerifier implements PasswordVerifier {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  async verify(user: string | undefined, password: string): Promise<boolean> {
    const stored = user === undefined ? undefined : readPasswordFile(this.path).get(user);
    const ok = await verifyPasswordHash(password, stored ?? DUMMY);
    return stored !== undefined && ok;
  }
}
