/**
 * An SFTP version 3 client (draft-ietf-secsh-filexfer-02, with OpenSSH's extensions from its PROTOCOL §4)
 * over any byte stream, usually a session channel whose "sftp" subsystem has started. Requests carry ids
 * and any number may be outstanding: each method sends one request and resolves with its reply, in
 * whatever order the server answers. Replies are decoded by src/sftp/protocol.ts; a status other than OK
 * rejects with SftpStatusError (its `code` is the SSH_FX_* status, its message OpenSSH's fx2txt text).
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Channel } from '../../connection/channel.ts';
import {
  decodeLimitsReply, decodeResponse, decodeStatvfsReply, decodeUsersGroupsReply, decodeVersion, encodeExtendedRequest, encodeInit, encodeRead, encodeRequest,
  encodeWrite, finishWritePacket, PacketBufferPool, SftpPacketParser, SftpStatusError, SFTP_EXTENSION, SFTP_MAX_PACKET_LENGTH, SFTP_VERSION, SSH_FX, SSH_FXP,
  writeDataOffset,
  type SftpAttributes, type SftpExtendedRequest, type SftpLimits, type SftpNameEntry, type SftpResponse, type SftpStatvfs, type SftpUsersGroups,
} from '../protocol.ts';
import { DecodeError } from '../../wire/errors.ts';
import { replyError, SftpConnectionError, SftpProtocolError } from './errors.ts';
import { DEFAULT_MAX_REQUESTS, DEFAULT_REQUEST_SIZE, transferSizes } from './transfer-sizes.ts';

export { SftpStatusError, SSH_FX, SSH_FXF, type SftpAttributes, type SftpNameEntry, type SftpStatvfs } from '../protocol.ts';
export { FILE_TYPE, isDirectory, isRegularFile, isSymlink } from './file-type.ts';
export { SftpConnectionError, SftpProtocolError, SftpReplyError, serverText } from './errors.ts';
export { DEFAULT_MAX_REQUESTS, DEFAULT_REQUEST_SIZE } from './transfer-sizes.ts';

/** Directories larger than this are refused rather than held in memory. */
const MAX_DIRECTORY_ENTRIES = 1 << 20;

interface Pending {
  resolve(response: SftpResponse): void;
  reject(error: Error): void;
}

export interface SftpClientOptions {
  /** Bytes per READ/WRITE (sftp -B); by default the server's limits@openssh.com, else 32 KiB. */
  requestSize?: number;
  /** Requests in flight per transfer (sftp -R); by default 64 (fewer if the server's handle limit is lower). */
  maxRequests?: number;
  /**
   * Whether the stream has copied or sent what it was given by the time a write's callback runs, so that a
   * WRITE packet's buffer may be reused then. A channel or a socket has; a PassThrough has not (its reader
   * may still hold the buffer). By default: whether the stream is a Channel or a net.Socket.
   */
  streamCopiesWrites?: boolean;
}

/** Buffers for READ replies and WRITEs (fastGet, fastPut), each back once its file write or send is done. */
const POOLED_PACKET_SIZE = SFTP_MAX_PACKET_LENGTH + 4;
const POOLED_FREE = DEFAULT_MAX_REQUESTS;
/** Free buffers kept between transfers. */
const POOLED_IDLE = 2;

export class SftpClient {
  readonly version: number;
  /** Extensions the server announced, name → version text. */
  readonly extensions: ReadonlyMap<string, string>;
  /** Bytes per READ and per WRITE this client uses for transfers (settled by open()). */
  readSize = DEFAULT_REQUEST_SIZE;
  writeSize = DEFAULT_REQUEST_SIZE;
  /** Requests in flight per transfer. */
  maxRequests = DEFAULT_MAX_REQUESTS;
  /** Resolves when the stream has ended (with the error, if one ended it). */
  readonly closed: Promise<Error | undefined>;

  private readonly stream: Duplex;
  private readonly pool: PacketBufferPool;
  private readonly reuseWritten: boolean;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;

  private constructor(stream: Duplex, version: number, extensions: Map<string, string>, closed: Promise<Error | undefined>, pool: PacketBufferPool, reuseWritten: boolean) {
    this.stream = stream;
    this.pool = pool;
    this.reuseWritten = reuseWritten;
    this.version = version;
    this.extensions = extensions;
    this.closed = closed;
  }

