/**
 * Which handler answers a request, under which name the -P / -p lists and read-only mode (-R) know it, and
 * whether it writes: sftp-server's handlers[] and extended_handlers[] tables, in their order (-Q requests).
 */
import { DecodeError } from '../../wire/errors.ts';
import { decodeExtendedRequest, SFTP_EXTENSION, SSH_FX, SSH_FXP, type SftpRequest } from '../protocol.ts';
import { statusReply, type SftpContext } from './context.ts';
import { extendedRequest } from './extended-requests.ts';
import { closeHandle, fsetstatHandle, fstatHandle, openFile, readFile, writeFile } from './file-requests.ts';
import { visible } from './log.ts';
import {
  makeDirectory, makeSymlink, openDirectory, readDirectory, readLink, realPath, removeDirectory, removePath, renamePath, setstatPath, statPath,
} from './path-requests.ts';

interface RequestKind {
  name: string;
  writes: boolean;
}

export const REQUEST_KINDS = new Map<number, RequestKind>([
  [SSH_FXP.OPEN, { name: 'open', writes: false }],
  [SSH_FXP.CLOSE, { name: 'close', writes: false }],
  [SSH_FXP.READ, { name: 'read', writes: false }],
  [SSH_FXP.WRITE, { name: 'write', writes: true }],
  [SSH_FXP.LSTAT, { name: 'lstat', writes: false }],
  [SSH_FXP.FSTAT, { name: 'fstat', writes: false }],
  [SSH_FXP.SETSTAT, { name: 'setstat', writes: true }],
  [SSH_FXP.FSETSTAT, { name: 'fsetstat', writes: true }],
  [SSH_FXP.OPENDIR, { name: 'opendir', writes: false }],
  [SSH_FXP.READDIR, { name: 'readdir', writes: false }],
  [SSH_FXP.REMOVE, { name: 'remove', writes: true }],
  [SSH_FXP.MKDIR, { name: 'mkdir', writes: true }],
  [SSH_FXP.RMDIR, { name: 'rmdir', writes: true }],
  [SSH_FXP.REALPATH, { name: 'realpath', writes: false }],
  [SSH_FXP.STAT, { name: 'stat', writes: false }],
  [SSH_FXP.RENAME, { name: 'rename', writes: true }],
  [SSH_FXP.READLINK, { name: 'readlink', writes: false }],
  [SSH_FXP.SYMLINK, { name: 'symlink', writes: true }],
]);

export const EXTENDED_KINDS = new Map<string, RequestKind>([
  [SFTP_EXTENSION.POSIX_RENAME, { name: 'posix-rename', writes: true }],
  [SFTP_EXTENSION.STATVFS, { name: 'statvfs', writes: false }],
  [SFTP_EXTENSION.FSTATVFS, { name: 'fstatvfs', writes: false }],
  [SFTP_EXTENSION.HARDLINK, { name: 'hardlink', writes: true }],
  [SFTP_EXTENSION.FSYNC, { name: 'fsync', writes: true }],
  [SFTP_EXTENSION.LSETSTAT, { name: 'lsetstat', writes: true }],
  [SFTP_EXTENSION.LIMITS, { name: 'limits', writes: false }],
  [SFTP_EXTENSION.EXPAND_PATH, { name: 'expand-path', writes: false }],
  [SFTP_EXTENSION.COPY_DATA, { name: 'copy-data', writes: true }],
  [SFTP_EXTENSION.HOME_DIRECTORY, { name: 'home-directory', writes: false }],
  [SFTP_EXTENSION.USERS_GROUPS_BY_ID, { name: 'users-groups-by-id', writes: false }],
]);

/** `sftp-server -Q requests`: every request name, standard ones first. */
export function requestNames(): string[] {
  return [...REQUEST_KINDS.values(), ...EXTENDED_KINDS.values()].map((kind) => kind.name);
}

export interface RequestPolicy {
  readOnly: boolean;
  /** -P: names refused. */
  denied?: readonly string[];
  /** -p: when set, only these names are allowed. */
  allowed?: readonly string[];
}

/** request_permitted(), with its log lines. */
export function permitted(policy: RequestPolicy, kind: RequestKind, context: SftpContext): boolean {
  if (policy.readOnly && kind.writes) {
    context.log.verbose(`Refusing ${kind.name} request in read-only mode`);
    return false;
  }
  if (policy.denied?.includes(kind.name)) {
    context.log.verbose(`Refusing denylisted ${kind.name} request`);
    return false;
  }
  if (policy.allowed?.includes(kind.name)) {
    context.log.debug2(`Permitting allowlisted ${kind.name} request`);
    return true;
  }
  if (policy.allowed) {
    context.log.verbose(`Refusing non-allowlisted ${kind.name} request`);
    return false;
  }
  return true;
}

/** Answers one decoded request (never INIT). Errors thrown here become a status in the caller. */
export function answer(context: SftpContext, policy: RequestPolicy, request: SftpRequest): Promise<Buffer> | Buffer {
  const id = request.id;
  if (request.type === SSH_FXP.EXTENDED) {
    const kind = EXTENDED_KINDS.get(request.name);
    if (!kind) {
      context.log.error(`Unknown extended request "${visible(request.name, 100)}"`);
      return statusReply(context, id, SSH_FX.OP_UNSUPPORTED);
    }
    if (!permitted(policy, kind, context)) return statusReply(context, id, SSH_FX.PERMISSION_DENIED);
    const decoded = decodeExtendedRequest(request.name, request.data);
    if (!decoded) throw new DecodeError(`undecodable ${request.name}`);
    return extendedRequest(context, id, decoded);
  }
  const kind = REQUEST_KINDS.get(request.type)!;
  if (!permitted(policy, kind, context)) return statusReply(context, id, SSH_FX.PERMISSION_DENIED);
  switch (request.type) {
    case SSH_FXP.OPEN: return openFile(context, id, request.path, request.pflags, request.attrs);
    case SSH_FXP.CLOSE: return closeHandle(context, id, request.handle);
    case SSH_FXP.READ: return readFile(context, id, request.handle, request.offset, request.length);
    case SSH_FXP.WRITE: return writeFile(context, id, request.handle, request.offset, request.data);
    case SSH_FXP.LSTAT: return statPath(context, id, request.path, false);
    case SSH_FXP.STAT: return statPath(context, id, request.path, true);
    case SSH_FXP.FSTAT: return fstatHandle(context, id, request.handle);
    case SSH_FXP.SETSTAT: return setstatPath(context, id, request.path, request.attrs);
    case SSH_FXP.FSETSTAT: return fsetstatHandle(context, id, request.handle, request.attrs);
    case SSH_FXP.OPENDIR: return openDirectory(context, id, request.path);
    case SSH_FXP.READDIR: return readDirectory(context, id, request.handle);
    case SSH_FXP.REMOVE: return removePath(context, id, request.path);
    case SSH_FXP.MKDIR: return makeDirectory(context, id, request.path, request.attrs);
    case SSH_FXP.RMDIR: return removeDirectory(context, id, request.path);
    case SSH_FXP.REALPATH: return realPath(context, id, request.path);
    case SSH_FXP.RENAME: return renamePath(context, id, request.oldPath, request.newPath);
    case SSH_FXP.READLINK: return readLink(context, id, request.path);
    case SSH_FXP.SYMLINK: return makeSymlink(context, id, request.targetPath, request.linkPath);
  }
}
