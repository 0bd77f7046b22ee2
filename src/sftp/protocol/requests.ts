/** INIT, VERSION and every client request, extended ones included (draft-02 §4, §6; PROTOCOL §4). */
import { Reader } from '../../wire/reader.ts';
import { Writer } from '../../wire/writer.ts';
import { DecodeError } from '../../wire/errors.ts';
import { OPENSSH_EXTENSIONS, SFTP_EXTENSION, SFTP_MAX_HANDLE_LENGTH, SFTP_MAX_PACKET_LENGTH, SFTP_MAX_PATH_LENGTH, SFTP_VERSION, SSH_FXP, type SftpExtensionAnnouncement } from './constants.ts';
import { readAttributes, safeUint64, writeAttributes, type SftpAttributes } from './attributes.ts';
import { finishPacket, startPacket } from './framing.ts';

// INIT and VERSION (draft-02 §4, PROTOCOL §4.2)


export interface SftpHello {
  version: number;
  extensions: SftpExtensionAnnouncement[];
}

/** Most extension pairs we read from an INIT or VERSION. */
const MAX_ANNOUNCED_EXTENSIONS = 1024;

function encodeHello(type: number, hello: SftpHello): Buffer {
  const writer = startPacket(type, 512).uint32(hello.version);
  for (const extension of hello.extensions) writer.string(extension.name).string(extension.data);
  return finishPacket(writer);
}

function decodeHello(reader: Reader): SftpHello {
  const hello: SftpHello = { version: reader.uint32(), extensions: [] };
  while (reader.remaining > 0) {
    if (hello.extensions.length >= MAX_ANNOUNCED_EXTENSIONS) throw new DecodeError('too many SFTP extensions');
    hello.extensions.push({ name: reader.text(4096), data: reader.text(4096) });
  }
  return hello;
}

export function encodeInit(version = SFTP_VERSION, extensions: SftpExtensionAnnouncement[] = []): Buffer {
  return encodeHello(SSH_FXP.INIT, { version, extensions });
}

export function encodeVersion(version = SFTP_VERSION, extensions: readonly SftpExtensionAnnouncement[] = OPENSSH_EXTENSIONS): Buffer {
  return encodeHello(SSH_FXP.VERSION, { version, extensions: [...extensions] });
}

/** Decodes an SSH_FXP_INIT payload (type byte first). */
export function decodeInit(payload: Buffer): SftpHello {
  const reader = new Reader(payload);
  if (reader.byte() !== SSH_FXP.INIT) throw new DecodeError('expected SSH_FXP_INIT');
  return decodeHello(reader);
}

/** Decodes an SSH_FXP_VERSION payload (type byte first). */
export function decodeVersion(payload: Buffer): SftpHello {
  const reader = new Reader(payload);
  if (reader.byte() !== SSH_FXP.VERSION) throw new DecodeError('expected SSH_FXP_VERSION');
  return decodeHello(reader);
}

// Requests (draft-02 §6; SYMLINK in OpenSSH's order, PROTOCOL §4.1)

type PathRequestType =
  | typeof SSH_FXP.LSTAT | typeof SSH_FXP.STAT | typeof SSH_FXP.OPENDIR | typeof SSH_FXP.REMOVE
  | typeof SSH_FXP.RMDIR | typeof SSH_FXP.REALPATH | typeof SSH_FXP.READLINK;
type HandleRequestType = typeof SSH_FXP.CLOSE | typeof SSH_FXP.FSTAT | typeof SSH_FXP.READDIR;

export type SftpRequest =
  | { type: typeof SSH_FXP.OPEN; id: number; path: string; pflags: number; attrs: SftpAttributes }
  | { type: typeof SSH_FXP.READ; id: number; handle: Buffer; offset: number; length: number }
  | { type: typeof SSH_FXP.WRITE; id: number; handle: Buffer; offset: number; data: Buffer }
  | { type: PathRequestType; id: number; path: string }
  | { type: HandleRequestType; id: number; handle: Buffer }
  | { type: typeof SSH_FXP.SETSTAT | typeof SSH_FXP.MKDIR; id: number; path: string; attrs: SftpAttributes }
  | { type: typeof SSH_FXP.FSETSTAT; id: number; handle: Buffer; attrs: SftpAttributes }
  | { type: typeof SSH_FXP.RENAME; id: number; oldPath: string; newPath: string }
  /** On the wire as target then link (OpenSSH's reversal of draft-02, PROTOCOL §4.1). */
  | { type: typeof SSH_FXP.SYMLINK; id: number; targetPath: string; linkPath: string }
  /** The extension's own fields stay undecoded in `data`: see decodeExtendedRequest. */
  | { type: typeof SSH_FXP.EXTENDED; id: number; name: string; data: Buffer };

