/**
 * What sshd records for a session on a terminal (loginrec.c login_login / login_logout, as the monitor does
 * when it allocates the pty and when the session ends): the previous lastlog entry becomes PrintLastLog's
 * "Last login" line, then lastlog, utmp and wtmp get this login; at the end utmp and wtmp get a
 * DEAD_PROCESS record. Sessions without a terminal are not recorded, as in sshd.
 *
 * struct utmp is glibc's on x86-64 and aarch64 (384 bytes). wtmp records are appended (O_APPEND, one write
 * per record); a utmp login overwrites the slot with the same ut_id (pututline's match for user processes)
 * or is appended. glibc also takes an fcntl lock around both, which Node cannot; single appends stay whole
 * and a terminal's slot is only ever written by its own session. Missing files are never created (glibc's
 * updwtmp and pututline open existing files only).
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { endianness } from 'node:os';
import { lastLoginMessage, readLastLogin, writeLastLogin } from './lastlog.ts';
import type { SystemPaths } from './system-paths.ts';

export const UTMP_RECORD_SIZE = 384;
const USER_PROCESS = 7;
const DEAD_PROCESS = 8;
/** INIT_PROCESS, LOGIN_PROCESS, USER_PROCESS, DEAD_PROCESS: the types pututline matches by ut_id. */
const ID_MATCHED_TYPES = new Set([5, 6, 7, 8]);
/** A utmp file holds one slot per terminal; anything larger than this is not one. */
const MAX_UTMP_BYTES = 4 * 1024 * 1024;
const LE = endianness() === 'LE';

export interface UtmpEntry {
  type: 'login' | 'logout';
  pid: number;
  /** The terminal, with or without /dev/. */
  tty: string;
  user: string;
  host: string;
  /** The peer's address (ut_addr_v6), when it is one. */
  address: string;
  /** Milliseconds since the epoch. */
  time: number;
}

/** loginrec.c line_stripname(): the terminal without /dev/. */
function stripLine(tty: string): string {
  return tty.replace(/^\/dev\//, '');
}

/** loginrec.c line_abbrevname(): the last four characters of the line ("pts/3" → "ts/3"). */
export function utmpId(tty: string): string {
  const line = stripLine(tty);
  return line.length > 4 ? line.slice(line.length - 4) : line;
}

function putString(record: Buffer, offset: number, size: number, value: string): void {
  Buffer.from(value, 'utf8').copy(record, offset, 0, size);
}

function addressBytes(address: string): Buffer {
  const bytes = Buffer.alloc(16);
  if (isIPv4(address)) {
    Buffer.from(address.split('.').map(Number)).copy(bytes, 0);
  } else if (isIPv6(address) && !address.includes('%')) {
    const [head, tail = ''] = address.split('::');
    const words = (part: string) => (part === '' ? [] : part.split(':'));
    const left = words(head!);
    const right = words(tail);
    const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
    if (groups.length === 8 && groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) groups.forEach((g, i) => bytes.writeUInt16BE(parseInt(g, 16), i * 2));
  }
  return bytes;
}

/** loginrec.c construct_utmp(): logouts carry only the type, pid, line, id and time. */
export function encodeUtmp(entry: UtmpEntry): Buffer {
  const record = Buffer.alloc(UTMP_RECORD_SIZE);
  const int16 = LE ? record.writeInt16LE.bind(record) : record.writeInt16BE.bind(record);
  const int32 = LE ? record.writeInt32LE.bind(record) : record.writeInt32BE.bind(record);
  int16(entry.type === 'login' ? USER_PROCESS : DEAD_PROCESS, 0);
  int32(entry.pid | 0, 4);
  putString(record, 8, 32, stripLine(entry.tty));
  putString(record, 40, 4, utmpId(entry.tty));
  int32(Math.floor(entry.time / 1000) | 0, 340);
  int32((entry.time % 1000) * 1000, 344);
  if (entry.type === 'logout') return record;
  putString(record, 44, 32, entry.user);
  putString(record, 76, 256, entry.host);
  addressBytes(entry.address).copy(record, 348);
  return record;
}

function existingFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** updwtmp(3): one record at the end of wtmp. */
export function appendWtmp(path: string, record: Buffer): boolean {
  if (!existingFile(path)) return false;
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND);
    return writeSync(fd, record) === record.length;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** pututline(3): overwrite the slot with this record's ut_id, or add one at the end. */
export function writeUtmp(path: string, record: Buffer): boolean {
  if (!existingFile(path)) return false;
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDWR);
    const size = Math.min(fstatSync(fd).size, MAX_UTMP_BYTES);
    const slots = Buffer.alloc(size - (size % UTMP_RECORD_SIZE));
    const read = readSync(fd, slots, 0, slots.length, 0);
    const id = record.subarray(40, 44);
    for (let offset = 0; offset + UTMP_RECORD_SIZE <= read; offset += UTMP_RECORD_SIZE) {
      const type = LE ? slots.readInt16LE(offset) : slots.readInt16BE(offset);
      if (ID_MATCHED_TYPES.has(type) && slots.subarray(offset + 40, offset + 44).equals(id)) {
        return writeSync(fd, record, 0, record.length, offset) === record.length;
      }
    }
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return appendWtmp(path, record);
}

export interface LoginDetails {
  uid: number;
  user: string;
  pid: number;
  /** The session's terminal (/dev/pts/N). */
  tty: string;
  /** Where the user came from, as utmp and lastlog record it (the address unless UseDNS resolved a name). */
  host: string;
  address: string;
  /** PrintLastLog. */
  printLastLog: boolean;
}

export interface LoginRecord {
  /** "Last login: …\r\n" for an interactive login to show, or "". */
  lastLogin: string;
  /** Records the end of the session (once). */
  logout(): void;
}

/** sshlogin.c record_login(): read the last login first, then record this one. */
export function recordLogin(paths: SystemPaths, login: LoginDetails, now = Date.now()): LoginRecord {
  const lastLogin = login.printLastLog ? lastLoginMessage(readLastLogin(paths.lastlog, login.uid, login.user)) : '';
  writeLastLogin(paths.lastlog, login.uid, login.user, { time: Math.floor(now / 1000), line: login.tty, host: login.host });
  const entry: UtmpEntry = { type: 'login', pid: login.pid, tty: login.tty, user: login.user, host: login.host, address: login.address, time: now };
  const record = encodeUtmp(entry);
  writeUtmp(paths.utmp, record);
  appendWtmp(paths.wtmp, record);
  let done = false;
  return {
    lastLogin,
    logout() {
      if (done) return;
      done = true;
      const dead = encodeUtmp({ ...entry, type: 'logout', time: Date.now() });
      writeUtmp(paths.utmp, dead);
      appendWtmp(paths.wtmp, dead);
    },
  };
}
