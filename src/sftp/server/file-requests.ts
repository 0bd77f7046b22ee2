/**
 * Requests on open files (draft-02 §6.3–6.4, §6.8–6.9): OPEN, CLOSE, READ, WRITE, FSTAT, FSETSTAT. Reads and
 * writes use positioned I/O on the handle (pread/pwrite), so many of them run at once on one file without
 * a shared file offset; O_APPEND files are written at their end, as sftp-server does.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { encodeAttrs, encodeHandle, SFTP_MAX_READ_LENGTH, SSH_FX, SSH_FXF, SSH_FXP, type SftpAttributes } from '../protocol.ts';
import { applyAttributes, attributesOf, handleSetter } from './attributes.ts';
import { statusReply, onTarget, type SftpContext } from './context.ts';
import { closeEntry, type FileEntry } from './handles.ts';
import { visible } from './log.ts';

/** Free packet buffers kept once a file is closed. */
const POOLED_AFTER_CLOSE = 2;

/** The access mode bits of open(2)'s flags (fs.constants lacks O_ACCMODE). */
const O_ACCMODE = 3;

/** flags_from_portable(). */
export function openFlags(pflags: number): number {
  let flags = 0;
  if (pflags & SSH_FXF.READ && pflags & SSH_FXF.WRITE) flags = constants.O_RDWR;
  else if (pflags & SSH_FXF.WRITE) flags = constants.O_WRONLY;
  else flags = constants.O_RDONLY;
  if (pflags & SSH_FXF.APPEND) flags |= constants.O_APPEND;
  if (pflags & SSH_FXF.CREAT) flags |= constants.O_CREAT;
  if (pflags & SSH_FXF.TRUNC) flags |= constants.O_TRUNC;
  if (pflags & SSH_FXF.EXCL) flags |= constants.O_EXCL;
  return flags;
}

/** string_from_portable(): "READ,WRITE,CREATE,TRUNCATE" for the log. */
export function openFlagsText(pflags: number): string {
  const names: [number, string][] = [[SSH_FXF.READ, 'READ'], [SSH_FXF.WRITE, 'WRITE'], [SSH_FXF.APPEND, 'APPEND'], [SSH_FXF.CREAT, 'CREATE'], [SSH_FXF.TRUNC, 'TRUNCATE'], [SSH_FXF.EXCL, 'EXCL']];
  return names.filter(([bit]) => pflags & bit).map(([, name]) => name).join(',');
}

export async function openFile(context: SftpContext, id: number, path: string, pflags: number, attrs: SftpAttributes): Promise<Buffer> {
  const flags = openFlags(pflags);
  const mode = attrs.permissions ?? 0o666;
  context.log.info(`open "${visible(path)}" flags ${openFlagsText(pflags)} mode 0${mode.toString(8)}`);
  if (context.readOnly && ((flags & O_ACCMODE) !== constants.O_RDONLY || (flags & (constants.O_CREAT | constants.O_TRUNC)) !== 0)) {
    context.log.verbose('Refusing open request in read-only mode');
    return statusReply(context, id, SSH_FX.PERMISSION_DENIED);
  }
  if (context.handles.full) return statusReply(context, id, SSH_FX.FAILURE);
  // O_NONBLOCK: opening a FIFO must not hold a thread of the pool until a writer appears.
  const file = await onTarget(context, path, true, (target) =>
    open(target.path, flags | constants.O_NONBLOCK | (target.lastIsName ? constants.O_NOFOLLOW : 0), mode & 0o7777));
  if (context.handles.full) {
    await file.close();
    return statusReply(context, id, SSH_FX.FAILURE);
  }
  const handle = context.handles.add({ kind: 'file', name: path, file, append: (flags & constants.O_APPEND) !== 0, bytesRead: 0, bytesWritten: 0 });
  return encodeHandle(id, handle);
}

