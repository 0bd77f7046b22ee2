/**
 * A file's WRITEs reach it one at a time and in the order they arrived (src/sftp/server/file-requests.ts),
 * however many the client keeps in flight and however the thread pool would finish them: what has been
 * written is always a prefix of what was sent, so a session cut off mid-file leaves no hole for `reput` or
 * `sftp -a` to resume after.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import { SSH_FX } from '../../../src/sftp/protocol.ts';
import type { SftpContext } from '../../../src/sftp/server/context.ts';
import { writeFile } from '../../../src/sftp/server/file-requests.ts';
import type { FileEntry } from '../../../src/sftp/server/handles.ts';
import { createSftpLog } from '../../../src/sftp/server/log.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A file whose writes take a varying time (later ones often shorter), recording when each runs. */
function slowFile() {
  const events: string[] = [];
  let running = 0;
  let overlapped = false;
  const file = {
    async write(data: Buffer, _offset: number, length: number, position: number | null) {
      running++;
      if (running > 1) overlapped = true;
      events.push(`start ${position}`);
      await sleep(position === null ? 1 : 12 - ((position / 100) % 12));
      events.push(`end ${position}`);
      running--;
      return { bytesWritten: length, buffer: data };
    },
  } as unknown as FileHandle;
  return { file, events, overlapped: () => overlapped };
}

function contextFor(entry: FileEntry): { context: SftpContext; released: Buffer[] } {
  const released: Buffer[] = [];
  const context = {
    handles: { file: () => entry },
    buffers: { release: (buffer: Buffer) => released.push(buffer) },
    log: createSftpLog('QUIET', () => {}),
  } as unknown as SftpContext;
  return { context, released };
}

describe('SFTP WRITE order', () => {
  it('runs one write at a time per file, in arrival order, each answered OK and its buffer given back', async () => {
    const { file, events, overlapped } = slowFile();
    const entry: FileEntry = { kind: 'file', name: 'f', file, append: false, bytesRead: 0, bytesWritten: 0 };
    const { context, released } = contextFor(entry);
    const offsets = Array.from({ length: 24 }, (_, i) => i * 100);
    const replies = await Promise.all(offsets.map((offset, id) => writeFile(context, id, Buffer.alloc(4), offset, Buffer.alloc(100))));
    assert.equal(overlapped(), false, 'no two writes to the file at once');
    assert.deepEqual(events, offsets.flatMap((offset) => [`start ${offset}`, `end ${offset}`]));
    for (const reply of replies) assert.equal(reply.readUInt32BE(9), SSH_FX.OK);
    assert.equal(released.length, offsets.length);
    assert.equal(entry.bytesWritten, 2400);
  });

  it('a failed write answers with its error and does not stop the ones after it', async () => {
    let calls = 0;
    const file = {
      async write(data: Buffer, _offset: number, length: number) {
        calls++;
        if (calls === 2) throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
        return { bytesWritten: length, buffer: data };
      },
    } as unknown as FileHandle;
    const entry: FileEntry = { kind: 'file', name: 'f', file, append: false, bytesRead: 0, bytesWritten: 0 };
    const { context } = contextFor(entry);
    const results = await Promise.allSettled([0, 1, 2].map((id) => writeFile(context, id, Buffer.alloc(4), id * 10, Buffer.alloc(10))));
    assert.deepEqual(results.map((result) => result.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal(calls, 3);
  });
});
