/**
 * Value syntaxes of ssh_config(5): yes/no style choices, TIME FORMATS (sshd_config(5)), ports, tunnel ids,
 * IPQoS names, log levels and facilities, the escape character. Choices are stored as OpenSSH's numeric
 * codes so that `ssh -G` spellings (the first name in each table with that code) come out right.
 */
import { readFileSync } from 'node:fs';

/** A choice keyword: names accepted (case-insensitively) and the code each maps to, in OpenSSH's order. */
export type ChoiceTable = readonly (readonly [name: string, code: number])[];

export const FLAG: ChoiceTable = [['true', 1], ['false', 0], ['yes', 1], ['no', 0]];
export const YES_NO_ASK: ChoiceTable = [...FLAG, ['ask', 2]];
export const YES_NO_ASK_CONFIRM: ChoiceTable = [...YES_NO_ASK, ['confirm', 3]];

export const STRICT_HOSTKEY = { off: 0, acceptNew: 1, yes: 2, ask: 3 } as const;
export const STRICT_HOSTKEY_CHOICES: ChoiceTable = [
  ['true', 2], ['false', 0], ['yes', 2], ['no', 0], ['ask', 3], ['off', 0], ['accept-new', 1],
];
export const CONTROL_MASTER = { no: 0, yes: 1, auto: 2, ask: 3, autoAsk: 4 } as const;
export const CONTROL_MASTER_CHOICES: ChoiceTable = [
  ['true', 1], ['yes', 1], ['false', 0], ['no', 0], ['auto', 2], ['ask', 3], ['autoask', 4],
];
export const TUNNEL = { no: 0, pointToPoint: 1, ethernet: 2 } as const;
export const TUNNEL_CHOICES: ChoiceTable = [
  ['ethernet', 2], ['point-to-point', 1], ['true', 1], ['yes', 1], ['false', 0], ['no', 0],
];
export const REQUEST_TTY = { auto: 0, no: 1, yes: 2, force: 3 } as const;
export const REQUEST_TTY_CHOICES: ChoiceTable = [
  ['true', 2], ['yes', 2], ['false', 1], ['no', 1], ['force', 3], ['auto', 0],
];
export const SESSION_TYPE = { none: 0, subsystem: 1, default: 2 } as const;
export const SESSION_TYPE_CHOICES: ChoiceTable = [['none', 0], ['subsystem', 1], ['default', 2]];
export const CANONICALIZE = { no: 0, yes: 1, always: 2 } as const;
export const CANONICALIZE_CHOICES: ChoiceTable = [['true', 1], ['false', 0], ['yes', 1], ['no', 0], ['always', 2]];
export const PUBKEY_AUTH = { no: 0, unbound: 1, hostBound: 2, all: 3 } as const;
export const PUBKEY_AUTH_CHOICES: ChoiceTable = [
  ['true', 3], ['false', 0], ['yes', 3], ['no', 0], ['unbound', 1], ['host-bound', 2],
];
export const COMPRESSION_CHOICES: ChoiceTable = [['yes', 1], ['no', 0]];
export const ADDRESS_FAMILY_CHOICES: ChoiceTable = [['inet', 4], ['inet6', 6], ['any', 0]];

/** Looks a choice up case-insensitively; undefined when the word is not in the table. */
export function parseChoice(word: string | undefined, table: ChoiceTable): number | undefined {
  if (word === undefined) return undefined;
  const lower = word.toLowerCase();
  return table.find(([name]) => name === lower)?.[1];
}

/** The name `ssh -G` prints for a code: the first entry with that code. */
export function choiceName(code: number, table: ChoiceTable): string {
  return table.find(([, c]) => c === code)?.[0] ?? 'UNKNOWN';
}

/** Plain yes/no flags print as yes/no in `ssh -G` (not true/false). */
export function yesNo(code: number): string {
  return code === 0 ? 'no' : code === 1 ? 'yes' : 'UNKNOWN';
}

const INT_MAX = 2147483647;

/**
 * TIME FORMATS: a sequence of `<number>[s|m|h|d|w]`. Returns seconds, or undefined for bad syntax or
 * overflow (OpenSSH's convtime()).
 */
