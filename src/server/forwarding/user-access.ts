/**
 * sshd touches Unix-domain sockets for forwarding from the session's unprivileged process, so the kernel
 * checks the user's rights. Our server is one root process and cannot switch uid per socket, so when it
 * runs as root it checks those rights itself before acting for the user: search permission on every
 * directory on the way, write permission on a socket to connect to it, write permission on the directory
 * to create (or, with the sticky bit, to remove someone else's) entry in it. Sockets it creates for the user
 * are then handed to the user with chown.
 */
import { statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { UserAccount } from '../accounts.ts';

const WRITE = 2;
const SEARCH = 1;

/** The user lacks a permission the kernel would have refused; the message is strerror(EACCES) like sshd's. */
export class UserAccessError extends Error {
  override readonly name = 'UserAccessError';
  readonly code = 'EACCES';
  constructor(path: string) {
    super(`Permission denied: ${path}`);
  }
}

type Who = Pick<UserAccount, 'uid' | 'gid' | 'gids'>;

/** The rwx bits that apply to `who` for a file with these stats (owner, then group, then others). */
function bitsFor(stats: Stats, who: Who): number {
  if (stats.uid === who.uid) return (stats.mode >> 6) & 7;
  if (stats.gid === who.gid || who.gids.includes(stats.gid)) return (stats.mode >> 3) & 7;
  return stats.mode & 7;
}

function has(stats: Stats, who: Who, wanted: number): boolean {
  return who.uid === 0 || (bitsFor(stats, who) & wanted) === wanted;
}

/** Every directory from / down to `directory` must be searchable. */
function checkSearchable(directory: string, who: Who): void {
  const parts = resolve(directory).split('/').filter(Boolean);
  let path = '/';
  for (let index = 0; ; index++) {
    // A missing component is left for the real operation to report (ENOENT), as the kernel would.
    let stats: Stats;
    try {
      stats = statSync(path);
    } catch {
      return;
    }
    if (!has(stats, who, SEARCH)) throw new UserAccessError(path);
    if (index >= parts.length) return;
    path = `${path === '/' ? '' : path}/${parts[index]}`;
  }
}

/** Throws UserAccessError unless `who` could connect(2) to the socket at `path`. */
export function checkMayConnect(path: string, who: Who): void {
  if (who.uid === 0) return;
  checkSearchable(dirname(resolve(path)), who);
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch {
    return; // connect reports ENOENT
  }
  if (!has(stats, who, WRITE)) throw new UserAccessError(path);
}

/** Throws UserAccessError unless `who` could bind(2) a new socket at `path` (and unlink one already there). */
export function checkMayCreate(path: string, who: Who, replacing: boolean): void {
  if (who.uid === 0) return;
  const directory = dirname(resolve(path));
  checkSearchable(directory, who);
  let stats: Stats;
  try {
    stats = statSync(directory);
  } catch {
    return;
  }
  if (!has(stats, who, WRITE | SEARCH)) throw new UserAccessError(directory);
  if (!replacing) return;
  // Sticky directories (/tmp) let only the owner of an entry, or of the directory, remove it.
  const STICKY = 0o1000;
  if ((stats.mode & STICKY) === 0 || stats.uid === who.uid) return;
  try {
    if (statSync(path).uid !== who.uid) throw new UserAccessError(path);
  } catch (error) {
    if (error instanceof UserAccessError) throw error;
  }
}