  /** Says INIT, waits for VERSION (draft-02 §4), and asks for the server's limits when it offers them. */
  static async open(stream: Duplex, options: SftpClientOptions = {}): Promise<SftpClient> {
    const pool = new PacketBufferPool(POOLED_PACKET_SIZE, POOLED_FREE);
    const parser = new SftpPacketParser(undefined, pool);
    // Packets before VERSION go to `hello`; after it, to the client made from it.
    const state: { client?: SftpClient } = {};
    let hello: ((payload: Buffer) => void) | undefined;
    let helloFailed: ((error: Error) => void) | undefined;
    const version = new Promise<Buffer>((resolve, reject) => {
      hello = resolve;
      helloFailed = reject;
    });
    let ended: (error: Error | undefined) => void = () => {};
    const closed = new Promise<Error | undefined>((resolve) => (ended = resolve));
    const fail = (error: Error) => {
      helloFailed?.(error);
      state.client?.failAll(error);
      ended(error);
    };
    const receive = (chunk: Buffer, borrowed: boolean) => {
      let packets: Buffer[];
      try {
        packets = parser.push(chunk, borrowed);
      } catch (error) {
        fail(new SftpProtocolError((error as Error).message));
        stream.destroy();
        return;
      }
      for (const packet of packets) {
        if (state.client === undefined) {
          hello?.(packet);
          hello = undefined;
          continue;
        }
        state.client.receive(packet);
      }
    };
    // A channel hands its data over as it decrypts it (borrowed: the parser's one copy is all), rather than
    // through its readable side, which copies every 32 KiB packet into a buffer of its own first. Replies
    // are bounded by the requests in flight, so the consumer never refuses window.
    if (stream instanceof Channel) stream.consume({ take: (chunk, borrowed) => (receive(chunk, borrowed), true) });
    else stream.on('data', (chunk: Buffer) => receive(chunk, false));
    stream.once('error', (error: Error) => fail(new SftpConnectionError(`Connection closed: ${error.message}`)));
    stream.once('end', () => fail(new SftpConnectionError('Connection closed')));
    stream.once('close', () => fail(new SftpConnectionError('Connection closed')));
    stream.write(encodeInit(SFTP_VERSION));
    const payload = await version;
    if (payload[0] !== SSH_FXP.VERSION) throw new SftpProtocolError(`Invalid packet back from SSH2_FXP_INIT (type ${payload[0]})`);
    let announced;
    try {
      announced = decodeVersion(payload);
    } catch (error) {
      throw new SftpProtocolError(`parse version: ${(error as Error).message}`);
    }
    const extensions = new Map(announced.extensions.map((extension) => [extension.name, extension.data]));
    const reuseWritten = options.streamCopiesWrites ?? (stream instanceof Channel || stream instanceof Socket);
    const client = new SftpClient(stream, announced.version, extensions, closed, pool, reuseWritten);
    state.client = client;
    const sizes = await transferSizes(client, announced.version, options);
    client.readSize = sizes.read;
    client.writeSize = sizes.write;
    client.maxRequests = sizes.requests;
    return client;
  }

  /** Whether the server announced `name` (at `version`, when given), as OpenSSH checks it. */
  supports(name: string, version?: string): boolean {
    const announced = this.extensions.get(name);
    return announced !== undefined && (version === undefined || announced === version);
  }

  /** Ends the subsystem: outstanding requests reject. */
  end(): void {
    this.stream.end();
  }

  // --- requests -------------------------------------------------------------------------------------

