/**
 * File attributes both ways: stat(2) results as ATTRS (stat_to_attrib: size, owner, mode, times), and
 * SETSTAT / FSETSTAT / lsetstat@openssh.com applied in sftp-server's order (size, mode, times, owner), each
 * logged as it logs them and each attempted even when an earlier one failed, the last failure reported.
 */
import type { Stats } from 'node:fs';
import { chmod, chown, lchown, lutimes, truncate, utimes, type FileHandle } from 'node:fs/promises';
import { SSH_FX, type SftpAttributes } from '../protocol.ts';
import type { SftpLog } from './log.ts';
import { visible } from './log.ts';
import { statusForError } from './status.ts';

export function attributesOf(stats: Stats): SftpAttributes {
  return {
    size: stats.size,
    uid: stats.uid,
    gid: stats.gid,
    permissions: stats.mode,
    atime: Math.floor(stats.atimeMs / 1000),
    mtime: Math.floor(stats.mtimeMs / 1000),
  };
}

/** strftime "%Y%m%d-%H:%M:%S" in local time, as the modtime log line shows it. */
function logTime(seconds: number): string {
  const date = new Date(seconds * 1000);
  const two = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}${two(date.getMonth() + 1)}${two(date.getDate())}-${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/** The four changes, by path, by descriptor or on a link itself. */
export interface AttributeSetter {
  truncate?(size: number): Promise<void>;
  chmod(mode: number): Promise<void>;
  utimes(atime: number, mtime: number): Promise<void>;
  chown(uid: number, gid: number): Promise<void>;
}

export function pathSetter(path: string): AttributeSetter {
  return {
    truncate: (size) => truncate(path, size),
    chmod: (mode) => chmod(path, mode),
    utimes: (atime, mtime) => utimes(path, atime, mtime),
    chown: (uid, gid) => chown(path, uid, gid),
  };
}

export function handleSetter(file: FileHandle): AttributeSetter {
  return {
    truncate: (size) => file.truncate(size),
    chmod: (mode) => file.chmod(mode),
    utimes: (atime, mtime) => file.utimes(atime, mtime),
    chown: (uid, gid) => file.chown(uid, gid),
  };
}

/** lsetstat: times and owner on the link itself; `chmodTarget` is the mode change (links have none on Linux). */
export function linkSetter(path: string, chmodTarget: (mode: number) => Promise<void>): AttributeSetter {
  return {
    chmod: chmodTarget,
    utimes: (atime, mtime) => lutimes(path, atime, mtime),
    chown: (uid, gid) => lchown(path, uid, gid),
  };
}

/** Applies `attrs`; resolves with the status to send (OK, or the last failure's). */
export async function applyAttributes(setter: AttributeSetter, attrs: SftpAttributes, name: string, log: SftpLog): Promise<number> {
  let status: number = SSH_FX.OK;
  const attempt = async (change: () => Promise<void>) => {
    try {
      await change();
    } catch (error) {
      status = statusForError(error).code;
    }
  };
  const shown = visible(name);
  if (attrs.size !== undefined) {
    if (!setter.truncate) return SSH_FX.BAD_MESSAGE;
    log.info(`set "${shown}" size ${attrs.size}`);
    await attempt(() => setter.truncate!(attrs.size!));
  }
  if (attrs.permissions !== undefined) {
    log.info(`set "${shown}" mode ${attrs.permissions.toString(8).padStart(4, '0')}`);
    await attempt(() => setter.chmod(attrs.permissions! & 0o7777));
  }
  if (attrs.atime !== undefined && attrs.mtime !== undefined) {
    log.info(`set "${shown}" modtime ${logTime(attrs.mtime)}`);
    await attempt(() => setter.utimes(attrs.atime!, attrs.mtime!));
  }
  if (attrs.uid !== undefined && attrs.gid !== undefined) {
    log.info(`set "${shown}" owner ${attrs.uid} group ${attrs.gid}`);
    await attempt(() => setter.chown(attrs.uid!, attrs.gid!));
  }
  return status;
}
