/**
 * OpenSSH's extended requests (PROTOCOL §4.3–4.12), answered as sftp-server answers them.
 */
import { link, lstat, chmod, rename, statfs } from 'node:fs/promises';
import { posix } from 'node:path';
import {
  encodeLimitsReply, encodeStatvfsReply, encodeUsersGroupsReply, SFTP_EXTENSION, SFTP_MAX_PACKET_LENGTH, SFTP_MAX_READ_LENGTH,
  SFTP_MAX_WRITE_LENGTH, SSH_FX, type SftpExtendedRequest,
} from '../protocol.ts';
import { applyAttributes, linkSetter } from './attributes.ts';
import { onTarget, replyWithStatus, singleName, statusReply, type SftpContext } from './context.ts';
import { visible } from './log.ts';
import { statusForError } from './status.ts';

/** copy-data moves this much per read, as sftp-server's 64 KiB buffer. */
const COPY_CHUNK = 64 * 1024;

/** statfs(2) as statvfs(3) reports it; Node gives no fragment size, fsid, flags or name limit. */
async function statvfsReply(id: number, path: string): Promise<Buffer> {
  const info = await statfs(path, { bigint: true });
  return encodeStatvfsReply(id, {
    bsize: info.bsize, frsize: info.bsize, blocks: info.blocks, bfree: info.bfree, bavail: info.bavail,
    files: info.files, ffree: info.ffree, favail: info.ffree, fsid: 0n, flag: 0n, namemax: 255n,
  });
}


/** "~", "~/x", "~user/x" and relative paths, as process_extended_expand() expands them, then canonical. */
async function expandPath(context: SftpContext, id: number, path: string): Promise<Buffer> {
  const cwd = context.paths.cwd;
  let expanded = path === '' ? '.' : path;
  if (expanded === '~') expanded = cwd;
  else if (expanded.startsWith('~/')) expanded = `${cwd}/${expanded.slice(2)}`;
  else if (expanded.startsWith('~')) {
    const slash = expanded.indexOf('/');
    const user = await context.names.user(expanded.slice(1, slash < 0 ? undefined : slash));
    if (!user) return statusReply(context, id, SSH_FX.NO_SUCH_FILE, 'no such user');
    expanded = slash < 0 ? user.home : `${user.home}${expanded.slice(slash)}`;
  } else if (!expanded.startsWith('/')) expanded = `${cwd}/${expanded}`;
  context.log.verbose(`expand "${visible(expanded)}"`);
  return singleName(id, await context.paths.canonical(expanded));
}

async function copyData(context: SftpContext, id: number, request: Extract<SftpExtendedRequest, { name: 'copy-data' }>): Promise<Buffer> {
  const from = context.handles.file(request.readHandle);
  const to = context.handles.file(request.writeHandle);
  // The same handle, the same path, or a directory: refused as sftp-server refuses them.
  if (!from || !to || from === to || from.name === to.name) return statusReply(context, id, SSH_FX.FAILURE);
  const untilEnd = request.length === 0;
  let remaining = untilEnd ? Number.MAX_SAFE_INTEGER : request.length;
  let readAt = request.readOffset;
  let writeAt = request.writeOffset;
  const buffer = Buffer.allocUnsafe(COPY_CHUNK);
  try {
    while (remaining > 0) {
      const { bytesRead } = await from.file.read(buffer, 0, Math.min(COPY_CHUNK, remaining), readAt);
      if (bytesRead === 0) return statusReply(context, id, untilEnd ? SSH_FX.OK : SSH_FX.EOF);
      from.bytesRead += bytesRead;
      let written = 0;
      while (written < bytesRead) {
        const { bytesWritten } = await to.file.write(buffer, written, bytesRead - written, to.append ? null : writeAt + written);
        written += bytesWritten;
      }
      to.bytesWritten += bytesRead;
      readAt += bytesRead;
      writeAt += bytesRead;
      remaining -= bytesRead;
    }
  } catch (error) {
    context.log.error(`copy-data: ${(error as Error).message}`);
    return statusReply(context, id, statusForError(error).code);
  }
  return statusReply(context, id, SSH_FX.OK);
}