export type SftpRequestType = SftpRequest['type'];

const PATH_REQUESTS: ReadonlySet<number> = new Set([
  SSH_FXP.LSTAT, SSH_FXP.STAT, SSH_FXP.OPENDIR, SSH_FXP.REMOVE, SSH_FXP.RMDIR, SSH_FXP.REALPATH, SSH_FXP.READLINK,
]);
const HANDLE_REQUESTS: ReadonlySet<number> = new Set([SSH_FXP.CLOSE, SSH_FXP.FSTAT, SSH_FXP.READDIR]);

export const readPath = (reader: Reader): string => reader.text(SFTP_MAX_PATH_LENGTH);
export const readHandle = (reader: Reader): Buffer => reader.string(SFTP_MAX_HANDLE_LENGTH);

/**
 * The request id of a payload whose type carries one, even when the rest is malformed, so a server can
 * answer SSH_FX_BAD_MESSAGE to the right request. undefined for INIT, VERSION and packets too short.
 */
export function peekRequestId(payload: Buffer): number | undefined {
  if (payload.length < 5) return undefined;
  const type = payload[0]!;
  if (type === SSH_FXP.INIT || type === SSH_FXP.VERSION) return undefined;
  return payload.readUInt32BE(1);
}

/** Decodes one client request payload (type byte first). Throws DecodeError on malformed or unknown input. */
export function decodeRequest(payload: Buffer): SftpRequest {
  const reader = new Reader(payload);
  const type = reader.byte();
  const id = reader.uint32();
  let request: SftpRequest;
  if (PATH_REQUESTS.has(type)) {
    request = { type: type as PathRequestType, id, path: readPath(reader) };
  } else if (HANDLE_REQUESTS.has(type)) {
    request = { type: type as HandleRequestType, id, handle: readHandle(reader) };
  } else {
    switch (type) {
      case SSH_FXP.OPEN:
        request = { type, id, path: readPath(reader), pflags: reader.uint32(), attrs: readAttributes(reader) };
        break;
      case SSH_FXP.READ:
        request = { type, id, handle: readHandle(reader), offset: safeUint64(reader, 'offset'), length: reader.uint32() };
        break;
      case SSH_FXP.WRITE:
        request = { type, id, handle: readHandle(reader), offset: safeUint64(reader, 'offset'), data: reader.string(SFTP_MAX_PACKET_LENGTH) };
        break;
      case SSH_FXP.SETSTAT:
      case SSH_FXP.MKDIR:
        request = { type, id, path: readPath(reader), attrs: readAttributes(reader) };
        break;
      case SSH_FXP.FSETSTAT:
        request = { type, id, handle: readHandle(reader), attrs: readAttributes(reader) };
        break;
      case SSH_FXP.RENAME:
        request = { type, id, oldPath: readPath(reader), newPath: readPath(reader) };
        break;
      case SSH_FXP.SYMLINK:
        request = { type, id, targetPath: readPath(reader), linkPath: readPath(reader) };
        break;
      case SSH_FXP.EXTENDED:
        request = { type, id, name: reader.text(4096), data: reader.rest() };
        break;
      default:
        throw new UnknownSftpTypeError(type, id);
    }
  }
  // OpenSSH's sftp-server ignores trailing bytes after a request's fields; so do we (peers pad ATTRS).
  return request;
}

/** A packet whose type is not a v3 request: the server answers SSH_FX_OP_UNSUPPORTED. */
export class UnknownSftpTypeError extends DecodeError {
  readonly type: number;
  readonly id: number;
  constructor(type: number, id: number) {
    super(`unknown SFTP message type ${type}`);
    this.type = type;
    this.id = id;
  }
}

