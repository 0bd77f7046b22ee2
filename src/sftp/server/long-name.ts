/**
 * The `ls -l` line of an SSH_FXP_NAME entry (draft-02 §7 "longname"), as sftp-server's ls_file() builds it
 * for a directory listing: strmode(3) with its trailing space, link count, owner and group names (numbers
 * when unknown) padded to 8, size, and the date as ls prints it (time of day within the last six months).
 */
import type { Stats } from 'node:fs';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const HALF_YEAR_SECONDS = (365 * 24 * 60 * 60) / 2;

function typeLetter(mode: number): string {
  switch (mode & 0o170000) {
    case 0o040000: return 'd';
    case 0o120000: return 'l';
    case 0o020000: return 'c';
    case 0o060000: return 'b';
    case 0o010000: return 'p';
    case 0o140000: return 's';
    case 0o100000: return '-';
    default: return '?';
  }
}

/** strmode(3): ten characters and the space BSD keeps for an ACL marker. */
export function modeString(mode: number): string {
  const bit = (mask: number, letter: string) => (mode & mask ? letter : '-');
  const special = (execute: number, flag: number, set: string, unset: string) =>
    mode & flag ? (mode & execute ? set : unset) : mode & execute ? 'x' : '-';
  return typeLetter(mode)
    + bit(0o400, 'r') + bit(0o200, 'w') + special(0o100, 0o4000, 's', 'S')
    + bit(0o040, 'r') + bit(0o020, 'w') + special(0o010, 0o2000, 's', 'S')
    + bit(0o004, 'r') + bit(0o002, 'w') + special(0o001, 0o1000, 't', 'T')
    + ' ';
}

/** strftime "%b %e %H:%M" or "%b %e  %Y" in local time. */
export function listingDate(mtimeSeconds: number, nowSeconds = Math.floor(Date.now() / 1000)): string {
  const date = new Date(mtimeSeconds * 1000);
  const day = String(date.getDate()).padStart(2, ' ');
  const recent = nowSeconds - HALF_YEAR_SECONDS < mtimeSeconds && nowSeconds >= mtimeSeconds;
  const tail = recent
    ? `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`
    : ` ${date.getFullYear()}`;
  return `${MONTHS[date.getMonth()]} ${day} ${tail}`;
}

export function longName(name: string, stats: Stats, user: string | undefined, group: string | undefined): string {
  const owner = user ?? String(stats.uid);
  const groupName = group ?? String(stats.gid);
  const mtime = Math.floor(stats.mtimeMs / 1000);
  return `${modeString(stats.mode)} ${String(stats.nlink).padStart(3, ' ')} ${owner.padEnd(8, ' ')} ${groupName.padEnd(8, ' ')} ${String(stats.size).padStart(8, ' ')} ${listingDate(mtime)} ${name}`;
}