  /** Sends one request; `sent` runs once the stream has taken the packet (its buffer may then be reused). */
  private send(packet: (id: number) => Buffer, sent?: () => void): Promise<SftpResponse> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (sent) this.stream.write(packet(id), () => sent());
      else this.stream.write(packet(id));
    });
  }

  private receive(packet: Buffer): void {
    let response: SftpResponse;
    try {
      response = decodeResponse(packet);
    } catch (error) {
      this.protocolFailure(error instanceof DecodeError ? `Bad SFTP packet: ${error.message}` : String(error));
      return;
    }
    const waiting = this.pending.get(response.id);
    if (waiting === undefined) {
      this.protocolFailure(`Unexpected reply ${response.id}`);
      return;
    }
    this.pending.delete(response.id);
    waiting.resolve(response);
  }

  private protocolFailure(message: string): void {
    this.failAll(new SftpProtocolError(message));
    this.stream.destroy();
  }

  private failAll(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(this.failure);
    this.pending.clear();
  }

  /** Expects STATUS: OK resolves, anything else rejects. */
  private async expectOk(packet: (id: number) => Buffer, sent?: () => void): Promise<void> {
    const response = await this.send(packet, sent);
    if (response.type !== SSH_FXP.STATUS) throw this.unexpected(response, 'SSH2_FXP_STATUS', SSH_FXP.STATUS);
    if (response.code !== SSH_FX.OK) throw replyError(response);
  }

  private unexpected(response: SftpResponse, name: string, type: number): SftpProtocolError {
    const error = new SftpProtocolError(`Expected ${name}(${type}) packet, got ${response.type}`);
    this.protocolFailure(error.message);
    return error;
  }

  private async expect<T extends SftpResponse['type']>(packet: (id: number) => Buffer, type: T, name: string): Promise<Extract<SftpResponse, { type: T }>> {
    const response = await this.send(packet);
    if (response.type === type) return response as Extract<SftpResponse, { type: T }>;
    if (response.type === SSH_FXP.STATUS) throw replyError(response);
    throw this.unexpected(response, name, type);
  }

  private extended(request: SftpExtendedRequest): (id: number) => Buffer {
    return (id) => encodeExtendedRequest(id, request);
  }

  private requireExtension(name: string, version: string): void {
    if (!this.supports(name, version)) throw new SftpStatusError(SSH_FX.OP_UNSUPPORTED, `Server does not support ${name} extension`);
  }

  async limits(): Promise<SftpLimits> {
    this.requireExtension(SFTP_EXTENSION.LIMITS, '1');
    const reply = await this.expect(this.extended({ name: SFTP_EXTENSION.LIMITS }), SSH_FXP.EXTENDED_REPLY, 'SSH2_FXP_EXTENDED_REPLY');
    return decodeLimitsReply(reply.data);
  }

  async realpath(path: string): Promise<string> {
    const reply = await this.expect((id) => encodeRequest({ type: SSH_FXP.REALPATH, id, path }), SSH_FXP.NAME, 'SSH2_FXP_NAME');
    if (reply.entries.length !== 1) throw new SftpProtocolError(`Got multiple names (${reply.entries.length}) from SSH_FXP_REALPATH`);
    return reply.entries[0]!.filename;
  }

  async stat(path: string): Promise<SftpAttributes> {
    return (await this.expect((id) => encodeRequest({ type: SSH_FXP.STAT, id, path }), SSH_FXP.ATTRS, 'SSH2_FXP_ATTRS')).attrs;
  }

  async lstat(path: string): Promise<SftpAttributes> {
    return (await this.expect((id) => encodeRequest({ type: SSH_FXP.LSTAT, id, path }), SSH_FXP.ATTRS, 'SSH2_FXP_ATTRS')).attrs;
  }

  async fstat(handle: Buffer): Promise<SftpAttributes> {
    return (await this.expect((id) => encodeRequest({ type: SSH_FXP.FSTAT, id, handle }), SSH_FXP.ATTRS, 'SSH2_FXP_ATTRS')).attrs;
  }

  setstat(path: string, attrs: SftpAttributes): Promise<void> {
    return this.expectOk((id) => encodeRequest({ type: SSH_FXP.SETSTAT, id, path, attrs }));
  }

  fsetstat(handle: Buffer, attrs: SftpAttributes): Promise<void> {
    return this.expectOk((id) => encodeRequest({ type: SSH_FXP.FSETSTAT, id, handle, attrs }));
  }

  /** setstat without following a final symbolic link (lsetstat@openssh.com, PROTOCOL §4.7). */
  async lsetstat(path: string, attrs: SftpAttributes): Promise<void> {
    this.requireExtension(SFTP_EXTENSION.LSETSTAT, '1');
    return this.expectOk(this.extended({ name: SFTP_EXTENSION.LSETSTAT, path, attrs }));
  }

  /** SSH_FXP_OPEN with SSH_FXF_* flags; resolves with the handle. */
  async open(path: string, pflags: number, attrs: SftpAttributes = {}): Promise<Buffer> {
    return (await this.expect((id) => encodeRequest({ type: SSH_FXP.OPEN, id, path, pflags, attrs }), SSH_FXP.HANDLE, 'SSH2_FXP_HANDLE')).handle;
  }

  close(handle: Buffer): Promise<void> {
    return this.expectOk((id) => encodeRequest({ type: SSH_FXP.CLOSE, id, handle }));
  }

  /** Up to `length` bytes at `offset`; undefined at end of file. Fewer bytes than asked is not an error. */
  async read(handle: Buffer, offset: number, length: number): Promise<Buffer | undefined> {
    const response = await this.send((id) => encodeRead(id, handle, offset, length));
    if (response.type === SSH_FXP.DATA) {
      if (response.data.length > length) {
        this.protocolFailure(`Received more data than asked for ${response.data.length} > ${length}`);
        throw this.failure!;
      }
      return response.data;
    }
    if (response.type !== SSH_FXP.STATUS) throw this.unexpected(response, 'SSH2_FXP_DATA', SSH_FXP.DATA);
    if (response.code === SSH_FX.EOF) return undefined;
    throw replyError(response);
  }

  write(handle: Buffer, offset: number, data: Buffer): Promise<void> {
    return this.expectOk((id) => encodeWrite(id, handle, offset, data));
  }

  /**
   * A buffer to build a WRITE of up to `length` bytes in, for writePacket(): the data goes at
   * writeDataOffset(handle). Pooled: a bulk upload reads its file straight into packets that are reused.
   */
  writeBuffer(handle: Buffer, length: number): Buffer {
    return this.pool.take(writeDataOffset(handle) + length);
  }

  /**
   * WRITE of the `length` bytes already at writeDataOffset(handle) in `packet` (from writeBuffer()): no copy
   * of them. The packet must not be touched afterwards; it goes back to the pool once sent.
   */
  writePacket(handle: Buffer, offset: number, packet: Buffer, length: number): Promise<void> {
    const reuse = this.reuseWritten ? () => this.pool.release(packet) : undefined;
    return this.expectOk((id) => finishWritePacket(packet, id, handle, offset, length), reuse);
  }

  /** Hands back data from read() that the caller holds no view of any more: its buffer is reused. */
  recycle(data: Buffer): void {
    this.pool.release(data);
  }

  /** A transfer has ended: the buffers it kept in flight are not kept for the next one. */
  transferDone(): void {
    this.pool.trim(POOLED_IDLE);
  }

  async opendir(path: string): Promise<Buffer> {
    return (await this.expect((id) => encodeRequest({ type: SSH_FXP.OPENDIR, id, path }), SSH_FXP.HANDLE, 'SSH2_FXP_HANDLE')).handle;
  }

  /** One batch of entries from an open directory; undefined once it is exhausted. */
  async readdirBatch(handle: Buffer): Promise<SftpNameEntry[] | undefined> {
    const response = await this.send((id) => encodeRequest({ type: SSH_FXP.READDIR, id, handle }));
    if (response.type === SSH_FXP.NAME) return response.entries;
    if (response.type !== SSH_FXP.STATUS) throw this.unexpected(response, 'SSH2_FXP_NAME', SSH_FXP.NAME);
    if (response.code === SSH_FX.EOF) return undefined;
    throw replyError(response);
  }

  /** Every entry of a directory (including "." and "..", as the server lists them). */
  async readdir(path: string): Promise<SftpNameEntry[]> {
    const handle = await this.opendir(path);
    const entries: SftpNameEntry[] = [];
    try {
      for (;;) {
        const batch = await this.readdirBatch(handle);
        if (batch === undefined) break;
        // sftp-client.c refuses names with a '/' in them: a server could otherwise aim us elsewhere.
        for (const entry of batch) if (!entry.filename.includes('/')) entries.push(entry);
        if (entries.length > MAX_DIRECTORY_ENTRIES) throw new SftpStatusError(SSH_FX.FAILURE, `Directory has more than ${MAX_DIRECTORY_ENTRIES} entries`);
      }
    } finally {
      await this.close(handle).catch(() => {});
    }
    return entries;
  }

  mkdir(path: string, attrs: SftpAttributes = {}): Promise<void> {
    return this.expectOk((id) => encodeRequest({ type: SSH_FXP.MKDIR, id, path, attrs }));
  }

  rmdir(path: string): Promise<void> {
    return this.expectOk((id) => encodeRequest({ type: SSH_FXP.RMDIR, id, path }));
  }

  remove(path: string): Promise<void> {
    return this.expectOk((id) => encodeRequest({ type: SSH_FXP.REMOVE, id, path }));
  }

  /** posix-rename@openssh.com when offered (it replaces an existing target), else SSH_FXP_RENAME; `legacy` forces the latter. */
  rename(oldPath: string, newPath: string, options: { legacy?: boolean } = {}): Promise<void> {
    if (!options.legacy && this.supports(SFTP_EXTENSION.POSIX_RENAME, '1')) {
      return this.expectOk(this.extended({ name: SFTP_EXTENSION.POSIX_RENAME, oldPath, newPath }));
    }
    return this.expectOk((id) => encodeRequest({ type: SSH_FXP.RENAME, id, oldPath, newPath }));
  }

  /** A symbolic link at `linkPath` pointing to `targetPath` (sent in OpenSSH's order, PROTOCOL §4.1). */
  symlink(targetPath: string, linkPath: string): Promise<void> {
    if (this.version < 3) return Promise.reject(new SftpStatusError(SSH_FX.OP_UNSUPPORTED, 'This server does not support the symlink operation'));
    return this.expectOk((id) => encodeRequest({ type: SSH_FXP.SYMLINK, id, targetPath, linkPath }));
  }

  /** hardlink@openssh.com (PROTOCOL §4.5). */
  async hardlink(oldPath: string, newPath: string): Promise<void> {
    this.requireExtension(SFTP_EXTENSION.HARDLINK, '1');
    return this.expectOk(this.extended({ name: SFTP_EXTENSION.HARDLINK, oldPath, newPath }));
  }

  async readlink(path: string): Promise<string> {
    const reply = await this.expect((id) => encodeRequest({ type: SSH_FXP.READLINK, id, path }), SSH_FXP.NAME, 'SSH2_FXP_NAME');
    if (reply.entries.length !== 1) throw new SftpProtocolError(`Got multiple names (${reply.entries.length}) from SSH_FXP_READLINK`);
    return reply.entries[0]!.filename;
  }

  /** statvfs@openssh.com (PROTOCOL §4.4). */
  async statvfs(path: string): Promise<SftpStatvfs> {
    this.requireExtension(SFTP_EXTENSION.STATVFS, '2');
    const reply = await this.expect(this.extended({ name: SFTP_EXTENSION.STATVFS, path }), SSH_FXP.EXTENDED_REPLY, 'SSH2_FXP_EXTENDED_REPLY');
    return decodeStatvfsReply(reply.data);
  }

  /** copy-data (draft-ietf-secsh-filexfer-extensions-00 §7): the server copies between two open handles; length 0 copies to EOF. */
  async copyData(from: Buffer, to: Buffer, options: { readOffset?: number; length?: number; writeOffset?: number } = {}): Promise<void> {
    this.requireExtension(SFTP_EXTENSION.COPY_DATA, '1');
    return this.expectOk(this.extended({
      name: SFTP_EXTENSION.COPY_DATA, readHandle: from, readOffset: options.readOffset ?? 0, length: options.length ?? 0, writeHandle: to, writeOffset: options.writeOffset ?? 0,
    }));
  }

  /** users-groups-by-id@openssh.com (PROTOCOL §4.12): names for ids, "" for those the server does not know. */
  async usersGroupsById(uids: number[], gids: number[]): Promise<SftpUsersGroups> {
    this.requireExtension(SFTP_EXTENSION.USERS_GROUPS_BY_ID, '1');
    const reply = await this.expect(this.extended({ name: SFTP_EXTENSION.USERS_GROUPS_BY_ID, uids, gids }), SSH_FXP.EXTENDED_REPLY, 'SSH2_FXP_EXTENDED_REPLY');
    const names = decodeUsersGroupsReply(reply.data);
    if (names.users.length !== uids.length || names.groups.length !== gids.length) throw new SftpProtocolError('users-groups-by-id reply does not match the request');
    return names;
  }

  /** fsync@openssh.com (PROTOCOL §4.6). */
  async fsync(handle: Buffer): Promise<void> {
    this.requireExtension(SFTP_EXTENSION.FSYNC, '1');
    return this.expectOk(this.extended({ name: SFTP_EXTENSION.FSYNC, handle }));
  }
}
