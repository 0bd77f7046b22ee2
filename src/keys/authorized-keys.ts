/**
 * authorized_keys parsing (sshd(8) "AUTHORIZED_KEYS FILE FORMAT"): `[options] keytype base64 [comment]`.
 * Options are comma-separated, values may be double-quoted with `\"` escapes. Lines that do not parse
 * are reported with their line number and skipped, as sshd skips them.
 */
import { isKeyType } from './algorithms/index.ts';
import { parsePublicKeyLine, type SshPublicKey } from './public-key.ts';

/** What an authorized_keys entry permits or imposes; defaults are "no restriction". */
export interface AuthorizedKeyOptions {
  /** Whether the `restrict` option was given (it clears every permission below at the point it appears). */
  readonly restrict: boolean;
  readonly permitPty: boolean;
  readonly permitPortForwarding: boolean;
  readonly permitAgentForwarding: boolean;
  readonly permitX11Forwarding: boolean;
  readonly permitUserRc: boolean;
  readonly command?: string;
  /** `from=` pattern list (host names or addresses, `*`/`?`, `!`, CIDR as sshd allows). */
  readonly from?: readonly string[];
  /** `permitopen=` entries, `host:port` (port may be `*`). */
  readonly permitOpen: readonly string[];
  /** `permitlisten=` entries, `[host:]port`. */
  readonly permitListen: readonly string[];
  readonly environment: readonly { name: string; value: string }[];
  readonly expiryTime?: Date;
  readonly principals?: readonly string[];
  readonly certAuthority: boolean;
  /** `tunnel=` device number, if given. */
  readonly tunnel?: string;
}

export interface AuthorizedKey {
  readonly line: number;
  readonly key: SshPublicKey;
  readonly comment: string;
  readonly options: AuthorizedKeyOptions;
  /** The options field as written (empty when there is none). */
  readonly optionsText: string;
}

export interface AuthorizedKeysProblem {
  readonly line: number;
  readonly reason: string;
}

export class AuthorizedKeyOptionError extends Error {
  override readonly name = 'AuthorizedKeyOptionError';
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };

/** What a key line without options permits: everything (sshd's defaults before any option applies). */
export function defaultOptions(): Mutable<AuthorizedKeyOptions> {
  return {
    restrict: false,
    permitPty: true,
    permitPortForwarding: true,
    permitAgentForwarding: true,
    permitX11Forwarding: true,
    permitUserRc: true,
    permitOpen: [],
    permitListen: [],
    environment: [],
    certAuthority: false,
  };
}

/**
 * Splits the options field off a line: it ends at the first space or tab outside double quotes.
 * Returns [options, rest].
 */
function splitOptionsField(text: string): [string, string] {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && quoted && text[i + 1] === '"') {
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (!quoted && (c === ' ' || c === '\t')) {
      return [text.slice(0, i), text.slice(i).replace(/^[ \t]+/, '')];
    }
  }
  if (quoted) throw new AuthorizedKeyOptionError('missing end quote');
  return [text, ''];
}

/** Splits `a,b="x,y",c` into ['a', 'b="x,y"', 'c'] honouring quotes. */
function splitOptions(field: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < field.length; i++) {
    const c = field[i];
    if (c === '\\' && quoted && field[i + 1] === '"') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      parts.push(field.slice(start, i));
      start = i + 1;
    }
  }
  if (quoted) throw new AuthorizedKeyOptionError('missing end quote');
  parts.push(field.slice(start));
  return parts;
}

