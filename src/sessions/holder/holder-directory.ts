/**
 * The private directories a holder's socket lives in: `<PersistentSessionDirectory>/<uid>/holder.sock`.
 * Whoever can connect to the socket can drive the user's sessions, so the per-user directory must be the
 * user's own, mode 0700, and the directory above it must not let anyone else replace it. The server
 * creates them; the holder refuses to bind in one that fails the same checks.
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';

export const HOLDER_SOCKET_NAME = 'holder.sock';

/** A directory is missing its ownership or modes, or is not a directory: nothing in it is trusted. */
export class HolderDirectoryError extends Error {
  override readonly name = 'HolderDirectoryError';
}

function stat(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new HolderDirectoryError(`${path}: ${(error as Error).message}`);
  }
}

function refuse(path: string): never {
  // sshd's wording for the same check (misc.c safe_path).
  throw new HolderDirectoryError(`bad ownership or modes for directory ${path}`);
}

/** The per-user directory must be a real directory (not a link), owned by `uid`, mode exactly 0700. */
export function checkUserDirectory(path: string, uid: number): void {
  const stats = stat(path);
  if (!stats || !stats.isDirectory() || stats.uid !== uid || (stats.mode & 0o777) !== 0o700) refuse(path);
}

function makeDirectory(path: string, mode: number): boolean {
  try {
    mkdirSync(path, { mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      mkdirSync(path, { recursive: true, mode });
    } else {
      throw new HolderDirectoryError(`${path}: ${(error as Error).message}`);
    }
  }
  chmodSync(path, mode); // not left to the umask
  return true;
}

/**
 * Creates (or checks) `<directory>` and `<directory>/<uid>` and returns the latter. As root the top is
 * mode 0711 owned by root and each user's directory is chowned to that user; otherwise both are ours.
 */
export function ensureUserDirectory(directory: string, uid: number, gid: number): string {
  const root = process.getuid?.() === 0;
  const ownUid = process.getuid?.() ?? uid;
  makeDirectory(directory, root ? 0o711 : 0o700);
  const top = stat(directory);
  // Nobody else may write the top directory: they could swap a user's directory for one of their own.
  if (!top || !top.isDirectory() || top.uid !== ownUid || (top.mode & 0o022) !== 0) refuse(directory);
  // Each user's holder must be able to pass through to its own directory (search permission only).
  if (root && (top.mode & 0o011) !== 0o011) chmodSync(directory, (top.mode & 0o777) | 0o011);

  const userDirectory = join(directory, String(uid));
  if (makeDirectory(userDirectory, 0o700) && root && uid !== 0) {
    chownSync(userDirectory, uid, gid);
  }
  checkUserDirectory(userDirectory, uid);
  return userDirectory;
}

export function holderSocketPath(userDirectory: string): string {
  return join(userDirectory, HOLDER_SOCKET_NAME);
}
