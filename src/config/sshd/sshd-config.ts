// Reading a server configuration as OpenSSH 9.2's sshd does, and resolving it for one connection.
//
// sshd reads its configuration twice (servconf.c): once at startup, applying everything outside Match
// blocks and only checking the syntax inside them; then, for each connection, again from a clean slate with
// only the matching Match blocks active, laying every value they set over the startup settings. Both passes
// keep "the first value wins" per option. The same two passes are used here, over the same text (included
// files are read once and remembered, as sshd caches them).
import { readFileSync } from 'node:fs';
import { SshdConfigError, ConnectionSpecError } from './errors.ts';
import { applyLine, parseConfigText, type FileFlags, type IncludedFile, type PassState } from './directives.ts';
import { resolveListenAddresses } from './listen.ts';
import type { ConnectionInfo } from './match.ts';
import { fillDefaults, overlayMatchSettings, SettingsError, type EffectiveSshdSettings, type SshdOptionSet } from './settings.ts';
import { absolutePath } from './values.ts';
import { parsePort } from '../values.ts';

/** Command-line settings that sshd applies before reading the file (-p, -h, -o), plus where to look. */
export interface SshdConfigOverrides {
  /** `-p`: these ports replace every Port line. */
  port?: number[];
  /** `-h`: host key files, listed before any HostKey line. */
  hostKeys?: string[];
  /** `-o`: "Keyword value" lines; they win over the file (first value wins). */
  options?: string[];
  /** Directory for relative Include paths; sshd's is /etc/ssh. */
  sshDir?: string;
  /** Directory relative HostKey/PidFile/... paths resolve against; defaults to process.cwd(). */
  cwd?: string;
  /**
   * Accept keywords whose values ask for something Tether does not implement (support.ts) instead of refusing
   * them. Only for comparing the parser with sshd's (`sshd -T` tests); a server must never set it.
   */
  allowUnimplemented?: boolean;
}

/** A configuration read at startup: its settings, and what is needed to apply Match to a connection. */
export interface SshdConfig {
  /** The main file's name as given (sshd's "config file"). */
  file: string;
  /** The main file's text. */
  text: string;
  /** Settings before any Match applies (what `sshd -T` prints without -C). */
  settings: EffectiveSshdSettings;
  /** Deprecated or unsupported keywords sshd would log and otherwise ignore ("<file> line N: ..."). */
  warnings: string[];
  /** Included files by pattern, read once. */
  includes: Map<string, IncludedFile[]>;
  sshDir: string;
  cwd: string;
}

/** A connection to resolve settings for; host defaults to the address (sshd's UseDNS no). */
export interface ConnectionParams {
  user: string;
  host?: string;
  address: string;
  localAddress: string;
  localPort: number;
  /** The user's groups for Match Group; looked up in /etc/passwd and /etc/group when omitted. */
  groups?: string[];
  rdomain?: string;
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
};

/** Reads a configuration file; failures read like sshd's perror(filename). */
export function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw new SshdConfigError(path, 0, [`${path}: ${ERRNO_TEXT[code] ?? (e as Error).message}`]);
  }
}

function newPass(
  options: SshdOptionSet,
  connection: ConnectionInfo | null,
  config: Pick<SshdConfig, 'includes' | 'sshDir' | 'cwd'>,
  allowUnimplemented = false,
): PassState {
  return {
    allowUnimplemented,
    options,
    connection,
    active: connection === null,
    includes: config.includes,
    readFile: readConfigFile,
    sshDir: config.sshDir,
    cwd: config.cwd,
    warnings: [],
  };
}