export function parseTime(s: string | undefined): number | undefined {
  if (s === undefined || s === '') return undefined;
  const multipliers: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  let rest = s;
  while (rest.length > 0) {
    const m = /^[ \t]*([+-]?\d+)([a-zA-Z]?)/.exec(rest);
    if (m === null) return undefined;
    const secs = Number(m[1]);
    if (secs < 0) return undefined;
    const unit = m[2]!.toLowerCase();
    let multiplier = 1;
    if (unit !== '') {
      const found = multipliers[unit];
      if (found === undefined) return undefined;
      multiplier = found;
    }
    if (secs > INT_MAX / multiplier) return undefined;
    total += secs * multiplier;
    if (total > INT_MAX) return undefined;
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** strtonum(s, 0, INT_MAX) as atoi_err(): the value, or the OpenSSH error word. */
export function parseNonNegativeInt(s: string | undefined): { value: number } | { error: string } {
  if (s === undefined || s === '') return { error: 'missing' };
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)$/.exec(s);
  if (m === null) return { error: 'invalid' };
  const n = Number(m[1]);
  if (n < 0) return { error: 'too small' };
  if (n > INT_MAX) return { error: 'too large' };
  return { value: n };
}

let servicesCache: Map<string, number> | undefined;

function tcpServices(): Map<string, number> {
  if (servicesCache !== undefined) return servicesCache;
  servicesCache = new Map();
  try {
    for (const line of readFileSync('/etc/services', 'utf8').split('\n')) {
      const fields = line.replace(/#.*/, '').trim().split(/\s+/);
      const m = /^(\d+)\/tcp$/.exec(fields[1] ?? '');
      if (m === null) continue;
      for (const name of [fields[0]!, ...fields.slice(2)]) {
        if (!servicesCache.has(name)) servicesCache.set(name, Number(m[1]));
      }
    }
  } catch {
    // No services database: only numeric ports are accepted.
  }
  return servicesCache;
}

/** A port number 0-65535 or a TCP service name (a2port()); -1 when invalid. */
export function parsePort(s: string): number {
  const n = parseNonNegativeInt(s);
  if ('value' in n) return n.value <= 65535 ? n.value : -1;
  return tcpServices().get(s) ?? -1;
}

export const TUNNEL_ID_ANY = 0x7fffffff;
const TUNNEL_ID_MAX = TUNNEL_ID_ANY - 2;

/** `local[:remote]` tunnel device ids, each a number or `any`. Undefined when invalid. */
export function parseTunnelDevice(s: string): { local: number; remote: number } | undefined {
  const one = (v: string): number | undefined => {
    if (v.toLowerCase() === 'any') return TUNNEL_ID_ANY;
    const n = parseNonNegativeInt(v);
    return 'value' in n && n.value <= TUNNEL_ID_MAX ? n.value : undefined;
  };
  const colon = s.indexOf(':');
  if (colon < 0) {
    const local = one(s);
    return local === undefined ? undefined : { local, remote: TUNNEL_ID_ANY };
  }
  const local = one(s.slice(0, colon));
  const remote = one(s.slice(colon + 1));
  return local === undefined || remote === undefined ? undefined : { local, remote };
}

/** IPQoS names and their DSCP/TOS codes; `none` is OpenSSH's INT_MAX sentinel. */
const IPQOS: readonly (readonly [string, number])[] = [
  ['none', INT_MAX], ['af11', 0x28], ['af12', 0x30], ['af13', 0x38], ['af21', 0x48], ['af22', 0x50],
  ['af23', 0x58], ['af31', 0x68], ['af32', 0x70], ['af33', 0x78], ['af41', 0x88], ['af42', 0x90],
  ['af43', 0x98], ['cs0', 0x00], ['cs1', 0x20], ['cs2', 0x40], ['cs3', 0x60], ['cs4', 0x80], ['cs5', 0xa0],
  ['cs6', 0xc0], ['cs7', 0xe0], ['ef', 0xb8], ['le', 0x04], ['lowdelay', 0x10], ['throughput', 0x08],
  ['reliability', 0x04],
];
// Debian's OpenSSH 9.2 keeps the pre-7.8 defaults, lowdelay and throughput (upstream uses af21 and cs1).
export const IPQOS_DEFAULT_INTERACTIVE = 0x10;
export const IPQOS_DEFAULT_BULK = 0x08;

/** An IPQoS name or a number 0-255 (decimal, octal or hex as strtol base 0). */
export function parseIpqos(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const named = IPQOS.find(([n]) => n === s.toLowerCase());
  if (named !== undefined) return named[1];
  if (s === '') return undefined;
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) n = parseInt(s.slice(2), 16);
  else if (/^0[0-7]*$/.test(s)) n = parseInt(s, 8);
  else if (/^[1-9]\d*$/.test(s)) n = parseInt(s, 10);
  else return undefined;
  return n >= 0 && n <= 255 ? n : undefined;
}

export function ipqosName(code: number): string {
  return IPQOS.find(([, c]) => c === code)?.[0] ?? `0x${code.toString(16).padStart(2, '0')}`;
}

/** Log levels; `ssh -G` prints the first name for a level (Debian's build prints QUIET as SILENT). */
export const LOG_LEVELS: readonly (readonly [string, number])[] = [
  ['SILENT', 0], ['QUIET', 0], ['FATAL', 1], ['ERROR', 2], ['INFO', 3], ['VERBOSE', 4], ['DEBUG', 5],
  ['DEBUG1', 5], ['DEBUG2', 6], ['DEBUG3', 7],
];
export const LOG_LEVEL = { quiet: 0, fatal: 1, error: 2, info: 3, verbose: 4, debug1: 5, debug2: 6, debug3: 7 } as const;

export function parseLogLevel(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  return LOG_LEVELS.find(([n]) => n === s.toUpperCase())?.[1];
}

export function logLevelName(level: number): string {
  return LOG_LEVELS.find(([, l]) => l === level)?.[0] ?? 'UNKNOWN';
}

export const SYSLOG_FACILITIES = [
  'DAEMON', 'USER', 'AUTH', 'AUTHPRIV', 'LOCAL0', 'LOCAL1', 'LOCAL2', 'LOCAL3', 'LOCAL4', 'LOCAL5', 'LOCAL6', 'LOCAL7',
] as const;

export function parseSyslogFacility(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  return SYSLOG_FACILITIES.find((f) => f === s.toUpperCase());
}

/** EscapeChar: one character, `^X` for a control character, or `none` (-2 in OpenSSH). */
export const ESCAPE_NONE = -2;

export function parseEscapeChar(s: string): number | undefined {
  if (s === 'none') return ESCAPE_NONE;
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length === 1) return bytes[0]!;
  if (bytes.length === 2 && bytes[0] === 0x5e && bytes[1]! >= 64 && bytes[1]! < 128) return bytes[1]! & 31;
  return undefined;
}

