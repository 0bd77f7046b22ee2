/**
 * Requests on paths (draft-02 §6.5–6.10): STAT, LSTAT, SETSTAT, OPENDIR, READDIR, REMOVE, MKDIR, RMDIR,
 * REALPATH, RENAME, READLINK, SYMLINK, each as sftp-server does it and logs it.
 */
import { link, lstat, mkdir, opendir, readlink, rename, rmdir, stat, symlink, unlink } from 'node:fs/promises';
import { encodeAttrs, encodeHandle, encodeName, SSH_FX, type SftpAttributes, type SftpNameEntry } from '../protocol.ts';
import { applyAttributes, attributesOf, pathSetter } from './attributes.ts';
import { onTarget, replyWithStatus, singleName, statusReply, type SftpContext } from './context.ts';
import { visible } from './log.ts';
import { longName } from './long-name.ts';
import { statusForError } from './status.ts';

/** sftp-server sends at most this many entries per READDIR. */
const ENTRIES_PER_READDIR = 100;

export async function statPath(context: SftpContext, id: number, path: string, follow: boolean): Promise<Buffer> {
  context.log.verbose(`${follow ? '' : 'l'}stat name "${visible(path)}"`);
  const stats = await onTarget(context, path, follow, (target) => (follow ? stat(target.path) : lstat(target.path)));
  return encodeAttrs(id, attributesOf(stats));
}

export async function setstatPath(context: SftpContext, id: number, path: string, attrs: SftpAttributes): Promise<Buffer> {
  context.log.debug(`request ${id}: setstat name "${visible(path)}"`);
  const status = await onTarget(context, path, true, (target) => applyAttributes(pathSetter(target.path), attrs, path, context.log));
  return statusReply(context, id, status);
}

export async function openDirectory(context: SftpContext, id: number, path: string): Promise<Buffer> {
  context.log.info(`opendir "${visible(path)}"`);
  if (context.handles.full) return statusReply(context, id, SSH_FX.FAILURE);
  const target = await context.paths.target(path, true);
  try {
    const dir = await opendir(target.path, { bufferSize: 128 });
    // Entries are looked up below the anchor under a root, below the client's path otherwise.
    const lookupBase = context.paths.root === null ? path : target.path;
    const handle = context.handles.add({ kind: 'directory', name: path, dir, lookupBase, dotsSent: false, release: () => target.release() });
    return encodeHandle(id, handle);
  } catch (error) {
    await target.release();
    throw error;
  }
}

export async function readDirectory(context: SftpContext, id: number, handle: Buffer): Promise<Buffer> {
  const entry = context.handles.directory(handle);
  if (!entry) return statusReply(context, id, SSH_FX.FAILURE);
  const names: string[] = [];
  // readdir(3) lists "." and ".." first; Node's Dir leaves them out.
  if (!entry.dotsSent) {
    names.push('.', '..');
    entry.dotsSent = true;
  }
  const entries: SftpNameEntry[] = [];
  const base = entry.lookupBase === '/' ? '' : entry.lookupBase;
  while (entries.length < ENTRIES_PER_READDIR) {
    const name = names.shift() ?? (await entry.dir.read())?.name;
    if (name === undefined) break;
    let stats;
    try {
      stats = await lstat(`${base}/${name}`);
    } catch {
      continue;
    }
    const [user, group] = await Promise.all([context.names.userName(stats.uid), context.names.groupName(stats.gid)]);
    entries.push({ filename: name, longname: longName(name, stats, user, group), attrs: attributesOf(stats) });
  }
  if (entries.length === 0) return statusReply(context, id, SSH_FX.EOF);
  return encodeName(id, entries);
}


export function removePath(context: SftpContext, id: number, path: string): Promise<Buffer> {
  context.log.info(`remove name "${visible(path)}"`);
  return replyWithStatus(context, id, () => onTarget(context, path, false, (target) => unlink(target.path)));
}

export function makeDirectory(context: SftpContext, id: number, path: string, attrs: SftpAttributes): Promise<Buffer> {
  const mode = attrs.permissions !== undefined ? attrs.permissions & 0o7777 : 0o777;
  context.log.info(`mkdir name "${visible(path)}" mode 0${mode.toString(8)}`);
  return replyWithStatus(context, id, () => onTarget(context, path, false, (target) => mkdir(target.path, mode)));
}

export function removeDirectory(context: SftpContext, id: number, path: string): Promise<Buffer> {
  context.log.info(`rmdir name "${visible(path)}"`);
  return replyWithStatus(context, id, () => onTarget(context, path, false, (target) => rmdir(target.path)));
}

export async function realPath(context: SftpContext, id: number, path: string): Promise<Buffer> {
  const asked = path === '' ? '.' : path;
  context.log.verbose(`realpath "${visible(asked)}"`);
  return singleName(id, await context.paths.canonical(asked));
}

const exists = (path: string) => stat(path).then(() => true, () => false);

/**
 * SSH_FXP_RENAME never replaces an existing file (draft-02 §6.5). A regular file is linked then unlinked,
 * which is atomic about that; where links do not work (another file system, no hard links) and for other
 * kinds it is renamed when the new name is free.
 */
export async function renamePath(context: SftpContext, id: number, oldPath: string, newPath: string): Promise<Buffer> {
  context.log.info(`rename old "${visible(oldPath)}" new "${visible(newPath)}"`);
  return onTarget(context, oldPath, false, (from) => onTarget(context, newPath, false, async (to) => {
    let status: number = SSH_FX.FAILURE;
    try {
      const stats = await lstat(from.path);
      if (stats.isFile()) {
        try {
          await link(from.path, to.path);
          try {
            await unlink(from.path);
            status = SSH_FX.OK;
          } catch (error) {
            status = statusForError(error).code;
            await unlink(to.path).catch(() => {});
          }
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code !== 'EXDEV' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
          if (!(await exists(to.path))) {
            await rename(from.path, to.path);
            status = SSH_FX.OK;
          }
        }
      } else if (!(await exists(to.path))) {
        await rename(from.path, to.path);
        status = SSH_FX.OK;
      }
    } catch (error) {
      status = statusForError(error).code;
    }
    return statusReply(context, id, status);
  }));
}

export async function readLink(context: SftpContext, id: number, path: string): Promise<Buffer> {
  context.log.verbose(`readlink "${visible(path)}"`);
  return singleName(id, await onTarget(context, path, false, (target) => readlink(target.path)));
}

/** PROTOCOL §4.1: the link's contents come first. They are stored as given; under a root they resolve inside it. */
export function makeSymlink(context: SftpContext, id: number, targetPath: string, linkPath: string): Promise<Buffer> {
  context.log.info(`symlink old "${visible(targetPath)}" new "${visible(linkPath)}"`);
  return replyWithStatus(context, id, () => onTarget(context, linkPath, false, (target) => symlink(targetPath, target.path)));
}
