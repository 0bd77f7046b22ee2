/**
 * The SFTP client library against an in-memory responder that does what real servers may but OpenSSH's
 * sftp-server does not: short reads, replies out of order, a failure part way through a file, and a reply
 * to a request never made. Transfers must still be byte-exact, resumable, and fail with the right status.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeExtendedRequest, decodeInit, decodeRequest, encodeAttrs, encodeData, encodeHandle, encodeStatus, encodeVersion, SftpPacketParser, SSH_FX, SSH_FXP,
} from '../../../src/sftp/protocol.ts';
import { fastGet, fastPut, SftpClient, SftpProtocolError, SftpStatusError, TransferError, createReadStream } from '../../../src/sftp/client/index.ts';
import { tempDir } from '../../helpers/openssh.ts';

interface FakeOptions {
  /** Most bytes one READ reply carries. */
  shortRead?: number;
  /** READ replies for offsets at or beyond this fail with SSH_FX_FAILURE. */
  failReadsFrom?: number;
  /** The first reply goes to an id nobody used. */
  bogusReply?: boolean;
}

/** A one-file server: "/file" holds `content`; writes go to `written`. Replies are shuffled a little. */
function fakeServer(content: Buffer, options: FakeOptions = {}) {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const parser = new SftpPacketParser();
  const state = { written: Buffer.alloc(0), outstandingPeak: 0 };
  // Replies are held and sent every 2 ms, newest first: they overtake each other, and the number held
  // shows how many requests the client keeps in flight.
  let held: Buffer[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const reply = (packet: Buffer) => {
    held.push(packet);
    state.outstandingPeak = Math.max(state.outstandingPeak, held.length);
    timer ??= setTimeout(() => {
      timer = undefined;
      const batch = held.reverse();
      held = [];
      for (const one of batch) toClient.write(one);
    }, 2);
  };
  toServer.on('data', (chunk: Buffer) => {
    for (const payload of parser.push(chunk)) {
      if (payload[0] === SSH_FXP.INIT) {
        decodeInit(payload);
        toClient.write(encodeVersion(3, [{ name: 'posix-rename@openssh.com', data: '1' }]));
        continue;
      }
      const request = decodeRequest(payload);
      if (options.bogusReply) {
        options.bogusReply = false;
        toClient.write(encodeStatus(request.id + 1000, SSH_FX.OK));
        continue;
      }
      switch (request.type) {
        case SSH_FXP.STAT: case SSH_FXP.LSTAT:
          if (request.path === '/file') reply(encodeAttrs(request.id, { size: content.length, permissions: 0o100644, mtime: 1, atime: 1 }));
          else if (request.path === '/upload') reply(encodeAttrs(request.id, { size: state.written.length, permissions: 0o100644 }));
          else reply(encodeStatus(request.id, SSH_FX.NO_SUCH_FILE));
          break;
        case SSH_FXP.OPEN:
          reply(encodeHandle(request.id, Buffer.from(request.path)));
          break;
        case SSH_FXP.READ: {
          if (options.failReadsFrom !== undefined && request.offset >= options.failReadsFrom) {
            reply(encodeStatus(request.id, SSH_FX.FAILURE));
          } else if (request.offset >= content.length) {
            reply(encodeStatus(request.id, SSH_FX.EOF));
          } else {
            const length = Math.min(request.length, options.shortRead ?? Infinity);
            reply(encodeData(request.id, content.subarray(request.offset, request.offset + length)));
          }
          break;
        }
        case SSH_FXP.WRITE: {
          const end = request.offset + request.data.length;
          if (state.written.length < end) state.written = Buffer.concat([state.written, Buffer.alloc(end - state.written.length)]);
          request.data.copy(state.written, request.offset);
          reply(encodeStatus(request.id, SSH_FX.OK));
          break;
        }
        case SSH_FXP.EXTENDED:
          decodeExtendedRequest(request.name, request.data);
          reply(encodeStatus(request.id, SSH_FX.OK));
          break;
        default:
          reply(encodeStatus(request.id, SSH_FX.OK));
      }
    }
  });
  const stream = Duplex.from({ readable: toClient, writable: toServer });
  return { stream, state };
}

describe('SftpClient against a fake responder', () => {
  const content = randomBytes(300_000);

  test('fastGet with short, reordered replies is byte-exact and keeps many reads in flight', async () => {
    const { stream, state } = fakeServer(content, { shortRead: 7000 });
    const client = await SftpClient.open(stream, { requestSize: 32768, maxRequests: 16 });
    const local = join(tempDir('tether-sftp-unit-'), 'out');
    await fastGet(client, '/file', local);
    assert.ok(readFileSync(local).equals(content));
    assert.ok(state.outstandingPeak > 4, `peak ${state.outstandingPeak}`);
  });

  test('a failure part way is reported and the file is cut to its whole prefix; reget then completes it', async () => {
    const dir = tempDir('tether-sftp-unit-');
    const local = join(dir, 'out');
    const failing = await SftpClient.open(fakeServer(content, { failReadsFrom: 100_000 }).stream, { requestSize: 10_000, maxRequests: 8 });
    await assert.rejects(fastGet(failing, '/file', local), (error: Error) => error instanceof TransferError && error.message === 'read remote "/file" : Failure');
    const partial = readFileSync(local);
    assert.ok(partial.length <= 100_000);
    assert.ok(partial.equals(content.subarray(0, partial.length)));
    const client = await SftpClient.open(fakeServer(content).stream);
    await fastGet(client, '/file', local, { resume: true });
    assert.ok(readFileSync(local).equals(content));
  });

  test('fastPut and reput', async () => {
    const dir = tempDir('tether-sftp-unit-');
    const local = join(dir, 'in');
    writeFileSync(local, content);
    const { stream, state } = fakeServer(content);
    const client = await SftpClient.open(stream, { requestSize: 20_000, maxRequests: 8 });
    state.written = Buffer.from(content.subarray(0, 123_456));
    await fastPut(client, local, '/upload', { resume: true });
    assert.ok(state.written.equals(content));
    await assert.rejects(fastPut(client, local, '/upload', { resume: true }), /destination file same size or larger/);
  });

  test('status errors carry the SFTP status; a reply to no request is a protocol error', async () => {
    const client = await SftpClient.open(fakeServer(content).stream);
    await assert.rejects(client.stat('/missing'), (error: Error) => error instanceof SftpStatusError && error.code === SSH_FX.NO_SUCH_FILE && error.message === 'No such file or directory');
    const chunks: Buffer[] = [];
    for await (const chunk of createReadStream(client, '/file', { start: 1000 })) chunks.push(chunk as Buffer);
    assert.ok(Buffer.concat(chunks).equals(content.subarray(1000)));
    const bogus = await SftpClient.open(fakeServer(content, { bogusReply: true }).stream);
    await assert.rejects(bogus.stat('/file'), (error: Error) => error instanceof SftpProtocolError && /Unexpected reply/.test(error.message));
  });
});