/** Applies -p, -h and -o the way sshd's option loop does, before the file is read. */
function applyOverrides(state: PassState, overrides: SshdConfigOverrides): void {
  for (const port of overrides.port ?? []) {
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new SshdConfigError('command-line', 0, ['Bad port number.']);
    state.options.portsFromCommandLine = true;
    (state.options.ports ??= []).push(port);
  }
  for (const key of overrides.hostKeys ?? []) (state.options.hostKeys ??= []).push(absolutePath(key, state.cwd));
  for (const line of overrides.options ?? []) {
    const flags: FileFlags = { matchOnly: false, neverMatch: false };
    const problem = applyLine(state, line, 'command-line', 0, flags, 0, true);
    if (problem && problem.length > 0) throw new SshdConfigError('command-line', 0, problem);
  }
}

const ENABLED_BY: Record<string, (s: EffectiveSshdSettings) => boolean> = {
  none: () => true,
  publickey: (s) => s.pubkeyAuthentication,
  'gssapi-with-mic': (s) => s.gssapiAuthentication,
  'gssapi-keyex': (s) => s.gssapiAuthentication,
  password: (s) => s.passwordAuthentication,
  'keyboard-interactive': (s) => s.kbdInteractiveAuthentication,
  hostbased: (s) => s.hostbasedAuthentication,
};

/** The consistency checks sshd makes after filling defaults, before it would start. */
function checkStartupConsistency(s: EffectiveSshdSettings, file: string): void {
  if (s.authorizedKeysCommandUser === null && s.authorizedKeysCommand !== null && s.authorizedKeysCommand.toLowerCase() !== 'none') {
    throw new SshdConfigError(file, 0, ['AuthorizedKeysCommand set without AuthorizedKeysCommandUser']);
  }
  if (
    s.authorizedPrincipalsCommandUser === null &&
    s.authorizedPrincipalsCommand !== null &&
    s.authorizedPrincipalsCommand.toLowerCase() !== 'none'
  ) {
    throw new SshdConfigError(file, 0, ['AuthorizedPrincipalsCommand set without AuthorizedPrincipalsCommandUser']);
  }
  // At least one AuthenticationMethods list must consist only of enabled methods.
  if (s.authenticationMethods.length === 0) return;
  const complaints: string[] = [];
  for (const list of s.authenticationMethods) {
    const disabled = list.split(',').map((m) => m.split(':')[0] as string).find((m) => !(ENABLED_BY[m]?.(s) ?? false));
    if (disabled === undefined) return;
    complaints.push(`Disabled method "${disabled}" in AuthenticationMethods list "${list}"`);
  }
  throw new SshdConfigError(file, 0, [...complaints, 'AuthenticationMethods cannot be satisfied by enabled authentication methods']);
}

function settingsFrom(options: SshdOptionSet, file: string): EffectiveSshdSettings {
  const ports = options.ports && options.ports.length > 0 ? options.ports : [22];
  const listen = resolveListenAddresses(options.queuedListenAddresses ?? [], ports, options.addressFamily ?? 'any');
  let settings: EffectiveSshdSettings;
  try {
    settings = fillDefaults(options, listen);
  } catch (e) {
    if (e instanceof SettingsError) throw new SshdConfigError(file, 0, [e.message]);
    throw e;
  }
  checkStartupConsistency(settings, file);
  return settings;
}

/**
 * Parses configuration text as sshd reads its main file, with defaults filled in. Synchronous. Throws
 * SshdConfigError (or SshdConfigErrors for several recoverable ones) with sshd's messages.
 */
export function parseSshdConfigText(text: string, fileName: string, overrides: SshdConfigOverrides = {}): SshdConfig {
  const config = {
    includes: new Map<string, IncludedFile[]>(),
    sshDir: overrides.sshDir ?? '/etc/ssh',
    cwd: overrides.cwd ?? process.cwd(),
  };
  const options: SshdOptionSet = {};
  const state = newPass(options, null, config, overrides.allowUnimplemented);
  applyOverrides(state, overrides);
  parseConfigText(state, fileName, text, { matchOnly: false, neverMatch: false }, 0);
  return { file: fileName, text, settings: settingsFrom(options, fileName), warnings: state.warnings, ...config };
}

