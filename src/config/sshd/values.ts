// Value syntaxes shared by several sshd_config keywords, parsed with OpenSSH's rules (misc.c convtime,
// a2port, atoi_err, scan_scaled, parse_ipqos; log.c level and facility names; tilde expansion).
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { isAbsolute } from 'node:path';

const INT_MAX = 2147483647;

/**
 * convtime: "90", "90s", "2m", "1h30m", "1w" (s m h d w, either case) to seconds; null when malformed
 * or larger than INT_MAX.
 */
export function parseTimeSpec(s: string): number | null {
  if (s === '') return null;
  const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  const re = /([0-9]+)([smhdwSMHDW]?)/y;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return null;
    const mult = m[2] ? (units[m[2].toLowerCase()] as number) : 1;
    const value = Number(m[1]);
    if (value > INT_MAX || value > Math.floor(INT_MAX / mult)) return null;
    total += value * mult;
    if (total > INT_MAX) return null;
    pos = re.lastIndex;
    // A bare number must be the last element ("10m5" is 605 seconds, "5 10m" is not one token anyway).
    if (!m[2] && pos < s.length) return null;
  }
  return total;
}

let services: Map<string, number> | null = null;

/** Port numbers of /etc/services names, as getservbyname(name, "tcp") finds them. */
function serviceTable(): Map<string, number> {
  if (services) return services;
  services = new Map();
  let text = '';
  try {
    text = readFileSync('/etc/services', 'utf8');
  } catch {
    return services;
  }
  for (const line of text.split('\n')) {
    const fields = line.replace(/#.*/, '').trim().split(/\s+/);
    const m = /^([0-9]+)\/tcp$/.exec(fields[1] ?? '');
    if (!m) continue;
    for (const name of [fields[0], ...fields.slice(2)]) {
      if (name && !services.has(name)) services.set(name, Number(m[1]));
    }
  }
  return services;
}

/** a2port: a decimal 0..65535 or a TCP service name; null when neither. */
export function parsePort(s: string): number | null {
  if (/^[0-9]+$/.test(s)) {
    const n = Number(s);
    return n <= 65535 ? n : null;
  }
  return serviceTable().get(s) ?? null;
}

/** atoi_err: a decimal 0..INT_MAX, or the reason sshd prints ("missing", "invalid", "too small", "too large"). */
export function parseNonNegativeInt(s: string | undefined): number | 'missing' | 'invalid' | 'too small' | 'too large' {
  if (s === undefined || s === '') return 'missing';
  // strtonum: optional leading blanks and sign, digits, nothing after.
  const t = s.replace(/^[ \t\n\v\f\r]+/, '');
  if (!/^[+-]?[0-9]+$/.test(t)) return 'invalid';
  const n = Number(t);
  if (n < 0) return 'too small';
  if (n > INT_MAX) return 'too large';
  return n;
}

/** scan_scaled: "1G", "512M", "1.5K", "100" (B K M G T P E, powers of 1024) to bytes. */
export function parseScaledBytes(s: string): { value: number } | { error: string } {
  const m = /^\s*([+-]?)([0-9]*)(?:\.([0-9]*))?([BbKkMmGgTtPpEe]?)$/.exec(s);
  if (!m) return { error: 'Invalid argument' };
  const scales = 'BKMGTPE';
  const scale = m[4] ? 1024 ** scales.indexOf(m[4].toUpperCase()) : 1;
  const whole = Number(m[2] || '0');
  const frac = m[3] && m[4] ? Number(`0.${m[3]}`) : 0;
  const value = (m[1] === '-' ? -1 : 1) * (whole * scale + Math.floor(frac * scale));
  if (!Number.isSafeInteger(value)) return { error: 'Numerical result out of range' };
  return { value };
}

/** IP type-of-service names (misc.c ipqos table), in the order iptos2str searches them. */
const IPQOS: ReadonlyArray<[string, number]> = [
  ['none', INT_MAX],
  ['af11', 0x28], ['af12', 0x30], ['af13', 0x38],
  ['af21', 0x48], ['af22', 0x50], ['af23', 0x58],
  ['af31', 0x68], ['af32', 0x70], ['af33', 0x78],
  ['af41', 0x88], ['af42', 0x90], ['af43', 0x98],
  ['cs0', 0x00], ['cs1', 0x20], ['cs2', 0x40], ['cs3', 0x60],
  ['cs4', 0x80], ['cs5', 0xa0], ['cs6', 0xc0], ['cs7', 0xe0],
  ['ef', 0xb8], ['le', 0x04],
  ['lowdelay', 0x10], ['throughput', 0x08], ['reliability', 0x04],
];

/** parse_ipqos: a name or an integer 0..255 (C syntax: 0x.., 0..); null when invalid. */
export function parseIpQos(s: string): number | null {
  const named = IPQOS.find(([name]) => name === s.toLowerCase());
  if (named) return named[1];
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) v = parseInt(s.slice(2), 16);
  else if (/^0[0-7]*$/.test(s)) v = parseInt(s, 8);
  else if (/^[1-9][0-9]*$/.test(s)) v = parseInt(s, 10);
  else return null;
  return v <= 255 ? v : null;
}