/** The value of `name="value"`: quotes required, `\"` stands for `"` (OpenSSH auth-options.c). */
function dequote(raw: string, name: string): string {
  if (raw.length < 2 || !raw.startsWith('"') || !raw.endsWith('"')) {
    throw new AuthorizedKeyOptionError(`${name}: value must be in double quotes`);
  }
  return raw.slice(1, -1).replace(/\\"/g, '"');
}

/** expiry-time="YYYYMMDD[HHMM[SS]][Z]": local time unless it ends in Z (sshd(8)). */
function parseExpiryTime(value: string): Date {
  const match = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(Z?)$/.exec(value);
  if (!match) throw new AuthorizedKeyOptionError('expiry-time: invalid time format');
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((part) => Number(part ?? 0)) as [
    number, number, number, number, number, number,
  ];
  const utc = match[7] === 'Z';
  const date = utc
    ? new Date(Date.UTC(year, month - 1, day, hour, minute, second))
    : new Date(year, month - 1, day, hour, minute, second);
  // Date rolls 20250231 over into March; sshd's strptime refuses it, and so do we.
  const check = utc
    ? [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()]
    : [date.getFullYear(), date.getMonth() + 1, date.getDate()];
  if (check[0] !== year || check[1] !== month || check[2] !== day || hour > 23 || minute > 59 || second > 59) {
    throw new AuthorizedKeyOptionError('expiry-time: invalid time');
  }
  return date;
}

const FLAG_OPTIONS: Readonly<Record<string, (options: Mutable<AuthorizedKeyOptions>) => void>> = {
  'restrict': (o) => {
    o.restrict = true;
    o.permitPty = o.permitPortForwarding = o.permitAgentForwarding = o.permitX11Forwarding = o.permitUserRc = false;
  },
  'cert-authority': (o) => (o.certAuthority = true),
  'no-pty': (o) => (o.permitPty = false),
  'pty': (o) => (o.permitPty = true),
  'no-port-forwarding': (o) => (o.permitPortForwarding = false),
  'port-forwarding': (o) => (o.permitPortForwarding = true),
  'no-agent-forwarding': (o) => (o.permitAgentForwarding = false),
  'agent-forwarding': (o) => (o.permitAgentForwarding = true),
  'no-x11-forwarding': (o) => (o.permitX11Forwarding = false),
  'x11-forwarding': (o) => (o.permitX11Forwarding = true),
  'no-user-rc': (o) => (o.permitUserRc = false),
  'user-rc': (o) => (o.permitUserRc = true),
};

function applyValueOption(options: Mutable<AuthorizedKeyOptions>, name: string, value: string): void {
  switch (name) {
    case 'command':
      if (options.command !== undefined) throw new AuthorizedKeyOptionError('command: option specified more than once');
      options.command = value;
      return;
    case 'from':
      options.from = value.split(',');
      return;
    case 'permitopen':
      // sshd requires host:port (with [ipv6]:port) and a port that is a number or *.
      if (!/^(\[[^\]]+\]|[^:]+):(\d+|\*)$/.test(value)) throw new AuthorizedKeyOptionError('permitopen: invalid host:port');
      options.permitOpen.push(value);
      return;
    case 'permitlisten':
      if (!/^((\[[^\]]+\]|[^:]+):)?(\d+|\*)$/.test(value)) throw new AuthorizedKeyOptionError('permitlisten: invalid [host:]port');
      options.permitListen.push(value);
      return;
    case 'environment': {
      const equals = value.indexOf('=');
      if (equals <= 0 || !/^[A-Za-z0-9_]+$/.test(value.slice(0, equals))) {
        throw new AuthorizedKeyOptionError('environment: invalid NAME=value');
      }
      options.environment.push({ name: value.slice(0, equals), value: value.slice(equals + 1) });
      return;
    }
    case 'expiry-time':
      options.expiryTime = parseExpiryTime(value);
      return;
    case 'principals':
      options.principals = value.split(',');
      return;
    case 'tunnel':
      if (!/^\d+$/.test(value)) throw new AuthorizedKeyOptionError('tunnel: invalid tun device');
      options.tunnel = value;
      return;
    default:
      throw new AuthorizedKeyOptionError(`unsupported option "${name.slice(0, 32)}"`);
  }
}

/** Parses an options field (`no-pty,command="…"`) in order; later options override earlier ones. */
export function parseAuthorizedKeyOptions(field: string): AuthorizedKeyOptions {
  const options = defaultOptions();
  if (field === '') return options;
  for (const option of splitOptions(field)) {
    const equals = option.indexOf('=');
    // Option names are case-insensitive in sshd.
    const name = (equals < 0 ? option : option.slice(0, equals)).toLowerCase();
    if (equals < 0) {
      const apply = FLAG_OPTIONS[name];
      if (!apply) throw new AuthorizedKeyOptionError(`unsupported option "${name.slice(0, 32)}"`);
      apply(options);
    } else {
      applyValueOption(options, name, dequote(option.slice(equals + 1), name));
    }
  }
  return options;
}

/** Parses one line; returns undefined for blank lines and comments. Throws for malformed lines. */
export function parseAuthorizedKeyLine(text: string, line = 1): AuthorizedKey | undefined {
  const trimmed = text.replace(/\r$/, '').replace(/^[ \t]+/, '');
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  // sshd first tries the line as a bare key, and only then as options followed by a key.
  const firstWord = trimmed.split(/[ \t]/, 1)[0]!;
  const [optionsText, keyText] = isKeyType(firstWord) ? ['', trimmed] : splitOptionsField(trimmed);
  const options = parseAuthorizedKeyOptions(optionsText);
  const { key, comment } = parsePublicKeyLine(keyText);
  return { line, key, comment, options, optionsText };
}

/** Parses a whole authorized_keys file; bad lines are reported and skipped. */
export function parseAuthorizedKeys(text: string): { keys: AuthorizedKey[]; problems: AuthorizedKeysProblem[] } {
  const keys: AuthorizedKey[] = [];
  const problems: AuthorizedKeysProblem[] = [];
  text.split('\n').forEach((raw, index) => {
    try {
      const entry = parseAuthorizedKeyLine(raw, index + 1);
      if (entry) keys.push(entry);
    } catch (error) {
      problems.push({ line: index + 1, reason: (error as Error).message });
    }
  });
  return { keys, problems };
}