/** Encodes any request as a whole packet. */
export function encodeRequest(request: SftpRequest): Buffer {
  const writer = startPacket(request.type, request.type === SSH_FXP.WRITE ? request.data.length + 64 : 128);
  writer.uint32(request.id);
  switch (request.type) {
    case SSH_FXP.OPEN:
      writeAttributes(writer.string(request.path).uint32(request.pflags), request.attrs);
      break;
    case SSH_FXP.READ:
      writer.string(request.handle).uint64(BigInt(request.offset)).uint32(request.length);
      break;
    case SSH_FXP.WRITE:
      writer.string(request.handle).uint64(BigInt(request.offset)).string(request.data);
      break;
    case SSH_FXP.SETSTAT:
    case SSH_FXP.MKDIR:
      writeAttributes(writer.string(request.path), request.attrs);
      break;
    case SSH_FXP.FSETSTAT:
      writeAttributes(writer.string(request.handle), request.attrs);
      break;
    case SSH_FXP.RENAME:
      writer.string(request.oldPath).string(request.newPath);
      break;
    case SSH_FXP.SYMLINK:
      writer.string(request.targetPath).string(request.linkPath);
      break;
    case SSH_FXP.EXTENDED:
      writer.string(request.name).raw(request.data);
      break;
    default:
      if ('path' in request) writer.string(request.path);
      else writer.string(request.handle);
  }
  return finishPacket(writer);
}

export function encodeRead(id: number, handle: Buffer, offset: number, length: number): Buffer {
  return encodeRequest({ type: SSH_FXP.READ, id, handle, offset, length });
}

export function encodeWrite(id: number, handle: Buffer, offset: number, data: Buffer): Buffer {
  const at = writeDataOffset(handle);
  const packet = Buffer.allocUnsafe(at + data.length);
  packet.set(data, at);
  return finishWritePacket(packet, id, handle, offset, data.length);
}

/**
 * Where a WRITE packet's data starts (draft-02 §6.4: length, type, id, string handle, uint64 offset, then
 * the data's length): a sender that reads the data straight into a packet leaves this much room before it.
 */
export function writeDataOffset(handle: Buffer): number {
  return 4 + 1 + 4 + 4 + handle.length + 8 + 4;
}

/**
 * Fills in the fields of a WRITE packet whose `dataLength` bytes of data are already in `packet` at
 * writeDataOffset(handle); returns the packet (a view of exactly its length). No copy of the data.
 */
export function finishWritePacket(packet: Buffer, id: number, handle: Buffer, offset: number, dataLength: number): Buffer {
  const at = writeDataOffset(handle);
  if (packet.length < at + dataLength) throw new RangeError(`WRITE packet of ${packet.length} bytes cannot hold ${dataLength} bytes of data`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`WRITE offset ${offset}`);
  let position = packet.writeUInt32BE(at - 4 + dataLength, 0);
  packet[position++] = SSH_FXP.WRITE;
  position = packet.writeUInt32BE(id >>> 0, position);
  position = packet.writeUInt32BE(handle.length, position);
  position += handle.copy(packet, position);
  // uint64 as two halves: no BigInt per packet.
  position = packet.writeUInt32BE(Math.floor(offset / 2 ** 32), position);
  position = packet.writeUInt32BE(offset >>> 0, position);
  packet.writeUInt32BE(dataLength, position);
  return packet.subarray(0, at + dataLength);
}

// Extended requests (PROTOCOL §4.3–4.12)

export type SftpExtendedRequest =
  | { name: typeof SFTP_EXTENSION.POSIX_RENAME | typeof SFTP_EXTENSION.HARDLINK; oldPath: string; newPath: string }
  | { name: typeof SFTP_EXTENSION.STATVFS | typeof SFTP_EXTENSION.EXPAND_PATH; path: string }
  | { name: typeof SFTP_EXTENSION.FSTATVFS | typeof SFTP_EXTENSION.FSYNC; handle: Buffer }
  | { name: typeof SFTP_EXTENSION.LSETSTAT; path: string; attrs: SftpAttributes }
  | { name: typeof SFTP_EXTENSION.LIMITS }
  | {
      name: typeof SFTP_EXTENSION.COPY_DATA;
      readHandle: Buffer;
      readOffset: number;
      /** 0 copies until end of file. */
      length: number;
      writeHandle: Buffer;
      writeOffset: number;
    }
  /** "" asks for the current user's home. */
  | { name: typeof SFTP_EXTENSION.HOME_DIRECTORY; username: string }
  | { name: typeof SFTP_EXTENSION.USERS_GROUPS_BY_ID; uids: number[]; gids: number[] };

