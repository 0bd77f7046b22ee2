/** ATTRS (draft-02 §5), encoded and decoded for both roles. */
import { Reader } from '../../wire/reader.ts';
import { Writer } from '../../wire/writer.ts';
import { DecodeError } from '../../wire/errors.ts';
import { SFTP_MAX_PATH_LENGTH, SSH_FILEXFER_ATTR } from './constants.ts';

export interface SftpAttributeExtension {
  type: string;
  data: Buffer;
}

/** File attributes; a field is on the wire exactly when it is set (uid and gid travel together). */
export interface SftpAttributes {
  size?: number;
  uid?: number;
  gid?: number;
  /** st_mode: file type bits included, as OpenSSH sends them. */
  permissions?: number;
  /** Seconds since the epoch (uint32 on the wire: v3 has no sub-second times). */
  atime?: number;
  mtime?: number;
  extended?: SftpAttributeExtension[];
}

/** Most vendor attribute pairs one ATTRS may carry (OpenSSH ignores them; we bound them). */
const MAX_ATTRIBUTE_EXTENSIONS = 256;

export function safeUint64(reader: Reader, what: string): number {
  const value = reader.uint64();
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError(`${what} out of range`);
  return Number(value);
}

export function writeAttributes(writer: Writer, attrs: SftpAttributes): Writer {
  let flags = 0;
  if (attrs.size !== undefined) flags |= SSH_FILEXFER_ATTR.SIZE;
  if (attrs.uid !== undefined || attrs.gid !== undefined) flags |= SSH_FILEXFER_ATTR.UIDGID;
  if (attrs.permissions !== undefined) flags |= SSH_FILEXFER_ATTR.PERMISSIONS;
  if (attrs.atime !== undefined || attrs.mtime !== undefined) flags |= SSH_FILEXFER_ATTR.ACMODTIME;
  if (attrs.extended && attrs.extended.length > 0) flags |= SSH_FILEXFER_ATTR.EXTENDED;
  writer.uint32(flags >>> 0);
  if (attrs.size !== undefined) writer.uint64(BigInt(attrs.size));
  if (flags & SSH_FILEXFER_ATTR.UIDGID) writer.uint32(attrs.uid ?? 0).uint32(attrs.gid ?? 0);
  if (attrs.permissions !== undefined) writer.uint32(attrs.permissions);
  if (flags & SSH_FILEXFER_ATTR.ACMODTIME) writer.uint32(attrs.atime ?? 0).uint32(attrs.mtime ?? 0);
  if (flags & SSH_FILEXFER_ATTR.EXTENDED) {
    writer.uint32(attrs.extended!.length);
    for (const extension of attrs.extended!) writer.string(extension.type).string(extension.data);
  }
  return writer;
}

export function readAttributes(reader: Reader): SftpAttributes {
  const flags = reader.uint32();
  const attrs: SftpAttributes = {};
  if (flags & SSH_FILEXFER_ATTR.SIZE) attrs.size = safeUint64(reader, 'file size');
  if (flags & SSH_FILEXFER_ATTR.UIDGID) {
    attrs.uid = reader.uint32();
    attrs.gid = reader.uint32();
  }
  if (flags & SSH_FILEXFER_ATTR.PERMISSIONS) attrs.permissions = reader.uint32();
  if (flags & SSH_FILEXFER_ATTR.ACMODTIME) {
    attrs.atime = reader.uint32();
    attrs.mtime = reader.uint32();
  }
  if (flags & SSH_FILEXFER_ATTR.EXTENDED) {
    const count = reader.uint32();
    // Each pair takes at least 8 bytes: a count the packet cannot hold is refused before looping.
    if (count > MAX_ATTRIBUTE_EXTENSIONS || count * 8 > reader.remaining) {
      throw new DecodeError(`ATTRS with ${count} extended attributes`);
    }
    attrs.extended = [];
    for (let index = 0; index < count; index++) {
      attrs.extended.push({ type: reader.text(SFTP_MAX_PATH_LENGTH), data: Buffer.from(reader.string()) });
    }
  }
  return attrs;
}