/** iptos2str: the first name with this value, else "0x%02x". */
export function formatIpQos(v: number): string {
  const named = IPQOS.find(([, value]) => value === v);
  return named ? named[0] : `0x${v.toString(16).padStart(2, '0')}`;
}

/** LogLevel names; DEBUG and DEBUG1 are the same level, which sshd prints as DEBUG1's first name, "DEBUG". */
const LOG_LEVELS = ['QUIET', 'FATAL', 'ERROR', 'INFO', 'VERBOSE', 'DEBUG', 'DEBUG1', 'DEBUG2', 'DEBUG3'] as const;
export type LogLevel = 'QUIET' | 'FATAL' | 'ERROR' | 'INFO' | 'VERBOSE' | 'DEBUG' | 'DEBUG2' | 'DEBUG3';

export function parseLogLevel(s: string | undefined): LogLevel | null {
  const upper = s?.toUpperCase();
  const found = LOG_LEVELS.find((l) => l === upper);
  if (!found) return null;
  return found === 'DEBUG1' ? 'DEBUG' : found;
}

export const SYSLOG_FACILITIES = [
  'DAEMON', 'USER', 'AUTH', 'AUTHPRIV', 'LOCAL0', 'LOCAL1', 'LOCAL2', 'LOCAL3', 'LOCAL4', 'LOCAL5', 'LOCAL6', 'LOCAL7',
] as const;
export type SyslogFacility = (typeof SYSLOG_FACILITIES)[number];

export function parseSyslogFacility(s: string | undefined): SyslogFacility | null {
  const upper = s?.toUpperCase();
  return SYSLOG_FACILITIES.find((f) => f === upper) ?? null;
}

/** Home directory of a local user from /etc/passwd, for "~user/..." paths. */
function homeOf(user: string): string | null {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === user && f[5] !== undefined) return f[5];
    }
  } catch {
    return null;
  }
  return null;
}

/** tilde_expand_filename: "~/x" is the running user's home, "~user/x" that user's; others unchanged. */
export function expandTilde(path: string): string {
  if (!path.startsWith('~')) return path;
  const slash = path.indexOf('/');
  const name = slash < 0 ? path.slice(1) : path.slice(1, slash);
  const home = name === '' ? userInfo().homedir : homeOf(name);
  if (home === null) return path;
  const rest = slash < 0 ? '' : path.slice(slash + 1);
  // OpenSSH joins with exactly one '/' (and keeps "/" for root's home as "/x").
  return home.endsWith('/') ? `${home}${rest}` : `${home}/${rest}`;
}

/** derelativise_path: "none" stays, "~" is expanded, relative paths are made absolute from the cwd. */
export function absolutePath(path: string, cwd: string): string {
  if (path.toLowerCase() === 'none') return 'none';
  const expanded = expandTilde(path);
  if (isAbsolute(expanded)) return expanded;
  return `${cwd}/${expanded}`;
}