/** vis(3) with VIS_WHITE, as `ssh -G` prints the escape character. */
export function visEscapeChar(c: number): string {
  if (c === ESCAPE_NONE) return 'none';
  const isGraph = c > 0x20 && c < 0x7f;
  if (isGraph) return c === 0x5c ? '\\\\' : String.fromCharCode(c);
  if ((c & 0x7f) === 0x20) return '\\' + c.toString(8).padStart(3, '0');
  let out = '\\';
  let low = c;
  if (c & 0x80) {
    out += 'M';
    low = c & 0x7f;
  }
  if (low < 0x20 || low === 0x7f) out += '^' + (low === 0x7f ? '?' : String.fromCharCode(low + 64));
  else out += '-' + String.fromCharCode(low);
  return out;
}

/** An environment variable name: letters, digits and underscores. */
export function isValidEnvName(name: string): boolean {
  return /^[A-Za-z0-9_]+$/.test(name);
}

/**
 * RekeyLimit data size: a number with an optional K/M/G/T/P/E suffix (scan_scaled, powers of 1024).
 * Undefined for bad syntax.
 */
export function parseScaled(s: string): number | undefined {
  const m = /^(\d+)(?:\.(\d+))?([kKmMgGtTpPeEbB]?)$/.exec(s);
  if (m === null) return undefined;
  const powers: Record<string, number> = { '': 0, b: 0, k: 1, m: 2, g: 3, t: 4, p: 5, e: 6 };
  const scale = 1024 ** powers[m[3]!.toLowerCase()]!;
  const whole = Number(m[1]) * scale;
  const fraction = m[2] === undefined ? 0 : Math.floor(Number(`0.${m[2]}`) * scale);
  return whole + fraction;
}