export async function extendedRequest(context: SftpContext, id: number, request: SftpExtendedRequest): Promise<Buffer> {
  switch (request.name) {
    case SFTP_EXTENSION.POSIX_RENAME:
      context.log.info(`posix-rename old "${visible(request.oldPath)}" new "${visible(request.newPath)}"`);
      return replyWithStatus(context, id, () => onTarget(context, request.oldPath, false, (from) => onTarget(context, request.newPath, false, (to) => rename(from.path, to.path))));
    case SFTP_EXTENSION.HARDLINK:
      context.log.info(`hardlink old "${visible(request.oldPath)}" new "${visible(request.newPath)}"`);
      return replyWithStatus(context, id, () => onTarget(context, request.oldPath, false, (from) => onTarget(context, request.newPath, false, (to) => link(from.path, to.path))));
    case SFTP_EXTENSION.STATVFS:
      context.log.info(`statvfs "${visible(request.path)}"`);
      return onTarget(context, request.path, true, (target) => statvfsReply(id, target.path));
    case SFTP_EXTENSION.FSTATVFS: {
      const entry = context.handles.file(request.handle);
      if (!entry) return statusReply(context, id, SSH_FX.FAILURE);
      return statvfsReply(id, `/proc/self/fd/${entry.file.fd}`);
    }
    case SFTP_EXTENSION.FSYNC: {
      const entry = context.handles.file(request.handle);
      context.log.verbose(`fsync "${visible(entry?.name ?? '(null)')}"`);
      if (!entry) return statusReply(context, id, SSH_FX.NO_SUCH_FILE);
      return replyWithStatus(context, id, () => entry.file.sync());
    }
    case SFTP_EXTENSION.LSETSTAT: {
      context.log.debug(`request ${id}: lsetstat name "${visible(request.path)}"`);
      // A size makes no sense for a link.
      if (request.attrs.size !== undefined) return statusReply(context, id, SSH_FX.BAD_MESSAGE);
      const status = await onTarget(context, request.path, false, (target) => {
        // Linux has no mode on links (fchmodat AT_SYMLINK_NOFOLLOW fails on them); other files change as chmod.
        const chmodNoFollow = async (mode: number) => {
          if ((await lstat(target.path)).isSymbolicLink()) throw Object.assign(new Error('EOPNOTSUPP'), { code: 'EOPNOTSUPP' });
          await onTarget(context, request.path, true, (node) => chmod(node.path, mode));
        };
        return applyAttributes(linkSetter(target.path, chmodNoFollow), request.attrs, request.path, context.log);
      });
      return statusReply(context, id, status);
    }
    case SFTP_EXTENSION.LIMITS:
      context.log.debug(`request ${id}: limits`);
      return encodeLimitsReply(id, {
        maxPacketLength: SFTP_MAX_PACKET_LENGTH,
        maxReadLength: SFTP_MAX_READ_LENGTH,
        maxWriteLength: SFTP_MAX_WRITE_LENGTH,
        maxOpenHandles: context.handles.limit,
      });
    case SFTP_EXTENSION.EXPAND_PATH:
      return expandPath(context, id, request.path);
    case SFTP_EXTENSION.COPY_DATA:
      return copyData(context, id, request);
    case SFTP_EXTENSION.HOME_DIRECTORY: {
      // "" is the session's own user (draft-ietf-secsh-filexfer-extensions-00 §5).
      const home = request.username === '' || request.username === context.account.name ? context.account.home : (await context.names.user(request.username))?.home;
      if (home === undefined) return statusReply(context, id, SSH_FX.FAILURE);
      context.log.verbose(`home-directory "${visible(home)}"`);
      return singleName(id, posix.normalize(home));
    }
    case SFTP_EXTENSION.USERS_GROUPS_BY_ID: {
      const users = await Promise.all(request.uids.map(async (uid) => (await context.names.userName(uid)) ?? ''));
      const groups = await Promise.all(request.gids.map(async (gid) => (await context.names.groupName(gid)) ?? ''));
      context.log.verbose(`users-groups-by-id: ${users.length} users, ${groups.length} groups`);
      return encodeUsersGroupsReply(id, { users, groups });
    }
  }
}
