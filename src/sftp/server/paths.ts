/**
 * Where a client's path leads. Without a root the kernel decides, as for OpenSSH's sftp-server: paths go to
 * the system calls unchanged, relative ones from the working directory. Under ChrootDirectory (which Node
 * cannot chroot(2) into) every path is resolved here the way a chrooted kernel would: component by
 * component from the root, symbolic links expanded with absolute targets taken from the root and ".."
 * stopping at it. The system call then acts through an anchor that cannot be moved afterwards: the parent
 * directory is opened (O_PATH: search permission is enough, as for a lookup) and checked (through /proc/self/fd) to be inside the root, and the operation names
 * /proc/self/fd/N/name; when the last component is to be followed it is opened O_PATH|O_NOFOLLOW and the
 * operation names that descriptor. A link or directory swapped in between therefore cannot lead outside.
 */
import { constants } from 'node:fs';
import { lstat, open, readlink, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';

/** SYMLOOP_MAX as sftp-realpath.c uses it. */
const MAX_SYMLINKS = 32;
/** O_PATH on Linux (x86_64, arm64; fs.constants lacks it): a descriptor naming an inode, opened without access. */
const O_PATH = 0o10000000;

function errnoError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/** What an operation passes to the file system, and what to close afterwards. */
export interface PathTarget {
  /** The path for the system call. */
  path: string;
  /** Under a root, `path` ends in a name below an anchored directory: open(2) must add O_NOFOLLOW. */
  lastIsName: boolean;
  release(): Promise<void>;
}

const NOTHING_TO_RELEASE = async (): Promise<void> => {};

export class SftpPaths {
  /** The real root (realpath'd), or null without ChrootDirectory. */
  readonly root: string | null;
  /** The working directory: virtual under a root, real otherwise. */
  readonly cwd: string;

  constructor(root: string | null, cwd: string) {
    // chroot("/") changes nothing.
    this.root = root === '/' ? null : root;
    this.cwd = cwd;
  }

  private real(virtual: string): string {
    return this.root === null || virtual === '/' ? (this.root ?? virtual) : this.root + virtual;
  }

  /**
   * sftp_realpath() within the root: the canonical absolute path, every symbolic link resolved, the last
   * component allowed not to exist. `followLast` false leaves a final link unresolved (lstat-like callers).
   */
  async canonical(path: string, followLast = true): Promise<string> {
    const start = path.startsWith('/') ? [] : this.cwd.split('/').filter(Boolean);
    const pending = path.split('/').filter(Boolean);
    const resolved = start;
    let links = 0;
    while (pending.length > 0) {
      const component = pending.shift()!;
      if (component === '.') continue;
      if (component === '..') {
        resolved.pop();
        continue;
      }
      const candidate = `/${[...resolved, component].join('/')}`;
      const last = pending.length === 0;
      let stats;
      try {
        stats = await lstat(this.real(candidate));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' && last) {
          resolved.push(component);
          break;
        }
        throw error;
      }
      if (stats.isSymbolicLink() && (!last || followLast)) {
        if (++links > MAX_SYMLINKS) throw errnoError('ELOOP', 'too many levels of symbolic links');
        const target = await readlink(this.real(candidate));
        if (target.startsWith('/')) resolved.length = 0;
        pending.unshift(...target.split('/').filter(Boolean));
        continue;
      }
      if (!last && !stats.isDirectory()) throw errnoError('ENOTDIR', 'not a directory');
      resolved.push(component);
    }
    return `/${resolved.join('/')}`;
  }

  /** The path an operation acts on; see the module comment. `follow` says whether a final link is followed. */
  async target(path: string, follow: boolean): Promise<PathTarget> {
    if (this.root === null) return { path, lastIsName: false, release: NOTHING_TO_RELEASE };
    if (path === '') throw errnoError('ENOENT', 'empty path');
    const virtual = await this.canonical(path, follow);
    const parent = virtual === '/' ? '/' : posix.dirname(virtual);
    const name = virtual === '/' ? '' : posix.basename(virtual);
    const directory = await this.openInside(this.real(parent), O_PATH | constants.O_DIRECTORY);
    // The root itself is named through its descriptor's "." so that lstat sees the directory, not the magic link.
    const viaParent = `/proc/self/fd/${directory.fd}/${name === '' ? '.' : name}`;
    if (!follow || name === '') {
      return { path: viaParent, lastIsName: name !== '', release: () => directory.close() };
    }
    let node: FileHandle;
    try {
      node = await open(viaParent, O_PATH | constants.O_NOFOLLOW);
    } catch (error) {
      // A missing last component (create): the parent anchors it and open(2) gets O_NOFOLLOW.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { path: viaParent, lastIsName: true, release: () => directory.close() };
      await directory.close();
      throw error;
    }
    await directory.close();
    if ((await node.stat()).isSymbolicLink()) {
      // Replaced by a link since it was resolved: a chrooted kernel would follow it inside; refuse instead.
      await node.close();
      throw errnoError('ELOOP', 'path changed while it was resolved');
    }
    return { path: `/proc/self/fd/${node.fd}`, lastIsName: false, release: () => node.close() };
  }

  /** Opens a directory on the real side and checks that the kernel's view of it is inside the root. */
  private async openInside(real: string, flags: number): Promise<FileHandle> {
    const handle = await open(real, flags);
    try {
      const where = await readlink(`/proc/self/fd/${handle.fd}`);
      if (where !== this.root && !where.startsWith(`${this.root}/`)) throw errnoError('EACCES', 'outside the root');
      return handle;
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** The client's view of a path (for logs and REALPATH): virtual under a root. */
  absolute(path: string): string {
    return posix.resolve(this.cwd, path);
  }
}
