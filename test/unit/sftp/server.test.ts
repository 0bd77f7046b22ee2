/**
 * The SFTP server session (src/sftp/server) fed hostile input over in-memory streams: unknown and stale
 * handles, truncated and unknown requests, lengths beyond the limits, requests before INIT, oversized
 * packets, too many open handles, NUL bytes in paths, and a storm of random packets. Each gets the status
 * OpenSSH's sftp-server gives (or the session ends cleanly), and the process never throws. Replies leave in
 * request order even when later reads finish first. Confinement under a root is checked on a real tree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeResponse, decodeVersion, encodeExtendedRequest, encodeInit, encodeRequest, SFTP_EXTENSION, SFTP_MAX_READ_LENGTH, SftpPacketParser,
  SSH_FX, SSH_FXF, SSH_FXP, type SftpResponse,
} from '../../../src/sftp/protocol.ts';
import { createSftpLog } from '../../../src/sftp/server/log.ts';
import { SftpPaths } from '../../../src/sftp/server/paths.ts';
import { SftpServerSession } from '../../../src/sftp/server/session.ts';
import { checkChrootDirectory, ChrootDirectoryError, expandChrootDirectory } from '../../../src/sftp/server/internal-sftp.ts';

const dir = mkdtempSync(join(tmpdir(), 'tether-sftp-unit-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'file.txt'), 'contents of the file\n');

interface Harness {
  input: PassThrough;
  session: SftpServerSession;
  done: Promise<void>;
  logLines: string[];
  /** The next reply (after VERSION), decoded. */
  next(): Promise<SftpResponse>;
  send(packet: Buffer): void;
}

async function harness(options: { root?: string | null; maxOpenHandles?: number; readOnly?: boolean } = {}): Promise<Harness> {
  const input = new PassThrough();
  const output = new PassThrough();
  const logLines: string[] = [];
  const log = createSftpLog('DEBUG3', (line) => logLines.push(line));
  const session = new SftpServerSession({
    input, output, log, root: options.root ?? null, cwd: options.root ? '/' : dir, account: { name: 'tester', uid: 0, home: dir },
    clientAddress: '127.0.0.1', readOnly: options.readOnly ?? false, maxOpenHandles: options.maxOpenHandles,
  });
  const done = session.start();
  const parser = new SftpPacketParser();
  const packets: Buffer[] = [];
  const waiters: ((packet: Buffer) => void)[] = [];
  output.on('data', (chunk: Buffer) => {
    for (const packet of parser.push(chunk)) {
      const waiter = waiters.shift();
      if (waiter) waiter(packet);
      else packets.push(packet);
    }
  });
  const nextPacket = () => {
    const ready = packets.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no reply within 5 s')), 5000);
      waiters.push((packet) => {
        clearTimeout(timer);
        resolve(packet);
      });
    });
  };
  input.write(encodeInit());
  const hello = decodeVersion(await nextPacket());
  assert.equal(hello.version, 3);
  return { input, session, done, logLines, send: (packet) => input.write(packet), next: async () => decodeResponse(await nextPacket()) };
}

function statusOf(response: SftpResponse): number {
  assert.equal(response.type, SSH_FXP.STATUS, `expected a status, got type ${response.type}`);
  return (response as { code: number }).code;
}

async function openHandle(h: Harness, path: string, pflags: number = SSH_FXF.READ): Promise<Buffer> {
  h.send(encodeRequest({ type: SSH_FXP.OPEN, id: 900, path, pflags, attrs: {} }));
  const reply = await h.next();
  assert.equal(reply.type, SSH_FXP.HANDLE, JSON.stringify(reply));
  return (reply as { handle: Buffer }).handle;
}

test('unknown, stale and malformed handles get FAILURE / NO_SUCH_FILE, never a crash', async () => {
  const h = await harness();
  const bogus = Buffer.from('not-a-handle-at-all');
  h.send(encodeRequest({ type: SSH_FXP.READ, id: 1, handle: bogus, offset: 0, length: 10 }));
  assert.equal(statusOf(await h.next()), SSH_FX.FAILURE);
  h.send(encodeRequest({ type: SSH_FXP.CLOSE, id: 2, handle: Buffer.from([0, 0, 0, 99]) }));
  assert.equal(statusOf(await h.next()), SSH_FX.NO_SUCH_FILE);
  const handle = await openHandle(h, join(dir, 'file.txt'));
  h.send(encodeRequest({ type: SSH_FXP.CLOSE, id: 3, handle }));
  assert.equal(statusOf(await h.next()), SSH_FX.OK);
  h.send(encodeRequest({ type: SSH_FXP.WRITE, id: 4, handle, offset: 0, data: Buffer.from('x') }));
  assert.equal(statusOf(await h.next()), SSH_FX.FAILURE);
  h.send(encodeRequest({ type: SSH_FXP.READDIR, id: 5, handle }));
  assert.equal(statusOf(await h.next()), SSH_FX.FAILURE);
  h.send(encodeExtendedRequest(6, { name: SFTP_EXTENSION.FSYNC, handle }));
  assert.equal(statusOf(await h.next()), SSH_FX.NO_SUCH_FILE);
  h.input.end();
  await h.done;
  assert.equal(h.session.exitCode, 0);
});