/** Most ids one users-groups-by-id request may name (OpenSSH bounds it by the packet only). */
export const MAX_IDS_PER_LOOKUP = 4096;

function readIdList(reader: Reader): number[] {
  const list = new Reader(reader.string(MAX_IDS_PER_LOOKUP * 4));
  const ids: number[] = [];
  while (list.remaining > 0) ids.push(list.uint32());
  return ids;
}

/** Decodes a known extension's fields; undefined for names we do not implement (answer OP_UNSUPPORTED). */
export function decodeExtendedRequest(name: string, data: Buffer): SftpExtendedRequest | undefined {
  const reader = new Reader(data);
  switch (name) {
    case SFTP_EXTENSION.POSIX_RENAME:
    case SFTP_EXTENSION.HARDLINK:
      return { name, oldPath: readPath(reader), newPath: readPath(reader) };
    case SFTP_EXTENSION.STATVFS:
    case SFTP_EXTENSION.EXPAND_PATH:
      return { name, path: readPath(reader) };
    case SFTP_EXTENSION.FSTATVFS:
    case SFTP_EXTENSION.FSYNC:
      return { name, handle: readHandle(reader) };
    case SFTP_EXTENSION.LSETSTAT:
      return { name, path: readPath(reader), attrs: readAttributes(reader) };
    case SFTP_EXTENSION.LIMITS:
      return { name };
    case SFTP_EXTENSION.COPY_DATA:
      return {
        name,
        readHandle: readHandle(reader),
        readOffset: safeUint64(reader, 'offset'),
        length: safeUint64(reader, 'length'),
        writeHandle: readHandle(reader),
        writeOffset: safeUint64(reader, 'offset'),
      };
    case SFTP_EXTENSION.HOME_DIRECTORY:
      return { name, username: reader.text(256) };
    case SFTP_EXTENSION.USERS_GROUPS_BY_ID:
      return { name, uids: readIdList(reader), gids: readIdList(reader) };
    default:
      return undefined;
  }
}

/** Encodes an extended request as a whole SSH_FXP_EXTENDED packet. */
export function encodeExtendedRequest(id: number, request: SftpExtendedRequest): Buffer {
  const writer = new Writer(128);
  switch (request.name) {
    case SFTP_EXTENSION.POSIX_RENAME:
    case SFTP_EXTENSION.HARDLINK:
      writer.string(request.oldPath).string(request.newPath);
      break;
    case SFTP_EXTENSION.STATVFS:
    case SFTP_EXTENSION.EXPAND_PATH:
      writer.string(request.path);
      break;
    case SFTP_EXTENSION.FSTATVFS:
    case SFTP_EXTENSION.FSYNC:
      writer.string(request.handle);
      break;
    case SFTP_EXTENSION.LSETSTAT:
      writeAttributes(writer.string(request.path), request.attrs);
      break;
    case SFTP_EXTENSION.LIMITS:
      break;
    case SFTP_EXTENSION.COPY_DATA:
      writer.string(request.readHandle).uint64(BigInt(request.readOffset)).uint64(BigInt(request.length))
        .string(request.writeHandle).uint64(BigInt(request.writeOffset));
      break;
    case SFTP_EXTENSION.HOME_DIRECTORY:
      writer.string(request.username);
      break;
    case SFTP_EXTENSION.USERS_GROUPS_BY_ID: {
      const ids = (list: number[]): Buffer => {
        const inner = new Writer(list.length * 4 + 4);
        for (const value of list) inner.uint32(value);
        return inner.finish();
      };
      writer.string(ids(request.uids)).string(ids(request.gids));
      break;
    }
  }
  return encodeRequest({ type: SSH_FXP.EXTENDED, id, name: request.name, data: writer.finish() });
}
