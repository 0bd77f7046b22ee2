/**
 * Destination syntaxes shared by the command line and ProxyJump: `[user@]host[:port]` (IPv6 in brackets) and
 * `ssh://[user@]host[:port]` (draft-ietf-secsh-scp-sftp-ssh-uri-04, as OpenSSH accepts it).
 */
import { parsePort } from '../values.ts';

export interface UserHostPort {
  user: string | undefined;
  host: string;
  /** -1 when no port was given. */
  port: number;
}

/** Splits off a `host` or `[host]` field followed by `:` (or `/` when allowed); undefined if malformed. */
function splitHostField(s: string, allowSlash: boolean): { host: string; rest: string | undefined; delim: string } | undefined {
  let end: number;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return undefined;
    end = close + 1;
  } else {
    const m = /[:/]/.exec(s);
    end = m === null ? s.length : m.index;
  }
  const delim = s[end] ?? '';
  if (delim === '') return { host: s.slice(0, end), rest: undefined, delim };
  if (delim === ':' || (delim === '/' && allowSlash)) return { host: s.slice(0, end), rest: s.slice(end + 1), delim };
  return undefined;
}

/** Strips the brackets of `[addr]`. */
export function cleanHostname(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** `[user@]host[:port]`; the user is everything before the last `@`. Undefined when invalid. */
export function parseUserHostPort(s: string): UserHostPort | undefined {
  let user: string | undefined;
  let rest = s;
  const at = s.lastIndexOf('@');
  if (at >= 0) {
    if (at === 0) return undefined;
    user = s.slice(0, at);
    rest = s.slice(at + 1);
  }
  const field = splitHostField(rest, false);
  if (field === undefined || field.host === '') return undefined;
  let port = -1;
  if (field.rest !== undefined && field.rest !== '') {
    port = parsePort(field.rest);
    if (port <= 0) return undefined;
  }
  return { user, host: cleanHostname(field.host), port };
}

function urlDecode(s: string): string | undefined {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '+') out += ' ';
    else if (c === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
      out += String.fromCharCode(parseInt(hex, 16));
      i += 2;
    } else out += c;
  }
  return out;
}

/** OpenSSH's valid_domain() without lower-casing: letters, digits, `-`, `_`, `.`; no `..`. */
export function isValidDomain(name: string): boolean {
  if (name === '' || !/^[A-Za-z0-9]/.test(name)) return false;
  return /^[A-Za-z0-9._-]+$/.test(name) && !name.includes('..');
}

/**
 * `ssh://[user[;params]@]host[:port]`. Returns 'not-uri' when the string does not start with `ssh://`,
 * undefined when it is a malformed (or path-carrying) URI.
 */
export function parseSshUri(s: string): UserHostPort | 'not-uri' | undefined {
  if (!s.startsWith('ssh://')) return 'not-uri';
  let rest = s.slice(6);
  let user: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    let info = rest.slice(0, at);
    const semi = info.indexOf(';');
    if (semi >= 0) info = info.slice(0, semi);
    if (info === '') return undefined;
    user = urlDecode(info);
    if (user === undefined) return undefined;
    rest = rest.slice(at + 1);
  }
  const field = splitHostField(rest, true);
  if (field === undefined || field.host === '') return undefined;
  const host = cleanHostname(field.host);
  if (!isValidDomain(host)) return undefined;
  let port = -1;
  let tail = field.rest;
  if (tail !== undefined && tail !== '' && field.delim === ':') {
    const slash = tail.indexOf('/');
    port = parsePort(slash < 0 ? tail : tail.slice(0, slash));
    if (port <= 0) return undefined;
    tail = slash < 0 ? undefined : tail.slice(slash + 1);
  }
  // A path is not allowed in an ssh:// destination.
  if (tail !== undefined && tail !== '') return undefined;
  return { user, host, port };
}

export interface Destination {
  user: string | undefined;
  host: string;
  port: number | undefined;
}

/**
 * Parses the destination argument of `ssh`: `ssh://user@host:port`, or `user@host` (the user is everything
 * before the last `@`). Undefined when ssh would print its usage.
 */
export function parseDestination(arg: string): Destination | undefined {
  const uri = parseSshUri(arg);
  if (uri === undefined) return undefined;
  if (uri !== 'not-uri') return { user: uri.user, host: uri.host, port: uri.port === -1 ? undefined : uri.port };
  const at = arg.lastIndexOf('@');
  if (at === 0) return undefined;
  if (at > 0) return { user: arg.slice(0, at), host: arg.slice(at + 1), port: undefined };
  return { user: undefined, host: arg, port: undefined };
}

export interface JumpSpec {
  /** The last hop of the chain: the host ssh connects to through its own ProxyCommand. */
  user: string | undefined;
  host: string;
  /** -1 when unspecified. */
  port: number;
  /** Earlier hops, comma-separated, exactly as written (passed on as `-J`). */
  extra: string | undefined;
}

/**
 * HostName as a Tether extension may list alternates, comma-separated (`HostName a.example.org,b.example.org`):
 * the client tries them in order (failover). Commas cannot occur in a host name, so splitting is unambiguous;
 * empty elements are dropped. A HostName without a comma is one name, as in OpenSSH.
 */
export function splitHostNameAlternates(hostname: string): string[] {
  const names = hostname.split(',').map((name) => name.trim()).filter((name) => name !== '');
  return names.length > 0 ? names : [hostname];
}

/** Characters a host name from the command line may not contain (they mean something to shells). */
export function isSafeHostname(s: string): boolean {
  if (s.startsWith('-') || hasControlCharacter(s)) return false;
  return !/['`"$\\;&<>|(){},\s]/.test(s);
}

function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Rules for a remote user name given on the command line. */
export function isSafeRemoteUser(s: string): boolean {
  if (s.startsWith('-') || hasControlCharacter(s)) return false;
  if (/['`";&<>|(){}]/.test(s)) return false;
  if (/\s-/.test(s)) return false;
  return !s.endsWith('\\');
}

export class JumpSyntaxError extends Error {
  override readonly name = 'JumpSyntaxError';
}

/**
 * Parses a ProxyJump value: `none`, or a comma-separated chain of `[user@]host[:port]` / `ssh://` hops.
 * Every hop's syntax is checked; only the last one is decoded. With `strict` (the -J flag), host and user
 * names must not contain shell metacharacters. A `#` ends the value. Undefined when invalid.
 */
export function parseJump(value: string, strict = false): JumpSpec | 'none' | undefined {
  if (value.toLowerCase() === 'none') return 'none';
  let cleaned = value;
  const hash = cleaned.indexOf('#');
  if (hash >= 0) cleaned = cleaned.slice(0, hash);
  cleaned = cleaned.replace(/[ \t\r\n]+$/, '');
  const hops = cleaned.split(',');
  let last: UserHostPort | undefined;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    const uri = parseSshUri(hop);
    const parsed = uri === 'not-uri' ? parseUserHostPort(hop) : uri;
    if (parsed === undefined) return undefined;
    if (strict && !isSafeHostname(parsed.host)) throw new JumpSyntaxError(`parse_jump: invalid hostname "${parsed.host}"`);
    if (strict && parsed.user !== undefined && !isSafeRemoteUser(parsed.user)) {
      throw new JumpSyntaxError(`parse_jump: invalid username "${parsed.user}"`);
    }
    if (i === hops.length - 1) last = parsed;
  }
  if (last === undefined) return undefined;
  const comma = cleaned.lastIndexOf(',');
  const extra = comma >= 0 ? cleaned.slice(0, comma) : undefined;
  return { user: last.user, host: last.host, port: last.port, extra };
}