test('truncated requests get BAD_MESSAGE, unknown types and extensions OP_UNSUPPORTED, NUL paths BAD_MESSAGE', async () => {
  const h = await harness();
  const truncated = Buffer.from([0, 0, 0, 9, SSH_FXP.OPEN, 0, 0, 0, 7, 0, 0, 0, 40]);
  h.send(truncated);
  const bad = await h.next();
  assert.equal(bad.id, 7);
  assert.equal(statusOf(bad), SSH_FX.BAD_MESSAGE);
  h.send(Buffer.from([0, 0, 0, 5, 77, 0, 0, 0, 8]));
  const unknown = await h.next();
  assert.equal(unknown.id, 8);
  assert.equal(statusOf(unknown), SSH_FX.OP_UNSUPPORTED);
  h.send(encodeRequest({ type: SSH_FXP.EXTENDED, id: 9, name: 'evil@example.com', data: Buffer.alloc(3) }));
  assert.equal(statusOf(await h.next()), SSH_FX.OP_UNSUPPORTED);
  h.send(encodeRequest({ type: SSH_FXP.EXTENDED, id: 10, name: SFTP_EXTENSION.COPY_DATA, data: Buffer.alloc(3) }));
  assert.equal(statusOf(await h.next()), SSH_FX.BAD_MESSAGE);
  h.send(encodeRequest({ type: SSH_FXP.STAT, id: 11, path: 'file\0.txt' }));
  assert.equal(statusOf(await h.next()), SSH_FX.BAD_MESSAGE);
  h.input.end();
  await h.done;
});

test('a READ beyond the read limit is answered with at most the limit; length 0 with empty data', async () => {
  const big = join(dir, 'big.bin');
  writeFileSync(big, Buffer.alloc(SFTP_MAX_READ_LENGTH + 5000, 1));
  const h = await harness();
  const handle = await openHandle(h, big);
  h.send(encodeRequest({ type: SSH_FXP.READ, id: 20, handle, offset: 0, length: 0xffffffff }));
  const data = await h.next();
  assert.equal(data.type, SSH_FXP.DATA);
  assert.equal((data as { data: Buffer }).data.length, SFTP_MAX_READ_LENGTH);
  h.send(encodeRequest({ type: SSH_FXP.READ, id: 21, handle, offset: 0, length: 0 }));
  assert.equal((await h.next() as { data: Buffer }).data.length, 0);
  h.send(encodeRequest({ type: SSH_FXP.READ, id: 22, handle, offset: 2 ** 50, length: 10 }));
  assert.equal(statusOf(await h.next()), SSH_FX.EOF);
  h.input.end();
  await h.done;
});

test('replies leave in request order while reads run concurrently', async () => {
  const h = await harness();
  const handle = await openHandle(h, join(dir, 'big.bin'));
  const ids = Array.from({ length: 40 }, (_, index) => 100 + index);
  // Large and tiny reads mixed: the tiny ones finish first but must not overtake.
  for (const id of ids) h.send(encodeRequest({ type: SSH_FXP.READ, id, handle, offset: (id % 7) * 1000, length: id % 2 ? 200_000 : 10 }));
  const seen: number[] = [];
  for (const _ of ids) seen.push((await h.next()).id);
  assert.deepEqual(seen, ids);
  h.input.end();
  await h.done;
});

test('open handles are bounded: past the limit OPEN fails and the handles already open still work', async () => {
  const h = await harness({ maxOpenHandles: 3 });
  const handles = [await openHandle(h, join(dir, 'file.txt')), await openHandle(h, join(dir, 'file.txt')), await openHandle(h, join(dir, 'file.txt'))];
  h.send(encodeRequest({ type: SSH_FXP.OPEN, id: 30, path: join(dir, 'file.txt'), pflags: SSH_FXF.READ, attrs: {} }));
  assert.equal(statusOf(await h.next()), SSH_FX.FAILURE);
  h.send(encodeRequest({ type: SSH_FXP.OPENDIR, id: 31, path: dir }));
  assert.equal(statusOf(await h.next()), SSH_FX.FAILURE);
  h.send(encodeRequest({ type: SSH_FXP.READ, id: 32, handle: handles[2]!, offset: 0, length: 8 }));
  assert.equal((await h.next() as { data: Buffer }).data.toString(), 'contents');
  h.input.end();
  await h.done;
  assert.ok(h.logLines.some((line) => line.startsWith('forced close ')), 'open handles are closed and logged at the end');
});

test('a packet longer than 256 KiB ends the session (status 11), as sftp-server exits', async () => {
  const h = await harness();
  h.send(Buffer.from([0, 0x10, 0, 0, SSH_FXP.WRITE]));
  await h.done;
  assert.equal(h.session.exitCode, 11);
  assert.ok(h.logLines.some((line) => /bad message from 127\.0\.0\.1 local user tester/.test(line)));
});

