/**
 * The lastlog file, as sshd's loginrec.c reads and writes it on Linux: one `struct lastlog` per uid at
 * offset uid × 292 (x86-64 and aarch64 glibc: int32 ll_time, char ll_line[32], char ll_host[256], in the
 * machine's byte order). A missing file is never created, as loginrec.c's lastlog_openseek() only opens a
 * file that stat() finds; a directory holds one record per user name instead. PrintLastLog's
 * "Last login: …" line comes from the record read before this login's is written.
 */
import { closeSync, constants, openSync, readSync, statSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';

export const LASTLOG_RECORD_SIZE = 292;
const LINE_SIZE = 32;
const HOST_SIZE = 256;
/** sshlogin.c copies the host into a HOST_NAME_MAX+1 buffer before printing it. */
const PRINTED_HOST_LIMIT = 64;
const LITTLE_ENDIAN = endianness() === 'LE';

export interface LastLogin {
  /** Seconds since the epoch. */
  time: number;
  /** Terminal without /dev/ ("pts/3"). */
  line: string;
  /** Where the login came from (the address, or the name with UseDNS). */
  host: string;
}

function cString(buffer: Buffer, start: number, size: number): string {
  const field = buffer.subarray(start, start + size);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? size : end).toString('latin1');
}

/** strncpy: the bytes of `value`, cut at `size`, zero-padded (no terminator when it fills the field). */
function putCString(buffer: Buffer, start: number, size: number, value: string): void {
  buffer.fill(0, start, start + size);
  Buffer.from(value, 'utf8').copy(buffer, start, 0, size);
}

export function encodeLastLogin(entry: LastLogin): Buffer {
  const record = Buffer.alloc(LASTLOG_RECORD_SIZE);
  const time = Math.max(0, Math.min(entry.time, 0x7fffffff)) | 0;
  if (LITTLE_ENDIAN) record.writeInt32LE(time, 0);
  else record.writeInt32BE(time, 0);
  putCString(record, 4, LINE_SIZE, entry.line.replace(/^\/dev\//, ''));
  putCString(record, 4 + LINE_SIZE, HOST_SIZE, entry.host);
  return record;
}

export function decodeLastLogin(record: Buffer): LastLogin {
  return {
    time: LITTLE_ENDIAN ? record.readInt32LE(0) : record.readInt32BE(0),
    line: cString(record, 4, LINE_SIZE),
    host: cString(record, 4 + LINE_SIZE, HOST_SIZE),
  };
}

/** The file and offset of a user's record, or undefined when the lastlog path is neither file nor directory. */
function locate(path: string, uid: number, user: string): { file: string; offset: number } | undefined {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return undefined;
  }
  if (stats.isDirectory()) return { file: join(path, user), offset: 0 };
  if (stats.isFile()) return { file: path, offset: uid * LASTLOG_RECORD_SIZE };
  return undefined;
}

/** The user's previous login, or undefined when there is none (no file, no record, or time 0). */
export function readLastLogin(path: string, uid: number, user: string): LastLogin | undefined {
  const where = locate(path, uid, user);
  if (!where) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(where.file, 'r');
    const record = Buffer.alloc(LASTLOG_RECORD_SIZE);
    if (readSync(fd, record, 0, LASTLOG_RECORD_SIZE, where.offset) !== LASTLOG_RECORD_SIZE) return undefined;
    const entry = decodeLastLogin(record);
    return entry.time === 0 ? undefined : entry;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Records this login as the user's last; false when the file is absent or cannot be written. */
export function writeLastLogin(path: string, uid: number, user: string, entry: LastLogin): boolean {
  const where = locate(path, uid, user);
  if (!where) return false;
  let fd: number | undefined;
  try {
    // A per-user file in a lastlog directory may be created (loginrec.c opens it O_RDWR|O_CREAT, 0600).
    fd = openSync(where.file, constants.O_RDWR | (where.file === path ? 0 : constants.O_CREAT), 0o600);
    const record = encodeLastLogin(entry);
    return writeSync(fd, record, 0, record.length, where.offset) === record.length;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** ctime(3) without its newline, in the local time zone: "Thu Jan  1 00:00:00 1970". */
export function ctime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}`;
}

/** sshlogin.c store_lastlog_message(): the line shown before the motd, CR LF as on a terminal. */
export function lastLoginMessage(entry: LastLogin | undefined): string {
  if (!entry) return '';
  const host = entry.host.slice(0, PRINTED_HOST_LIMIT);
  return host === '' ? `Last login: ${ctime(entry.time)}\r\n` : `Last login: ${ctime(entry.time)} from ${host}\r\n`;
}
