/** Server replies and the extended replies' payloads (draft-02 §7; PROTOCOL §4.4, §4.8, §4.12). */
import { Reader } from '../../wire/reader.ts';
import { Writer } from '../../wire/writer.ts';
import { DecodeError } from '../../wire/errors.ts';
import { SFTP_MAX_PACKET_LENGTH, SFTP_MAX_PATH_LENGTH, SSH_FXP, statusMessage } from './constants.ts';
import { readAttributes, writeAttributes, type SftpAttributes } from './attributes.ts';
import { finishPacket, startPacket } from './framing.ts';
import { readHandle, readPath } from './requests.ts';

// Responses (draft-02 §7)

export interface SftpNameEntry {
  filename: string;
  /** `ls -l` style line; clients must not parse it (draft-02 §7). */
  longname: string;
  attrs: SftpAttributes;
}

export type SftpResponse =
  | { type: typeof SSH_FXP.STATUS; id: number; code: number; message: string; language: string }
  | { type: typeof SSH_FXP.HANDLE; id: number; handle: Buffer }
  | { type: typeof SSH_FXP.DATA; id: number; data: Buffer }
  | { type: typeof SSH_FXP.NAME; id: number; entries: SftpNameEntry[] }
  | { type: typeof SSH_FXP.ATTRS; id: number; attrs: SftpAttributes }
  /** The reply's fields after the id, decoded by the requester (decodeStatvfsReply etc.). */
  | { type: typeof SSH_FXP.EXTENDED_REPLY; id: number; data: Buffer };

export function encodeStatus(id: number, code: number, message = statusMessage(code), language = ''): Buffer {
  return finishPacket(startPacket(SSH_FXP.STATUS, 64 + message.length).uint32(id).uint32(code).string(message).string(language));
}

export function encodeHandle(id: number, handle: Buffer): Buffer {
  return finishPacket(startPacket(SSH_FXP.HANDLE, 16 + handle.length).uint32(id).string(handle));
}

export function encodeData(id: number, data: Uint8Array): Buffer {
  return finishPacket(startPacket(SSH_FXP.DATA, 16 + data.length).uint32(id).string(data));
}

export function encodeName(id: number, entries: readonly SftpNameEntry[]): Buffer {
  const writer = startPacket(SSH_FXP.NAME, 256 * Math.max(1, entries.length)).uint32(id).uint32(entries.length);
  for (const entry of entries) writeAttributes(writer.string(entry.filename).string(entry.longname), entry.attrs);
  return finishPacket(writer);
}

export function encodeAttrs(id: number, attrs: SftpAttributes): Buffer {
  return finishPacket(writeAttributes(startPacket(SSH_FXP.ATTRS).uint32(id), attrs));
}

/** An SSH_FXP_EXTENDED_REPLY from already encoded fields. */
export function encodeExtendedReply(id: number, data: Uint8Array): Buffer {
  return finishPacket(startPacket(SSH_FXP.EXTENDED_REPLY, 16 + data.length).uint32(id).raw(data));
}

export function encodeResponse(response: SftpResponse): Buffer {
  switch (response.type) {
    case SSH_FXP.STATUS: return encodeStatus(response.id, response.code, response.message, response.language);
    case SSH_FXP.HANDLE: return encodeHandle(response.id, response.handle);
    case SSH_FXP.DATA: return encodeData(response.id, response.data);
    case SSH_FXP.NAME: return encodeName(response.id, response.entries);
    case SSH_FXP.ATTRS: return encodeAttrs(response.id, response.attrs);
    case SSH_FXP.EXTENDED_REPLY: return encodeExtendedReply(response.id, response.data);
  }
}