test('a request before INIT ends the session', async () => {
  const input = new PassThrough();
  const session = new SftpServerSession({
    input, output: new PassThrough(), log: createSftpLog('QUIET', () => {}), root: null, cwd: dir,
    account: { name: 'tester', uid: 0, home: dir }, clientAddress: 'UNKNOWN', readOnly: false,
  });
  const done = session.start();
  input.write(encodeRequest({ type: SSH_FXP.STAT, id: 1, path: '/' }));
  await done;
  assert.equal(session.exitCode, 255);
});

test('read-only mode: writes are refused and write extensions are not announced', async () => {
  const h = await harness({ readOnly: true });
  h.send(encodeRequest({ type: SSH_FXP.OPEN, id: 40, path: join(dir, 'new.txt'), pflags: SSH_FXF.WRITE | SSH_FXF.CREAT, attrs: {} }));
  assert.equal(statusOf(await h.next()), SSH_FX.PERMISSION_DENIED);
  h.send(encodeRequest({ type: SSH_FXP.REMOVE, id: 41, path: join(dir, 'file.txt') }));
  assert.equal(statusOf(await h.next()), SSH_FX.PERMISSION_DENIED);
  h.send(encodeExtendedRequest(42, { name: SFTP_EXTENSION.HARDLINK, oldPath: join(dir, 'file.txt'), newPath: join(dir, 'hl') }));
  assert.equal(statusOf(await h.next()), SSH_FX.PERMISSION_DENIED);
  h.input.end();
  await h.done;
});

test('random and mutated packets never crash the session', async () => {
  const h = await harness();
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const valid = [
    encodeRequest({ type: SSH_FXP.STAT, id: 1, path: dir }),
    encodeRequest({ type: SSH_FXP.OPENDIR, id: 2, path: dir }),
    encodeRequest({ type: SSH_FXP.READ, id: 3, handle: Buffer.from([0, 0, 0, 0]), offset: 0, length: 100 }),
    encodeExtendedRequest(4, { name: SFTP_EXTENSION.USERS_GROUPS_BY_ID, uids: [0, 1], gids: [0] }),
    encodeExtendedRequest(5, { name: SFTP_EXTENSION.LIMITS }),
  ];
  for (let round = 0; round < 400; round++) {
    const packet = Buffer.from(valid[round % valid.length]!);
    // Mutate the body (never the length field: a broken frame ends the session, tested above).
    for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) packet[4 + Math.floor(random() * (packet.length - 4))] = Math.floor(random() * 256);
    // Keep the type a request type, so that every packet is answered.
    if (packet[4]! < 3 || (packet[4]! > 20 && packet[4] !== 200)) packet[4] = 3 + (packet[4]! % 18);
    h.send(packet);
    await h.next();
  }
  h.input.end();
  await h.done;
  assert.equal(h.session.exitCode, 0);
});

test('under a root, "..", absolute links and relative links resolve inside it', async () => {
  const root = join(dir, 'root');
  mkdirSync(join(root, 'home'), { recursive: true });
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'home', 'mine.txt'), 'mine');
  symlinkSync('/etc', join(root, 'home', 'etc'));
  symlinkSync('../../../..', join(root, 'home', 'up'));
  const paths = new SftpPaths(root, '/home');
  assert.equal(await paths.canonical('../../..'), '/');
  assert.equal(await paths.canonical('/../../etc/passwd'), '/etc/passwd');
  assert.equal(await paths.canonical('etc/passwd'), '/etc/passwd');
  assert.equal(await paths.canonical('up/home/mine.txt'), '/home/mine.txt');
  assert.equal(await paths.canonical('etc', false), '/home/etc');
  await assert.rejects(paths.canonical('/nowhere/at/all'), { code: 'ENOENT' });
  const h = await harness({ root });
  h.send(encodeRequest({ type: SSH_FXP.STAT, id: 50, path: '/home/etc/passwd' }));
  assert.equal(statusOf(await h.next()), SSH_FX.NO_SUCH_FILE);
  h.send(encodeRequest({ type: SSH_FXP.REALPATH, id: 51, path: '/home/up/..' }));
  assert.equal((await h.next() as { entries: { filename: string }[] }).entries[0]!.filename, '/');
  h.send(encodeRequest({ type: SSH_FXP.OPEN, id: 52, path: 'home/up/home/mine.txt', pflags: SSH_FXF.READ, attrs: {} }));
  assert.equal((await h.next()).type, SSH_FXP.HANDLE);
  h.input.end();
  await h.done;
});

test('ChrootDirectory: tokens expand and sshd\'s ownership checks refuse a writable component', () => {
  assert.equal(expandChrootDirectory('/srv/%u/%U/%h/%%', { name: 'ann', uid: 1001, home: '/home/ann' }), '/srv/ann/1001//home/ann/%');
  assert.throws(() => checkChrootDirectory('relative/path'), /chroot path does not begin at root/);
  assert.throws(() => checkChrootDirectory(join(dir, 'root')), (error) => error instanceof ChrootDirectoryError && /bad ownership or modes for chroot directory component "\/tmp\/"/.test(error.message));
  assert.doesNotThrow(() => checkChrootDirectory('/usr/lib'));
  assert.throws(() => checkChrootDirectory('/etc/passwd'), /chroot path "\/etc\/passwd" is not a directory/);
});