export async function closeHandle(context: SftpContext, id: number, handle: Buffer): Promise<Buffer> {
  const entry = context.handles.remove(handle);
  if (!entry) return statusReply(context, id, SSH_FX.NO_SUCH_FILE);
  // A transfer ends with its CLOSE: the buffers it kept in flight are not kept for the next one.
  if (entry.kind === 'file') context.buffers.trim(POOLED_AFTER_CLOSE);
  if (entry.kind === 'file') context.log.info(`close "${visible(entry.name)}" bytes read ${entry.bytesRead} written ${entry.bytesWritten}`);
  else context.log.info(`closedir "${visible(entry.name)}"`);
  await closeEntry(entry);
  return statusReply(context, id, SSH_FX.OK);
}

/** Header of an SSH_FXP_DATA packet: length, type, id, data length (draft-02 §7). */
const DATA_HEADER = 13;

export async function readFile(context: SftpContext, id: number, handle: Buffer, offset: number, length: number): Promise<Buffer> {
  const entry = context.handles.file(handle);
  if (!entry) return statusReply(context, id, SSH_FX.FAILURE);
  const wanted = Math.min(length, SFTP_MAX_READ_LENGTH);
  // The data is read straight into the reply packet, a pooled buffer the session gives back once the reply
  // is written: no copy of a large read, and no new buffer for each.
  const packet = context.buffers.take(DATA_HEADER + wanted);
  let count = 0;
  if (wanted > 0) {
    try {
      ({ bytesRead: count } = await entry.file.read(packet, DATA_HEADER, wanted, offset));
    } catch (error) {
      context.buffers.release(packet);
      throw error;
    }
    if (count === 0) {
      context.buffers.release(packet);
      return statusReply(context, id, SSH_FX.EOF);
    }
  }
  entry.bytesRead += count;
  packet.writeUInt32BE(DATA_HEADER - 4 + count, 0);
  packet[4] = SSH_FXP.DATA;
  packet.writeUInt32BE(id, 5);
  packet.writeUInt32BE(count, 9);
  return packet.subarray(0, DATA_HEADER + count);
}

/**
 * `data` lies in the request's packet, which goes back to the pool once written (nothing else holds it).
 * A file's WRITEs reach it one at a time, in the order they came, as sftp-server's do: a client keeps many
 * in flight, and were they written in parallel a session cut off mid-file (its process ended with writes
 * still queued in the thread pool) could leave later blocks written and earlier ones not: a file whose size
 * claims data it does not hold, which `reput` and `sftp -a` would then resume after. In order, what is
 * written is always a prefix of what was sent.
 */
export function writeFile(context: SftpContext, id: number, handle: Buffer, offset: number, data: Buffer): Promise<Buffer> {
  const entry = context.handles.file(handle);
  const write = (entry?.lastWrite ?? Promise.resolve()).then(() => writeInOrder(context, id, entry, offset, data));
  if (entry) entry.lastWrite = write.catch(() => {});
  return write;
}

async function writeInOrder(context: SftpContext, id: number, entry: FileEntry | undefined, offset: number, data: Buffer): Promise<Buffer> {
  try {
    if (!entry) return statusReply(context, id, SSH_FX.FAILURE);
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await entry.file.write(data, written, data.length - written, entry.append ? null : offset + written);
      if (bytesWritten === 0) return statusReply(context, id, SSH_FX.FAILURE);
      written += bytesWritten;
    }
    entry.bytesWritten += written;
    return statusReply(context, id, SSH_FX.OK);
  } finally {
    context.buffers.release(data);
  }
}

export async function fstatHandle(context: SftpContext, id: number, handle: Buffer): Promise<Buffer> {
  const entry = context.handles.file(handle);
  if (!entry) return statusReply(context, id, SSH_FX.FAILURE);
  return encodeAttrs(id, attributesOf(await entry.file.stat()));
}

export async function fsetstatHandle(context: SftpContext, id: number, handle: Buffer, attrs: SftpAttributes): Promise<Buffer> {
  const entry = context.handles.file(handle);
  if (!entry) return statusReply(context, id, SSH_FX.FAILURE);
  return statusReply(context, id, await applyAttributes(handleSetter(entry.file), attrs, entry.name, context.log));
}
