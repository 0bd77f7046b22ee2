/**
 * Fuzz targets for SFTP (issue 20):
 *   - sftp-packets: the v3 decoders both roles use (requests, extended requests, responses, extended
 *     replies, VERSION, the packet splitter), which may refuse input only with DecodeError;
 *   - sftp-server: a whole server session over in-memory streams, fed INIT and then a mutated byte stream
 *     of requests on a scratch directory. Oracle: nothing is thrown or rejected unhandled, every reply is a
 *     well-formed packet, and the session ends within a bound once its input does.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  decodeExtendedRequest, decodeLimitsReply, decodeRequest, decodeResponse, decodeStatvfsReply, decodeUsersGroupsReply, decodeVersion,
  encodeAttrs, encodeData, encodeExtendedRequest, encodeHandle, encodeInit, encodeLimitsReply, encodeName, encodeRequest, encodeStatus,
  encodeVersion, SFTP_EXTENSION, SftpPacketParser, SSH_FXF, SSH_FXP,
} from '../../../src/sftp/protocol.ts';
import { createSftpLog } from '../../../src/sftp/server/log.ts';
import { SftpServerSession } from '../../../src/sftp/server/session.ts';
import { DecodeError } from '../../../src/wire/index.ts';
import { mutatedInput } from '../mutate.ts';
import { expectTyped, FuzzFinding, loadCorpus, type FuzzTarget } from '../target.ts';

export const sftpPackets: FuzzTarget = {
  name: 'sftp-packets',
  input: mutatedInput(loadCorpus('sftp-packets'), { maxRandom: 1024 }),
  run(input) {
    // The corpus holds whole packets; the decoders take payloads.
    const payload = input.subarray(4);
    const request = expectTyped('decodeRequest', [DecodeError], () => decodeRequest(payload));
    if (request?.type === SSH_FXP.EXTENDED) expectTyped('decodeExtendedRequest', [DecodeError], () => decodeExtendedRequest(request.name, request.data));
    const response = expectTyped('decodeResponse', [DecodeError], () => decodeResponse(payload));
    if (response?.type === SSH_FXP.EXTENDED_REPLY) {
      for (const decode of [decodeLimitsReply, decodeStatvfsReply, decodeUsersGroupsReply]) expectTyped(decode.name, [DecodeError], () => decode(response.data));
    }
    expectTyped('decodeVersion', [DecodeError], () => decodeVersion(payload));
    expectTyped('SftpPacketParser', [DecodeError], () => new SftpPacketParser().push(input));
  },
};

let scratch: string | undefined;

function scratchDirectory(): string {
  if (!scratch) {
    scratch = mkdtempSync(join(tmpdir(), 'tether-fuzz-sftp-'));
    writeFileSync(join(scratch, 'file.txt'), 'fuzz me\n');
  }
  return scratch;
}

export const sftpServer: FuzzTarget = {
  name: 'sftp-server',
  input: mutatedInput(loadCorpus('sftp-server'), { maxRandom: 2048 }),
  async run(input) {
    const cwd = scratchDirectory();
    const stream = new PassThrough();
    const output = new PassThrough();
    const parser = new SftpPacketParser(1024 * 1024);
    output.on('data', (chunk: Buffer) => {
      for (const packet of parser.push(chunk)) if (packet[0] !== SSH_FXP.VERSION) decodeResponse(packet);
    });
    const session = new SftpServerSession({
      input: stream, output, log: createSftpLog('QUIET', () => {}), root: cwd, cwd: '/',
      account: { name: 'fuzz', uid: process.getuid?.() ?? 0, home: '/' }, clientAddress: 'UNKNOWN', readOnly: false, maxOpenHandles: 16,
    });
    const done = session.start();
    stream.write(encodeInit());
    stream.end(input);
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([done.then(() => 'ended'), new Promise((resolve) => (timer = setTimeout(() => resolve('hung'), 5000)))]);
    clearTimeout(timer);
    if (outcome !== 'ended') throw new FuzzFinding('the SFTP session did not end within 5 s of its input');
  },
  teardown() {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    scratch = undefined;
  },
};

export const SFTP_TARGETS = [sftpPackets, sftpServer] as const;

/** The seed corpus of both targets (test/fuzz/make-corpus.ts writes it): every v3 request and reply once. */
export function sftpSeeds(): Record<string, Record<string, Buffer>> {
  const handle = Buffer.from([0, 0, 0, 0]);
  const requests: Record<string, Buffer> = {
    '01-open.bin': encodeRequest({ type: SSH_FXP.OPEN, id: 1, path: 'file.txt', pflags: SSH_FXF.READ, attrs: {} }),
    '02-open-create.bin': encodeRequest({ type: SSH_FXP.OPEN, id: 2, path: 'new.txt', pflags: SSH_FXF.WRITE | SSH_FXF.CREAT | SSH_FXF.TRUNC, attrs: { permissions: 0o644 } }),
    '03-read.bin': encodeRequest({ type: SSH_FXP.READ, id: 3, handle, offset: 0, length: 32768 }),
    '04-write.bin': encodeRequest({ type: SSH_FXP.WRITE, id: 4, handle: Buffer.from([0, 0, 0, 1]), offset: 0, data: Buffer.from('data') }),
    '05-close.bin': encodeRequest({ type: SSH_FXP.CLOSE, id: 5, handle }),
    '06-stat.bin': encodeRequest({ type: SSH_FXP.STAT, id: 6, path: '.' }),
    '07-lstat.bin': encodeRequest({ type: SSH_FXP.LSTAT, id: 7, path: 'file.txt' }),
    '08-fstat.bin': encodeRequest({ type: SSH_FXP.FSTAT, id: 8, handle }),
    '09-setstat.bin': encodeRequest({ type: SSH_FXP.SETSTAT, id: 9, path: 'file.txt', attrs: { permissions: 0o600, atime: 1, mtime: 2 } }),
    '10-fsetstat.bin': encodeRequest({ type: SSH_FXP.FSETSTAT, id: 10, handle, attrs: { size: 3 } }),
    '11-opendir.bin': encodeRequest({ type: SSH_FXP.OPENDIR, id: 11, path: '/' }),
    '12-readdir.bin': encodeRequest({ type: SSH_FXP.READDIR, id: 12, handle }),
    '13-remove.bin': encodeRequest({ type: SSH_FXP.REMOVE, id: 13, path: 'new.txt' }),
    '14-mkdir.bin': encodeRequest({ type: SSH_FXP.MKDIR, id: 14, path: 'dir', attrs: {} }),
    '15-rmdir.bin': encodeRequest({ type: SSH_FXP.RMDIR, id: 15, path: 'dir' }),
    '16-realpath.bin': encodeRequest({ type: SSH_FXP.REALPATH, id: 16, path: '../..' }),
    '17-rename.bin': encodeRequest({ type: SSH_FXP.RENAME, id: 17, oldPath: 'new.txt', newPath: 'old.txt' }),
    '18-readlink.bin': encodeRequest({ type: SSH_FXP.READLINK, id: 18, path: 'link' }),
    '19-symlink.bin': encodeRequest({ type: SSH_FXP.SYMLINK, id: 19, targetPath: '/etc/passwd', linkPath: 'link' }),
    '20-limits.bin': encodeExtendedRequest(20, { name: SFTP_EXTENSION.LIMITS }),
    '21-copy-data.bin': encodeExtendedRequest(21, { name: SFTP_EXTENSION.COPY_DATA, readHandle: handle, readOffset: 0, length: 0, writeHandle: Buffer.from([0, 0, 0, 1]), writeOffset: 0 }),
    '22-users-groups.bin': encodeExtendedRequest(22, { name: SFTP_EXTENSION.USERS_GROUPS_BY_ID, uids: [0], gids: [0] }),
    '23-expand.bin': encodeExtendedRequest(23, { name: SFTP_EXTENSION.EXPAND_PATH, path: '~/x' }),
    '24-lsetstat.bin': encodeExtendedRequest(24, { name: SFTP_EXTENSION.LSETSTAT, path: 'link', attrs: { mtime: 1, atime: 1 } }),
  };
  const replies: Record<string, Buffer> = {
    'r1-version.bin': encodeVersion(),
    'r2-status.bin': encodeStatus(1, 2),
    'r3-handle.bin': encodeHandle(2, handle),
    'r4-data.bin': encodeData(3, Buffer.from('some data')),
    'r5-name.bin': encodeName(4, [{ filename: 'a', longname: '-rw-r--r--    1 root     root            0 Jan  1  1970 a', attrs: { size: 0, uid: 0, gid: 0 } }]),
    'r6-attrs.bin': encodeAttrs(5, { size: 1, permissions: 0o100644, extended: [{ type: 'x@y', data: Buffer.from('z') }] }),
    'r7-limits.bin': encodeLimitsReply(6, { maxPacketLength: 262144, maxReadLength: 261120, maxWriteLength: 261120, maxOpenHandles: 512 }),
  };
  // A session: open a file, read it twice, list the directory, close everything.
  const conversation = Buffer.concat([requests['01-open.bin']!, requests['03-read.bin']!, requests['11-opendir.bin']!, encodeRequest({ type: SSH_FXP.READDIR, id: 30, handle: Buffer.from([0, 0, 0, 1]) }), requests['05-close.bin']!]);
  return {
    'sftp-packets': { ...requests, ...replies },
    'sftp-server': { 'session.bin': conversation, 'writes.bin': Buffer.concat([requests['02-open-create.bin']!, requests['04-write.bin']!, requests['10-fsetstat.bin']!, requests['21-copy-data.bin']!]), 'paths.bin': Buffer.concat(Object.values(requests).slice(12, 24)) },
  };
}
