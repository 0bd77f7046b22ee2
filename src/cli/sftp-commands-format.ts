/**
 * What sftp prints for `ls -l` and `df`, character for character: strmode(3), sftp-common.c ls_file, the
 * scaled sizes of OpenBSD's fmt_scaled(3), and the three layouts of sftp.c do_df.
 */
import type { SftpAttributes, SftpStatvfs } from '../sftp/client/index.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** strmode(3): type letter, three rwx triplets with set-id and sticky bits, and its trailing space. */
export function strmode(mode: number): string {
  const type = mode & 0o170000;
  const letter = ({ 0o040000: 'd', 0o120000: 'l', 0o020000: 'c', 0o060000: 'b', 0o010000: 'p', 0o140000: 's' } as Record<number, string>)[type] ?? (type === 0o100000 ? '-' : '?');
  const triplet = (shift: number, special: number, on: string, off: string) => {
    const bits = (mode >> shift) & 7;
    const execute = bits & 1;
    const x = mode & special ? (execute ? on : off) : execute ? 'x' : '-';
    return `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${x}`;
  };
  return `${letter}${triplet(6, 0o4000, 's', 'S')}${triplet(3, 0o2000, 's', 'S')}${triplet(0, 0o1000, 't', 'T')} `;
}

/** fmt_scaled(3): at most three significant digits and a unit letter, e.g. "512B", "1.5K", "123M". */
export function fmtScaled(value: number): string {
  const units = 'BKMGTPE';
  let number = Math.trunc(value);
  const absolute = Math.abs(number);
  let unit = 0;
  let fraction = 0;
  for (let index = 0; index < units.length; index++) {
    const factor = 1024 ** index;
    if (absolute / 1024 < factor || index === units.length - 1) {
      unit = index;
      fraction = index === 0 ? 0 : Math.trunc((absolute % factor) / 1024 ** (index - 1));
      number = Math.trunc(number / factor);
      break;
    }
  }
  fraction = Math.trunc((10 * fraction + 512) / 1024);
  if (fraction >= 10) {
    number += number >= 0 ? 1 : -1;
    fraction = 0;
  }
  if (number === 0) return '0B';
  if (unit === 0 || number >= 100 || number <= -100) {
    if (fraction >= 5) number += number >= 0 ? 1 : -1;
    return `${number}${units[unit]}`;
  }
  return `${number}.${fraction}${units[unit]}`;
}

/** strftime "%b %e %H:%M" for the last six months, else "%b %e  %Y", in local time. */
function listingTime(mtime: number, now: number): string {
  const date = new Date(mtime * 1000);
  const day = String(date.getDate()).padStart(2);
  const recent = now - (365 * 24 * 60 * 60) / 2 < mtime && now >= mtime;
  const tail = recent
    ? `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`
    : ` ${date.getFullYear()}`;
  return `${MONTHS[date.getMonth()]} ${day} ${tail}`;
}

/** sftp-common.c ls_file for a remote file: link count "?", names when known, else the numeric ids. */
export function lsLine(name: string, attrs: SftpAttributes, options: { siUnits?: boolean; user?: string; group?: string; now?: number } = {}): string {
  const mode = strmode(attrs.permissions ?? 0);
  const user = options.user ?? String(attrs.uid ?? 0);
  const group = options.group ?? String(attrs.gid ?? 0);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const time = listingTime(attrs.mtime ?? 0, now);
  const size = options.siUnits ? fmtScaled(attrs.size ?? 0).padStart(8) : String(attrs.size ?? 0).padStart(8);
  return `${mode} ${'?'.padStart(3)} ${user.padEnd(8)} ${group.padEnd(8)} ${size} ${time} ${name}`;
}

/** sftp.c do_df: the block view (KiB), the -h view, or the -i inode view. */
export function dfReport(st: SftpStatvfs, options: { human?: boolean; inodes?: boolean }): string {
  const n = (value: bigint) => value;
  const capacity = (total: bigint, free: bigint) => (total === 0n ? 'ERR' : `${String((100n * (total - free)) / total).padStart(3)}%`);
  if (options.inodes) {
    const pad = (value: bigint) => String(value).padStart(11);
    return '     Inodes        Used       Avail      (root)    %Capacity\n'
      + `${pad(st.files)} ${pad(st.files - st.ffree)} ${pad(st.favail)} ${pad(st.ffree)}         ${capacity(st.files, st.ffree)}\n`;
  }
  if (options.human) {
    const scaled = (value: bigint) => fmtScaled(Number(value)).padStart(7);
    return '    Size     Used    Avail   (root)    %Capacity\n'
      + `${scaled(st.blocks * st.frsize)}B ${scaled((st.blocks - st.bfree) * st.frsize)}B ${scaled(st.bavail * st.frsize)}B ${scaled(st.bfree * st.frsize)}B         ${capacity(st.blocks, st.bfree)}\n`;
  }
  const pad = (value: bigint) => String(n(value)).padStart(12);
  return '        Size         Used        Avail       (root)    %Capacity\n'
    + `${pad((st.frsize * st.blocks) / 1024n)} ${pad((st.frsize * (st.blocks - st.bfree)) / 1024n)} ${pad((st.frsize * st.bavail) / 1024n)} ${pad((st.frsize * st.bfree) / 1024n)}         ${capacity(st.blocks, st.bfree)}\n`;
}

/** Names laid out in columns as sftp's short listing does: `width / (longest + 2)` columns, left-aligned. */
export function columns(names: string[], longest: number, width: number): string {
  const count = Math.max(1, Math.floor(width / (longest + 2)));
  const space = Math.min(Math.floor(width / count), width);
  let out = '';
  let column = 1;
  for (const name of names) {
    out += name.padEnd(space);
    if (column >= count) {
      out += '\n';
      column = 1;
    } else {
      column++;
    }
  }
  if (column !== 1) out += '\n';
  return out;
}
