/**
 * The SFTP v3 wire format (src/sftp/protocol.ts): every request and response round-trips, the byte layout
 * matches draft-02 and OpenSSH's PROTOCOL §4 (SYMLINK's reversed arguments, the VERSION extension list),
 * and hostile framing (zero or oversized lengths, impossible counts) is a DecodeError, not an allocation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SSH_FXP, SSH_FX, SFTP_EXTENSION, SftpPacketParser, decodeRequest, encodeRequest, decodeResponse, encodeResponse,
  encodeVersion, decodeVersion, encodeInit, decodeInit, decodeExtendedRequest, encodeExtendedRequest, encodeStatus,
  encodeLimitsReply, decodeLimitsReply, encodeStatvfsReply, decodeStatvfsReply, encodeUsersGroupsReply,
  decodeUsersGroupsReply, peekRequestId, UnknownSftpTypeError, type SftpRequest, type SftpResponse, type SftpExtendedRequest,
} from '../../../src/sftp/protocol.ts';
import { DecodeError } from '../../../src/wire/errors.ts';

function payloadOf(packet: Buffer): Buffer {
  assert.equal(packet.readUInt32BE(0), packet.length - 4);
  return packet.subarray(4);
}

test('every v3 request round-trips through encodeRequest and decodeRequest', () => {
  const handle = Buffer.from([0, 0, 0, 7]);
  const attrs = { size: 2 ** 40, uid: 1000, gid: 100, permissions: 0o100644, atime: 1, mtime: 2 };
  const requests: SftpRequest[] = [
    { type: SSH_FXP.OPEN, id: 1, path: '/tmp/a', pflags: 0x1a, attrs },
    { type: SSH_FXP.CLOSE, id: 2, handle },
    { type: SSH_FXP.READ, id: 3, handle, offset: 2 ** 33, length: 32768 },
    { type: SSH_FXP.WRITE, id: 4, handle, offset: 5, data: Buffer.from('hello') },
    { type: SSH_FXP.LSTAT, id: 5, path: 'x' },
    { type: SSH_FXP.FSTAT, id: 6, handle },
    { type: SSH_FXP.SETSTAT, id: 7, path: 'x', attrs: { permissions: 0o600 } },
    { type: SSH_FXP.FSETSTAT, id: 8, handle, attrs: { atime: 10, mtime: 20 } },
    { type: SSH_FXP.OPENDIR, id: 9, path: '.' },
    { type: SSH_FXP.READDIR, id: 10, handle },
    { type: SSH_FXP.REMOVE, id: 11, path: 'gone' },
    { type: SSH_FXP.MKDIR, id: 12, path: 'dir', attrs: {} },
    { type: SSH_FXP.RMDIR, id: 13, path: 'dir' },
    { type: SSH_FXP.REALPATH, id: 14, path: '..' },
    { type: SSH_FXP.STAT, id: 15, path: 'é' },
    { type: SSH_FXP.RENAME, id: 16, oldPath: 'a', newPath: 'b' },
    { type: SSH_FXP.READLINK, id: 17, path: 'l' },
    { type: SSH_FXP.SYMLINK, id: 18, targetPath: 'target', linkPath: 'link' },
    { type: SSH_FXP.EXTENDED, id: 19, name: 'limits@openssh.com', data: Buffer.alloc(0) },
  ];
  for (const request of requests) {
    assert.deepEqual(decodeRequest(payloadOf(encodeRequest(request))), request, `type ${request.type}`);
  }
});

test('SYMLINK carries the target first, as OpenSSH sends it (PROTOCOL §4.1)', () => {
  const packet = encodeRequest({ type: SSH_FXP.SYMLINK, id: 1, targetPath: 'T', linkPath: 'L' });
  assert.deepEqual(packet.subarray(9), Buffer.from([0, 0, 0, 1, 0x54, 0, 0, 0, 1, 0x4c]));
});

test('VERSION announces OpenSSH 9.2 extension list in order and INIT round-trips', () => {
  const hello = decodeVersion(payloadOf(encodeVersion()));
  assert.equal(hello.version, 3);
  assert.deepEqual(hello.extensions.map((extension) => `${extension.name}=${extension.data}`), [
    'posix-rename@openssh.com=1', 'statvfs@openssh.com=2', 'fstatvfs@openssh.com=2', 'hardlink@openssh.com=1',
    'fsync@openssh.com=1', 'lsetstat@openssh.com=1', 'limits@openssh.com=1', 'expand-path@openssh.com=1',
    'copy-data=1', 'home-directory=1', 'users-groups-by-id@openssh.com=1',
  ]);
  assert.deepEqual(decodeInit(payloadOf(encodeInit())), { version: 3, extensions: [] });
  assert.deepEqual(payloadOf(encodeInit()), Buffer.from([1, 0, 0, 0, 3]));
});

test('every extended request round-trips', () => {
  const handle = Buffer.from('h1');
  const extensions: SftpExtendedRequest[] = [
    { name: SFTP_EXTENSION.POSIX_RENAME, oldPath: 'a', newPath: 'b' },
    { name: SFTP_EXTENSION.HARDLINK, oldPath: 'a', newPath: 'b' },
    { name: SFTP_EXTENSION.STATVFS, path: '/' },
    { name: SFTP_EXTENSION.EXPAND_PATH, path: '~/x' },
    { name: SFTP_EXTENSION.FSTATVFS, handle },
    { name: SFTP_EXTENSION.FSYNC, handle },
    { name: SFTP_EXTENSION.LSETSTAT, path: 'l', attrs: { mtime: 5, atime: 4 } },
    { name: SFTP_EXTENSION.LIMITS },
    { name: SFTP_EXTENSION.COPY_DATA, readHandle: handle, readOffset: 1, length: 0, writeHandle: Buffer.from('h2'), writeOffset: 9 },
    { name: SFTP_EXTENSION.HOME_DIRECTORY, username: '' },
    { name: SFTP_EXTENSION.USERS_GROUPS_BY_ID, uids: [0, 1000], gids: [] },
  ];
  for (const extension of extensions) {
    const request = decodeRequest(payloadOf(encodeExtendedRequest(42, extension)));
    assert.equal(request.type, SSH_FXP.EXTENDED);
    assert.equal(request.id, 42);
    if (request.type !== SSH_FXP.EXTENDED) continue;
    assert.equal(request.name, extension.name);
    assert.deepEqual(decodeExtendedRequest(request.name, request.data), extension);
  }
  assert.equal(decodeExtendedRequest('nope@example.com', Buffer.alloc(0)), undefined);
});

test('every response round-trips, and the extended replies decode', () => {
  const responses: SftpResponse[] = [
    { type: SSH_FXP.STATUS, id: 1, code: SSH_FX.EOF, message: 'End of file', language: '' },
    { type: SSH_FXP.HANDLE, id: 2, handle: Buffer.from([1, 2, 3, 4]) },
    { type: SSH_FXP.DATA, id: 3, data: Buffer.alloc(1000, 7) },
    { type: SSH_FXP.NAME, id: 4, entries: [{ filename: 'a', longname: '-rw-r--r--    1 root     root            0 Jan  1  1970 a', attrs: { size: 0 } }] },
    { type: SSH_FXP.ATTRS, id: 5, attrs: { uid: 1, gid: 2, extended: [{ type: 'x@y', data: Buffer.from('z') }] } },
    { type: SSH_FXP.EXTENDED_REPLY, id: 6, data: Buffer.from([9, 9]) },
  ];
  for (const response of responses) assert.deepEqual(decodeResponse(payloadOf(encodeResponse(response))), response);
  const limits = { maxPacketLength: 262144, maxReadLength: 261120, maxWriteLength: 261120, maxOpenHandles: 512 };
  const limitsReply = decodeResponse(payloadOf(encodeLimitsReply(7, limits)));
  assert.ok(limitsReply.type === SSH_FXP.EXTENDED_REPLY);
  assert.deepEqual(decodeLimitsReply(limitsReply.data), limits);
  const statvfs = { bsize: 4096n, frsize: 4096n, blocks: 10n, bfree: 5n, bavail: 4n, files: 100n, ffree: 50n, favail: 50n, fsid: 2n ** 63n, flag: 1n, namemax: 255n };
  const statvfsReply = decodeResponse(payloadOf(encodeStatvfsReply(8, statvfs)));
  assert.ok(statvfsReply.type === SSH_FXP.EXTENDED_REPLY);
  assert.deepEqual(decodeStatvfsReply(statvfsReply.data), statvfs);
  const names = { users: ['root', ''], groups: ['wheel'] };
  const namesReply = decodeResponse(payloadOf(encodeUsersGroupsReply(9, names)));
  assert.ok(namesReply.type === SSH_FXP.EXTENDED_REPLY);
  assert.deepEqual(decodeUsersGroupsReply(namesReply.data), names);
  assert.equal((decodeResponse(payloadOf(encodeStatus(1, SSH_FX.PERMISSION_DENIED))) as { message: string }).message, 'Permission denied');
});

test('the packet parser reassembles split packets and refuses zero and oversized lengths', () => {
  const packets = [encodeStatus(1, 0), encodeRequest({ type: SSH_FXP.STAT, id: 2, path: 'p' })];
  const stream = Buffer.concat(packets);
  const parser = new SftpPacketParser();
  const seen: Buffer[] = [];
  for (let offset = 0; offset < stream.length; offset += 3) seen.push(...parser.push(stream.subarray(offset, offset + 3)));
  assert.deepEqual(seen, packets.map(payloadOf));
  assert.equal(parser.buffered, 0);
  assert.throws(() => new SftpPacketParser().push(Buffer.from([0, 0, 0, 0])), DecodeError);
  assert.throws(() => new SftpPacketParser().push(Buffer.from([0, 4, 0, 1, 0])), DecodeError);
});

test('hostile fields are decode errors: impossible counts, oversized handles, offsets beyond 2^53, unknown types', () => {
  const name = Buffer.from([SSH_FXP.NAME, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]);
  assert.throws(() => decodeResponse(name), DecodeError);
  const attrs = Buffer.from([SSH_FXP.SETSTAT, 0, 0, 0, 1, 0, 0, 0, 0, 0x80, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff]);
  assert.throws(() => decodeRequest(attrs), DecodeError);
  const longHandle = Buffer.concat([Buffer.from([SSH_FXP.CLOSE, 0, 0, 0, 1, 0, 0, 1, 1]), Buffer.alloc(257)]);
  assert.throws(() => decodeRequest(longHandle), DecodeError);
  const read = Buffer.from([SSH_FXP.READ, 0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.throws(() => decodeRequest(read), DecodeError);
  assert.throws(() => decodeRequest(Buffer.from([99, 0, 0, 0, 5])), (error) => error instanceof UnknownSftpTypeError && error.id === 5);
  assert.equal(peekRequestId(Buffer.from([SSH_FXP.OPEN, 0, 0, 1, 0, 9])), 256);
  assert.equal(peekRequestId(Buffer.from([SSH_FXP.INIT, 0, 0, 0, 3])), undefined);
  assert.throws(() => decodeRequest(Buffer.from([SSH_FXP.OPEN, 0, 0])), DecodeError);
});