/**
 * Reads and parses an sshd_config file (and its Includes), as `sshd -f path [-p ...] [-h ...] [-o ...]`.
 * Synchronous; throws SshdConfigError on anything sshd would refuse to start with.
 */
export function loadSshdConfig(path: string, overrides: SshdConfigOverrides = {}): SshdConfig {
  return parseSshdConfigText(readConfigFile(path), path, overrides);
}

/** The outcome of a `sshd -t` style check: sshd's stderr lines for errors and warnings. */
export interface SshdConfigCheck {
  ok: boolean;
  errors: SshdConfigError[];
  warnings: string[];
}

/** Checks a configuration without throwing (for `tether server -t`). */
export function checkSshdConfig(path: string, overrides: SshdConfigOverrides = {}): SshdConfigCheck {
  try {
    const config = loadSshdConfig(path, overrides);
    return { ok: true, errors: [], warnings: config.warnings };
  } catch (e) {
    if (e instanceof SshdConfigError) return { ok: false, errors: [e], warnings: [] };
    throw e;
  }
}

/** Applies the Match blocks that hold for `connection` (sshd's per-connection pass). */
export function resolveMatches(config: SshdConfig, connection: ConnectionInfo): EffectiveSshdSettings {
  const fromMatches: SshdOptionSet = {};
  const state = newPass(fromMatches, connection, config);
  parseConfigText(state, 'reprocess config', config.text, { matchOnly: true, neverMatch: false }, 0);
  try {
    return overlayMatchSettings(config.settings, fromMatches);
  } catch (e) {
    if (e instanceof SettingsError) throw new SshdConfigError('reprocess config', 0, [e.message]);
    throw e;
  }
}

/** The settings in force for one connection: the configuration with its matching Match blocks applied. */
export function resolveForConnection(config: SshdConfig, params: ConnectionParams): EffectiveSshdSettings {
  return resolveMatches(config, {
    user: params.user,
    host: params.host ?? params.address,
    address: params.address,
    localAddress: params.localAddress,
    localPort: params.localPort,
    rdomain: params.rdomain ?? null,
    groups: params.groups,
    test: false,
  });
}

/**
 * Parses an `sshd -C` connection test specification ("user=x,host=h,addr=1.2.3.4,laddr=...,lport=22,
 * rdomain=..."). Attributes left out stay unknown: Match criteria on them do not match.
 */
export function parseConnectionSpec(spec: string): ConnectionInfo {
  const info: ConnectionInfo = {
    user: null,
    host: null,
    address: null,
    localAddress: null,
    localPort: 0,
    rdomain: null,
    test: true,
  };
  for (const part of spec.split(',')) {
    if (part === '') break; // sshd stops at an empty element
    const eq = part.indexOf('=');
    const key = eq < 0 ? '' : part.slice(0, eq);
    const value = part.slice(eq + 1);
    switch (key) {
      case 'addr':
        info.address = value;
        break;
      case 'host':
        info.host = value;
        break;
      case 'user':
        info.user = value;
        break;
      case 'laddr':
        info.localAddress = value;
        break;
      case 'rdomain':
        info.rdomain = value;
        break;
      case 'lport': {
        const port = parsePort(value);
        if (port === -1) throw new ConnectionSpecError(`Invalid port '${value}' in test mode specification ${part}`);
        info.localPort = port;
        break;
      }
      default:
        throw new ConnectionSpecError(`Invalid test mode specification ${part}`);
    }
  }
  return info;
}

/**
 * What `sshd -T [-C spec]` prints for a loaded configuration: the startup settings, or with a spec the
 * settings after its Match blocks (sshd -T always runs the Match pass in test mode).
 */
export function dashTSettings(config: SshdConfig, spec?: string | ConnectionInfo): EffectiveSshdSettings {
  const connection =
    spec === undefined
      ? { user: null, host: null, address: null, localAddress: null, localPort: 0, rdomain: null, test: true }
      : typeof spec === 'string'
        ? parseConnectionSpec(spec)
        : spec;
  return resolveMatches(config, connection);
}