/** Decodes one server response payload (type byte first). VERSION is decoded by decodeVersion. */
export function decodeResponse(payload: Buffer): SftpResponse {
  const reader = new Reader(payload);
  const type = reader.byte();
  const id = reader.uint32();
  switch (type) {
    case SSH_FXP.STATUS: {
      const code = reader.uint32();
      // Some old servers end the packet after the code (draft-00); the texts are optional to us.
      const message = reader.remaining > 0 ? reader.text(SFTP_MAX_PACKET_LENGTH) : statusMessage(code);
      const language = reader.remaining > 0 ? reader.text(256) : '';
      return { type, id, code, message, language };
    }
    case SSH_FXP.HANDLE:
      return { type, id, handle: readHandle(reader) };
    case SSH_FXP.DATA:
      return { type, id, data: reader.string(SFTP_MAX_PACKET_LENGTH) };
    case SSH_FXP.NAME: {
      const count = reader.uint32();
      // An entry takes at least 12 bytes (two empty strings and the flags).
      if (count * 12 > reader.remaining) throw new DecodeError(`SSH_FXP_NAME with ${count} entries`);
      const entries: SftpNameEntry[] = [];
      for (let index = 0; index < count; index++) {
        entries.push({ filename: readPath(reader), longname: reader.text(SFTP_MAX_PATH_LENGTH), attrs: readAttributes(reader) });
      }
      return { type, id, entries };
    }
    case SSH_FXP.ATTRS:
      return { type, id, attrs: readAttributes(reader) };
    case SSH_FXP.EXTENDED_REPLY:
      return { type, id, data: reader.rest() };
    default:
      throw new DecodeError(`unexpected SFTP response type ${type}`);
  }
}

// Extended replies

/** statvfs@openssh.com / fstatvfs@openssh.com reply, PROTOCOL §4.4 (uint64 each, kept exact). */
export interface SftpStatvfs {
  bsize: bigint;
  frsize: bigint;
  blocks: bigint;
  bfree: bigint;
  bavail: bigint;
  files: bigint;
  ffree: bigint;
  favail: bigint;
  fsid: bigint;
  flag: bigint;
  namemax: bigint;
}

const STATVFS_FIELDS = ['bsize', 'frsize', 'blocks', 'bfree', 'bavail', 'files', 'ffree', 'favail', 'fsid', 'flag', 'namemax'] as const;

export function encodeStatvfsReply(id: number, statvfs: SftpStatvfs): Buffer {
  const writer = new Writer(96);
  for (const field of STATVFS_FIELDS) writer.uint64(BigInt.asUintN(64, statvfs[field]));
  return encodeExtendedReply(id, writer.finish());
}

export function decodeStatvfsReply(data: Buffer): SftpStatvfs {
  const reader = new Reader(data);
  const result = {} as SftpStatvfs;
  for (const field of STATVFS_FIELDS) result[field] = reader.uint64();
  return result;
}

/** limits@openssh.com reply, PROTOCOL §4.8; 0 means "no specific limit". */
export interface SftpLimits {
  maxPacketLength: number;
  maxReadLength: number;
  maxWriteLength: number;
  maxOpenHandles: number;
}

export function encodeLimitsReply(id: number, limits: SftpLimits): Buffer {
  const writer = new Writer(32)
    .uint64(BigInt(limits.maxPacketLength))
    .uint64(BigInt(limits.maxReadLength))
    .uint64(BigInt(limits.maxWriteLength))
    .uint64(BigInt(limits.maxOpenHandles));
  return encodeExtendedReply(id, writer.finish());
}

export function decodeLimitsReply(data: Buffer): SftpLimits {
  const reader = new Reader(data);
  // A server may announce limits beyond 2^53 ("unlimited" in practice): clamp rather than refuse.
  const limit = (): number => {
    const value = reader.uint64();
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
  };
  return { maxPacketLength: limit(), maxReadLength: limit(), maxWriteLength: limit(), maxOpenHandles: limit() };
}

/** users-groups-by-id@openssh.com reply, PROTOCOL §4.12: names in request order, "" when unknown. */
export interface SftpUsersGroups {
  users: string[];
  groups: string[];
}

export function encodeUsersGroupsReply(id: number, names: SftpUsersGroups): Buffer {
  const list = (values: string[]): Buffer => {
    const inner = new Writer(values.length * 16 + 4);
    for (const value of values) inner.string(value);
    return inner.finish();
  };
  return encodeExtendedReply(id, new Writer(128).string(list(names.users)).string(list(names.groups)).finish());
}

export function decodeUsersGroupsReply(data: Buffer): SftpUsersGroups {
  const reader = new Reader(data);
  const list = (): string[] => {
    const inner = new Reader(reader.string(SFTP_MAX_PACKET_LENGTH));
    const values: string[] = [];
    while (inner.remaining > 0) values.push(inner.text(SFTP_MAX_PATH_LENGTH));
    return values;
  };
  return { users: list(), groups: list() };
}
