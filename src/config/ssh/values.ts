/**
 * Value syntaxes of ssh_config(5) alone: yes/no style choices, tunnel ids, log levels, the escape character.
 * Times, ports, integers, sizes, IPQoS and facilities are shared with sshd_config (../values.ts). Choices are
 * stored as OpenSSH's numeric codes so that `ssh -G` spellings (the first name in each table with that code)
 * come out right.
 */
import { parseNonNegativeInt } from '../values.ts';

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
