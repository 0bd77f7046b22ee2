/**
 * Value syntaxes shared by ssh_config and sshd_config, parsed with OpenSSH's rules (misc.c convtime, a2port,
 * atoi_err / strtonum, parse_ipqos; fmt_scaled.c scan_scaled; the syslog facility names of log.c). Each
 * parser returns the value or a marker, never a message: the two file formats word their errors differently.
 */
import { readFileSync } from 'node:fs';

export const INT_MAX = 2147483647;

const TIME_UNITS: Readonly<Record<string, number>> = {
  s: 1, S: 1, m: 60, M: 60, h: 3600, H: 3600, d: 86400, D: 86400, w: 604800, W: 604800,
};

/**
 * convtime: TIME FORMATS (sshd_config(5)), a sequence of `<number>[smhdw]` ("90", "1h30m", "10m5"), to
 * seconds. Undefined when malformed, negative, or larger than INT_MAX. Each number is read by strtol, so
 * leading blanks and a sign are allowed.
 */
export function parseTime(s: string | undefined): number | undefined {
  if (s === undefined || s === '') return undefined;
  let total = 0;
  let p = 0;
  while (p < s.length) {
    const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)/.exec(s.slice(p));
    if (m === null) return undefined;
    const secs = Number(m[2]);
    if (m[1] === '-' && secs !== 0) return undefined;
    p += m[0].length;
    let multiplier = 1;
    if (p < s.length) {
      const unit = TIME_UNITS[s[p]!];
      if (unit === undefined) return undefined;
      multiplier = unit;
      p++;
    }
    if (secs > Math.floor(INT_MAX / multiplier)) return undefined;
    if (total > INT_MAX - secs * multiplier) return undefined;
    total += secs * multiplier;
  }
  return total;
}

/** strtonum(s, 0, INT_MAX) as atoi_err(): the value, or OpenSSH's reason ("missing", "invalid", ...). */
export function parseNonNegativeInt(s: string | undefined): { value: number } | { error: 'missing' | 'invalid' | 'too small' | 'too large' } {
  if (s === undefined || s === '') return { error: 'missing' };
  const m = /^[ \t\n\v\f\r]*([+-]?[0-9]+)$/.exec(s);
  if (m === null) return { error: 'invalid' };
  const n = Number(m[1]);
  if (n < 0) return { error: 'too small' };
  if (n > INT_MAX) return { error: 'too large' };
  return { value: n };
}

let services: Map<string, number> | undefined;

/** Port numbers of /etc/services names, as getservbyname(name, "tcp") finds them. */
function tcpServices(): Map<string, number> {
  if (services !== undefined) return services;
  services = new Map();
  let text = '';
  try {
    text = readFileSync('/etc/services', 'utf8');
  } catch {
    return services; // no services database: only numeric ports are accepted
  }
  for (const line of text.split('\n')) {
    const fields = line.replace(/#.*/, '').trim().split(/\s+/);
    const m = /^([0-9]+)\/tcp$/.exec(fields[1] ?? '');
    if (m === null) continue;
    for (const name of [fields[0], ...fields.slice(2)]) {
      if (name && !services.has(name)) services.set(name, Number(m[1]));
    }
  }
  return services;
}

/** a2port: a port 0-65535 or a TCP service name; -1 when neither. */
export function parsePort(s: string): number {
  const n = parseNonNegativeInt(s);
  if ('value' in n && n.value <= 65535) return n.value;
  return tcpServices().get(s) ?? -1;
}

/**
 * scan_scaled: "1G", "512M", "1.5K", "100" (B K M G T P E, powers of 1024) to bytes, or the strerror() text
 * OpenSSH prints after it.
 */
export function parseScaled(s: string): { value: number } | { error: string } {
  const m = /^\s*([+-]?)([0-9]*)(?:\.([0-9]*))?([BbKkMmGgTtPpEe]?)$/.exec(s);
  if (!m) return { error: 'Invalid argument' };
  const scales = 'BKMGTPE';
  const scale = m[4] ? 1024 ** scales.indexOf(m[4].toUpperCase()) : 1;
  const whole = Number(m[2] || '0');
  // Without a unit the fraction is discarded.
  const frac = m[3] && m[4] ? Number(`0.${m[3]}`) : 0;
  const value = (m[1] === '-' ? -1 : 1) * (whole * scale + Math.floor(frac * scale));
  if (!Number.isSafeInteger(value)) return { error: 'Numerical result out of range' };
  return { value };
}

/** IP type-of-service names (misc.c ipqos table) in the order iptos2str searches; `none` is INT_MAX. */
const IPQOS: ReadonlyArray<readonly [string, number]> = [
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

/** Debian's OpenSSH 9.2 keeps the pre-7.8 defaults, lowdelay and throughput (upstream: af21 and cs1). */
export const IPQOS_DEFAULT_INTERACTIVE = 0x10;
export const IPQOS_DEFAULT_BULK = 0x08;

/** parse_ipqos: a name or an integer 0-255 (strtol base 0: decimal, 0octal, 0xhex); undefined when invalid. */
export function parseIpqos(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const named = IPQOS.find(([name]) => name === s.toLowerCase());
  if (named !== undefined) return named[1];
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) n = parseInt(s.slice(2), 16);
  else if (/^0[0-7]*$/.test(s)) n = parseInt(s, 8);
  else if (/^[1-9][0-9]*$/.test(s)) n = parseInt(s, 10);
  else return undefined;
  return n <= 255 ? n : undefined;
}

/** iptos2str: the first name with this value, else "0x%02x". */
export function ipqosName(code: number): string {
  return IPQOS.find(([, c]) => c === code)?.[0] ?? `0x${code.toString(16).padStart(2, '0')}`;
}

export const SYSLOG_FACILITIES = [
  'DAEMON', 'USER', 'AUTH', 'AUTHPRIV', 'LOCAL0', 'LOCAL1', 'LOCAL2', 'LOCAL3', 'LOCAL4', 'LOCAL5', 'LOCAL6', 'LOCAL7',
] as const;
export type SyslogFacility = (typeof SYSLOG_FACILITIES)[number];

/** log_facility_number: a facility name, case-insensitively; undefined when unknown. */
export function parseSyslogFacility(s: string | undefined): SyslogFacility | undefined {
  const upper = s?.toUpperCase();
  return SYSLOG_FACILITIES.find((f) => f === upper);
}

/** Digest names for FingerprintHash (ssh_digest_alg_by_name), as printed. */
export const DIGESTS = ['MD5', 'SHA1', 'SHA256', 'SHA384', 'SHA512'] as const;
export type Digest = (typeof DIGESTS)[number];

export function parseDigest(s: string): Digest | undefined {
  return DIGESTS.find((d) => d === s.toUpperCase());
}

/** StreamLocalBindMask: an octal mode 0-0777 (strtol base 8, so leading blanks and a sign are read). */
export function parseOctalMask(s: string): number | undefined {
  const m = /^\s*([+-]?)([0-7]+)/.exec(s);
  if (m === null) return undefined;
  const value = (m[1] === '-' ? -1 : 1) * parseInt(m[2]!, 8);
  return value < 0 || value > 0o777 ? undefined : value;
}
