/**
 * What every request handler works with, and the replies they share: a status logged as sftp-server logs
 * it ("sent status …" for failures, and for every status above VERBOSE), and a NAME reply of one path.
 */
import { encodeName, encodeStatus, SSH_FX, type PacketBufferPool } from '../protocol.ts';
import type { HandleTable } from './handles.ts';
import type { SftpLog } from './log.ts';
import type { NameLookup } from './names.ts';
import type { PathTarget, SftpPaths } from './paths.ts';
import { serverStatusMessage, statusForError } from './status.ts';

export interface SftpAccount {
  name: string;
  uid: number;
  /** Home directory as the session sees it (inside the root under ChrootDirectory). */
  home: string;
}

export interface SftpContext {
  paths: SftpPaths;
  handles: HandleTable;
  log: SftpLog;
  names: NameLookup;
  readOnly: boolean;
  account: SftpAccount;
  /** Buffers for READ replies and received WRITEs, given back once written (session.ts, file-requests.ts). */
  buffers: PacketBufferPool;
}

export function statusReply(context: SftpContext, id: number, code: number, message = serverStatusMessage(code)): Buffer {
  context.log.debug3(`request ${id}: sent status ${code}`);
  if (context.log.enabled('DEBUG1') || (code !== SSH_FX.OK && code !== SSH_FX.EOF)) context.log.info(`sent status ${serverStatusMessage(code)}`);
  return encodeStatus(id, code, message);
}

/** Runs a request that answers with a bare status: OK, or the status its error maps to. */
export async function replyWithStatus(context: SftpContext, id: number, action: () => Promise<unknown>): Promise<Buffer> {
  try {
    await action();
    return statusReply(context, id, SSH_FX.OK);
  } catch (error) {
    return statusReply(context, id, statusForError(error).code);
  }
}

export function singleName(id: number, name: string): Buffer {
  return encodeName(id, [{ filename: name, longname: name, attrs: {} }]);
}

/** Runs `action` on the target of `path`, releasing its anchor afterwards. */
export async function onTarget<T>(context: SftpContext, path: string, follow: boolean, action: (target: PathTarget) => Promise<T>): Promise<T> {
  const target = await context.paths.target(path, follow);
  try {
    return await action(target);
  } finally {
    await target.release();
  }
}
