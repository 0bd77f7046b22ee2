// Applying one sshd_config line to the option set being built, with sshd's rules (servconf.c
// process_server_config_line_depth): for most options the first value wins; HostKey, HostCertificate, Port,
// ListenAddress, AcceptEnv, Subsystem and Allow/Deny Users/Groups accumulate; a few (MaxStartups, IPQoS,
// FingerprintHash, ...) take the last value, as sshd does. Errors use sshd's wording.
import { algorithmSpecValid, SUPPORTED, type AlgorithmFamily } from './algorithms.ts';
import { SshdConfigError, SshdConfigErrors } from './errors.ts';
import { globPaths as expandIncludePattern } from '../glob.ts';
import { lookupKeyword, type OptionId } from './keywords.ts';
import { evaluateMatchLine, type ConnectionInfo } from './match.ts';
import { matchUserEntry } from './patterns.ts';
import type { EffectiveSshdSettings, SshdOptionSet } from './settings.ts';
import { splitArguments, splitKeyword } from './tokenize.ts';
import {
  absolutePath,
  expandTilde,
  parseIpQos,
  parseLogLevel,
  parseNonNegativeInt,
  parsePort,
  parseScaledBytes,
  parseSyslogFacility,
  parseTimeSpec,
} from './values.ts';

/** An included file as read during the first pass; later passes reuse it (sshd's include cache). */
export interface IncludedFile {
  /** null records a pattern that matched nothing. */
  path: string | null;
  text: string;
}

/** Reads a configuration file; throws SshdConfigError with sshd's message when it cannot. */
export type FileReader = (path: string) => string;

/** State shared by every line of one pass over the configuration. */
export interface PassState {
  options: SshdOptionSet;
  /** null while the file is first read; the connection during a Match pass. */
  connection: ConnectionInfo | null;
  /** Whether directives currently apply (outside Match, or inside a matching Match). */
  active: boolean;
  includes: Map<string, IncludedFile[]>;
  readFile: FileReader;
  /** Directory relative Include paths are taken from (/etc/ssh for sshd). */
  sshDir: string;
  /** Directory relative HostKey, PidFile, ... paths are taken from (sshd's working directory). */
  cwd: string;
  /** Messages sshd logs but does not stop for ("Deprecated option ..."). */
  warnings: string[];
}

/** Per-file Match state (sshd's SSHCFG_MATCH_ONLY / SSHCFG_NEVERMATCH include flags). */
export interface FileFlags {
  matchOnly: boolean;
  neverMatch: boolean;
}

const MAX_INCLUDE_DEPTH = 16;
const MAX_PORTS = 256;
const MAX_SUBSYSTEMS = 256;

const AUTH_METHODS = ['none', 'publickey', 'gssapi-with-mic', 'gssapi-keyex', 'password', 'keyboard-interactive', 'hostbased'];
const GSS_KEX = [
  'gss-gex-sha1-', 'gss-group1-sha1-', 'gss-group14-sha1-', 'gss-group14-sha256-', 'gss-group16-sha512-',
  'gss-nistp256-sha256-', 'gss-curve25519-sha256-',
];
const DIGESTS = ['MD5', 'SHA1', 'SHA256', 'SHA384', 'SHA512'] as const;

type Multistate<T> = ReadonlyArray<readonly [string, T]>;
const FLAG: Multistate<boolean> = [['yes', true], ['no', false]];
const PERMIT_ROOT: Multistate<EffectiveSshdSettings['permitRootLogin']> = [
  ['without-password', 'prohibit-password'], ['prohibit-password', 'prohibit-password'],
  ['forced-commands-only', 'forced-commands-only'], ['yes', 'yes'], ['no', 'no'],
];
const IGNORE_RHOSTS: Multistate<EffectiveSshdSettings['ignoreRhosts']> = [['yes', 'yes'], ['no', 'no'], ['shosts-only', 'shosts-only']];
const ADDRESS_FAMILY: Multistate<EffectiveSshdSettings['addressFamily']> = [['inet', 'inet'], ['inet6', 'inet6'], ['any', 'any']];
const COMPRESSION: Multistate<boolean> = [['yes', true], ['delayed', true], ['no', false]];
const GATEWAY_PORTS: Multistate<EffectiveSshdSettings['gatewayPorts']> = [['clientspecified', 'clientspecified'], ['yes', 'yes'], ['no', 'no']];
const FORWARDING: Multistate<EffectiveSshdSettings['allowTcpForwarding']> = [
  ['yes', 'yes'], ['all', 'yes'], ['no', 'no'], ['remote', 'remote'], ['local', 'local'],
];
const TUNNEL = ['no', 'point-to-point', 'ethernet', 'yes'] as const;

const FLAG_OPTIONS = new Set<OptionId>([
  'usePAM', 'ignoreUserKnownHosts', 'hostbasedAuthentication', 'hostbasedUsesNameFromPacketOnly',
  'pubkeyAuthentication', 'kerberosAuthentication', 'kerberosOrLocalPasswd', 'kerberosTicketCleanup',
  'gssapiAuthentication', 'gssapiCleanupCredentials', 'gssapiStrictAcceptorCheck', 'gssapiKeyExchange',
  'gssapiStoreCredentialsOnRekey', 'passwordAuthentication', 'kbdInteractiveAuthentication', 'printMotd',
  'printLastLog', 'x11Forwarding', 'x11UseLocalhost', 'permitTTY', 'permitUserRC', 'strictModes', 'tcpKeepAlive',
  'permitEmptyPasswords', 'useDNS', 'allowAgentForwarding', 'disableForwarding', 'streamLocalBindUnlink',
  'exposeAuthInfo', 'debianBanner',
]);

const INT_OPTIONS = new Set<OptionId>(['x11DisplayOffset', 'maxAuthTries', 'maxSessions', 'clientAliveCountMax', 'requiredRSASize']);
const TIME_OPTIONS = new Set<OptionId>(['loginGraceTime', 'clientAliveInterval']);
const FILENAME_OPTIONS = new Set<OptionId>(['pidFile', 'moduliFile', 'xauthLocation', 'banner', 'trustedUserCAKeys', 'revokedKeys']);

const KEY_ALGORITHM_OPTIONS: Partial<Record<OptionId, AlgorithmFamily>> = {
  hostbasedAcceptedAlgorithms: 'hostbased',
  hostKeyAlgorithms: 'hostKeys',
  caSignatureAlgorithms: 'caSignatures',
  pubkeyAcceptedAlgorithms: 'pubkeys',
};

/**
 * Handles one line. Returns sshd's messages for a recoverable error (sshd counts these and stops at the end
 * of the file), or null. Throws SshdConfigError for a fatal one.
 */
export function applyLine(
  state: PassState,
  rawLine: string,
  file: string,
  lineNo: number,
  flags: FileFlags,
  depth: number,
  commandLine: boolean,
): string[] | null {
  const split = splitKeyword(rawLine);
  if (split === null) return null;
  const { keyword, rest } = split;
  const where = `${file} line ${lineNo}`;
  if (rest === '') return [`${where}: no argument after keyword "${keyword}"`];
  const info = lookupKeyword(keyword);
  const errors: string[] = [];
  if (!info) errors.push(`${file}: line ${lineNo}: Bad configuration option: ${keyword}`);
  const parsed = splitArguments(rest);
  if (parsed === null) return [...errors, `${where}: invalid quotes`];
  const args = parsed;
  const active = commandLine || state.active;
  const fatal = (msg: string): SshdConfigError => new SshdConfigError(file, lineNo, [...errors, `${where}: ${msg}`]);

  if (!active && info?.scope !== 'all') {
    if (state.connection === null) throw fatal(`Directive '${keyword}' is not allowed within a Match block`);
    return null; // a global directive, already applied in the first pass
  }
  if (!info) return errors;

  const o = state.options as Record<string, unknown>;
  const opts = state.options;
  const option = info.option;
  const next = (): string | undefined => args.shift();
  const setFirst = (key: string, value: unknown): void => {
    if (active && o[key] === undefined) o[key] = value;
  };
  const multistate = <T>(table: Multistate<T>): T => {
    const arg = next();
    if (arg === undefined || arg === '') throw fatal('missing argument.');
    const hit = table.find(([name]) => name === arg.toLowerCase());
    if (!hit) throw fatal(`unsupported option "${arg}".`);
    return hit[1];
  };
  const requireArg = (message: string): string => {
    const arg = next();
    if (arg === undefined || arg === '') throw fatal(message);
    return arg;
  };
  const missing = `${keyword} missing argument.`;

  if (FLAG_OPTIONS.has(option)) {
    setFirst(option, multistate(FLAG));
  } else if (INT_OPTIONS.has(option)) {
    const v = parseNonNegativeInt(next());
    if (typeof v === 'string') throw fatal(`${keyword} integer value ${v}.`);
    setFirst(option, v);
  } else if (TIME_OPTIONS.has(option)) {
    setFirst(option, parseTime(requireArg('missing time value.'), fatal));
  } else if (FILENAME_OPTIONS.has(option)) {
    setFirst(option, absolutePath(requireArg('missing file name.'), state.cwd));
  } else if (KEY_ALGORITHM_OPTIONS[option]) {
    const arg = requireArg('Missing argument.');
    if (!algorithmSpecValid(KEY_ALGORITHM_OPTIONS[option], arg)) throw fatal(`Bad key types '${arg}'.`);
    setFirst(option, arg);
  } else {
    switch (option) {
      case 'port': {
        if (opts.portsFromCommandLine) {
          args.length = 0;
          break;
        }
        const ports = (opts.ports ??= []);
        if (ports.length >= MAX_PORTS) throw fatal('too many ports.');
        const arg = requireArg('missing port number.');
        const port = parsePort(arg);
        if (port === null || port <= 0) throw fatal('Badly formatted port number.');
        ports.push(port);
        break;
      }
      case 'listenAddress':
        applyListenAddress(opts, requireArg('missing address'), args, fatal, errors);
        break;
      case 'addressFamily':
        setFirst(option, multistate(ADDRESS_FAMILY));
        break;
      case 'permitRootLogin':
        setFirst(option, multistate(PERMIT_ROOT));
        break;
      case 'ignoreRhosts':
        setFirst(option, multistate(IGNORE_RHOSTS));
        break;
      case 'compression':
        setFirst(option, multistate(COMPRESSION));
        break;
      case 'gatewayPorts':
        setFirst(option, multistate(GATEWAY_PORTS));
        break;
      case 'allowTcpForwarding':
      case 'allowStreamLocalForwarding':
        setFirst(option, multistate(FORWARDING));
        break;
      case 'hostKey': {
        const arg = requireArg('missing file name.');
        if (active) (opts.hostKeys ??= []).push(absolutePath(arg, state.cwd));
        break;
      }
      case 'hostCertificate': {
        const arg = requireArg('missing file name.');
        if (active) (opts.hostCertificates ??= []).push(absolutePath(arg, state.cwd));
        break;
      }
      case 'hostKeyAgent': {
        const arg = requireArg('missing socket name.');
        setFirst(option, arg === 'SSH_AUTH_SOCK' ? arg : absolutePath(arg, state.cwd));
        break;
      }
      case 'ciphers':
      case 'macs':
      case 'kexAlgorithms': {
        const arg = requireArg(missing);
        const family: AlgorithmFamily = option === 'kexAlgorithms' ? 'kex' : option;
        if (!algorithmSpecValid(family, arg)) {
          if (option === 'ciphers') throw fatal(`Bad SSH2 cipher spec '${arg}'.`);
          if (option === 'macs') throw fatal(`Bad SSH2 mac spec '${arg}'.`);
          const body = /^[+^]/.test(arg) ? arg.slice(1) : arg;
          const unknown = body.split(',').find((n) => n !== '' && !SUPPORTED.kex.includes(n)) ?? body;
          errors.push(`Unsupported KEX algorithm "${unknown}"`);
          throw fatal(`Bad SSH2 KexAlgorithms '${arg}'.`);
        }
        if (o[option] === undefined) o[option] = arg;
        break;
      }
      case 'gssapiKexAlgorithms': {
        const arg = requireArg(missing);
        const unknown = arg.split(',').find((n) => !GSS_KEX.includes(n));
        if (unknown !== undefined) {
          errors.push(`Unsupported KEX algorithm "${unknown}"`);
          throw fatal(`Bad GSSAPI KexAlgorithms '${arg}'.`);
        }
        if (o[option] === undefined) o[option] = arg;
        break;
      }
      case 'pubkeyAuthOptions': {
        const value = { touchRequired: false, verifyRequired: false };
        for (let arg = next(); arg !== undefined; arg = next()) {
          const lower = arg.toLowerCase();
          if (lower === 'none') continue;
          if (lower === 'touch-required') value.touchRequired = true;
          else if (lower === 'verify-required') value.verifyRequired = true;
          else return [...errors, `${where}: unsupported ${keyword} option ${arg}`];
        }
        setFirst(option, value);
        break;
      }
      case 'permitUserEnvironment': {
        const arg = requireArg(missing);
        // Only exact "yes"/"no"; anything else is a pattern list of variable names to accept.
        const allow = arg === 'yes' || arg === 'no' ? null : arg;
        if (active && opts.permitUserEnvironment === undefined) {
          opts.permitUserEnvironment = arg !== 'no';
          if (allow !== null) opts.permitUserEnvironmentAllowlist = allow;
        }
        break;
      }
      case 'rekeyLimit':
        applyRekeyLimit(opts, active, keyword, requireArg(missing), args, fatal);
        break;
      case 'syslogFacility': {
        const arg = next();
        const facility = parseSyslogFacility(arg);
        if (facility === null) throw fatal(`unsupported log facility '${arg ?? '<NONE>'}'`);
        if (opts.syslogFacility === undefined) opts.syslogFacility = facility;
        break;
      }
      case 'logLevel': {
        const arg = next();
        const level = parseLogLevel(arg);
        if (level === null) throw fatal(`unsupported log level '${arg ?? '<NONE>'}'`);
        setFirst(option, level);
        break;
      }
      case 'logVerbose':
      case 'channelTimeout': {
        const key = option === 'logVerbose' ? 'logVerbose' : 'channelTimeouts';
        const fresh = (opts[key] ?? []).length === 0;
        let i = 0;
        for (let arg = next(); arg !== undefined; arg = next()) {
          if (option === 'logVerbose' && arg === '') return [...errors, `${where}: keyword ${keyword} empty argument`];
          if (arg.toLowerCase() === 'none') {
            if (i > 0 || args.length > 0) {
              return [...errors, `${where}: keyword ${keyword} "none" argument must appear alone.`];
            }
          } else if (option === 'channelTimeout' && !validChannelTimeout(arg)) {
            throw fatal(`invalid channel timeout ${arg}`);
          }
          i++;
          if (fresh && active) (opts[key] ??= []).push(arg);
        }
        break;
      }
      case 'allowUsers':
      case 'denyUsers':
        for (let arg = next(); arg !== undefined; arg = next()) {
          if (arg === '' || matchUserEntry(null, null, null, arg) === -1) {
            throw fatal(`invalid ${keyword} pattern: "${arg}"`);
          }
          if (active) (opts[option] ??= []).push(arg);
        }
        break;
      case 'allowGroups':
      case 'denyGroups':
        for (let arg = next(); arg !== undefined; arg = next()) {
          if (arg === '') throw fatal(`empty ${keyword} pattern`);
          if (active) (opts[option] ??= []).push(arg);
        }
        break;
      case 'subsystem': {
        const subsystems = (opts.subsystems ??= []);
        if (subsystems.length >= MAX_SUBSYSTEMS) throw fatal('too many subsystems defined.');
        const name = requireArg(missing);
        if (!active) {
          next();
          break;
        }
        if (subsystems.some((s) => s.name === name)) throw fatal(`Subsystem '${name}' already defined.`);
        const command = requireArg('Missing subsystem command.');
        const commandLine = [command, ...args.splice(0)].join(' ');
        subsystems.push({ name, command, commandLine });
        break;
      }
      case 'maxStartups': {
        const arg = requireArg(missing);
        // sscanf("%d:%d:%d"): the count of leading integers decides the form; the last MaxStartups wins.
        const m = /^\s*([+-]?\d+)(?::\s*([+-]?\d+)(?::\s*([+-]?\d+))?)?/.exec(arg);
        const n = m ? (m[3] !== undefined ? 3 : m[2] !== undefined ? 2 : 1) : 0;
        const invalid = (): SshdConfigError => fatal(`Invalid ${keyword} spec.`);
        if (!m || n === 2) throw invalid();
        const begin = Number(m[1]);
        const rate = n === 3 ? Number(m[2]) : (opts.maxStartups?.rate ?? 30);
        const full = n === 3 ? Number(m[3]) : begin;
        if (n === 3 && (begin > full || rate > 100 || rate < 1)) throw invalid();
        if (full <= 0 || begin <= 0) throw invalid();
        opts.maxStartups = { begin, rate, full };
        break;
      }
      case 'perSourceNetBlockSize': {
        const arg = requireArg(missing);
        const m = /^\s*([+-]?\d+)(?::\s*([+-]?\d+))?/.exec(arg);
        const v4 = m ? Number(m[1]) : -1;
        const v6 = m && m[2] !== undefined ? Number(m[2]) : 0;
        if (!m || v4 < 0 || v4 > 32 || v6 < 0 || v6 > 128) throw fatal(`Invalid ${keyword} spec.`);
        if (active) opts.perSourceNetBlockSize = { ipv4: v4, ipv6: v6 };
        break;
      }
      case 'perSourceMaxStartups': {
        const arg = requireArg(missing);
        let value: number | null = null;
        if (arg !== 'none') {
          const v = parseNonNegativeInt(arg);
          if (typeof v === 'string') throw fatal(`${keyword} integer value ${v}.`);
          value = v;
        }
        if (active) opts.perSourceMaxStartups = value;
        break;
      }
      case 'authorizedKeysFile': {
        const fresh = (opts.authorizedKeysFiles ?? []).length === 0;
        for (let arg = next(); arg !== undefined; arg = next()) {
          if (arg === '') return [...errors, `${where}: keyword ${keyword} empty argument`];
          if (active && fresh) (opts.authorizedKeysFiles ??= []).push(expandTilde(arg));
        }
        break;
      }
      case 'authorizedPrincipalsFile':
        setFirst(option, expandTilde(requireArg(missing)));
        break;
      case 'acceptEnv':
        for (let arg = next(); arg !== undefined; arg = next()) {
          if (arg === '' || arg.includes('=')) throw fatal('Invalid environment name.');
          if (active) (opts.acceptEnv ??= []).push(arg);
        }
        break;
      case 'setEnv': {
        const fresh = (opts.setEnv ?? []).length === 0;
        for (let arg = next(); arg !== undefined; arg = next()) {
          if (arg === '' || !arg.includes('=')) throw fatal('Invalid environment.');
          if (!active || !fresh) continue;
          const name = arg.slice(0, arg.indexOf('='));
          const list = (opts.setEnv ??= []);
          if (list.some((e) => e.slice(0, e.indexOf('=')) === name)) continue; // first definition wins
          list.push(arg);
        }
        break;
      }
      case 'permitTunnel': {
        const arg = requireArg(missing);
        const mode = TUNNEL.find((t) => t === arg);
        if (mode === undefined) throw fatal(`bad ${keyword} argument ${arg}`);
        setFirst(option, mode);
        break;
      }
      case 'include':
        if (commandLine) throw new SshdConfigError(file, lineNo, ['Include directive not supported as a command-line option']);
        return applyInclude(state, args.splice(0), file, lineNo, flags, depth, keyword, errors);
      case 'match':
        if (commandLine) throw new SshdConfigError(file, lineNo, ['Match directive not supported as a command-line option']);
        try {
          const matched = evaluateMatchLine(rest, file, lineNo, flags.neverMatch ? null : state.connection);
          state.active = flags.neverMatch ? false : matched;
        } catch (e) {
          if (e instanceof SshdConfigError && errors.length > 0) {
            throw new SshdConfigError(e.file, e.line, [...errors, ...e.sshdLines]);
          }
          throw e;
        }
        flags.matchOnly = false;
        args.length = 0;
        break;
      case 'permitOpen':
      case 'permitListen':
        applyPermitOpen(opts, option, active, keyword, requireArg(missing), args, fatal);
        break;
      case 'forceCommand':
        setFirst(option, rest);
        args.length = 0;
        break;
      case 'versionAddendum':
        if (rest.includes('\r')) throw fatal(`Invalid ${keyword} argument`);
        setFirst(option, rest.toLowerCase() === 'none' ? '' : rest);
        args.length = 0;
        break;
      case 'chrootDirectory':
        setFirst(option, requireArg(missing));
        break;
      case 'securityKeyProvider': {
        const arg = requireArg(missing);
        setFirst(option, arg.toLowerCase() === 'internal' ? arg : absolutePath(arg, state.cwd));
        break;
      }
      case 'ipQoS': {
        const first = requireArg(missing);
        const interactive = parseIpQos(first);
        if (interactive === null) throw fatal(`Bad ${keyword} value: ${first}`);
        const second = next();
        const bulk = second === undefined ? interactive : parseIpQos(second);
        if (bulk === null) throw fatal(`Bad ${keyword} value: ${second}`);
        if (active) opts.ipQoS = { interactive, bulk };
        break;
      }
      case 'authorizedKeysCommand':
      case 'authorizedPrincipalsCommand':
        if (!rest.startsWith('/') && rest.toLowerCase() !== 'none') throw fatal(`${keyword} must be an absolute path`);
        // sshd tests AuthorizedKeysCommand's slot for both keywords, so a later principals command replaces
        // an earlier one and any is ignored once AuthorizedKeysCommand is set; reproduced for identical -T.
        if (active && opts.authorizedKeysCommand === undefined) o[option] = rest;
        args.length = 0;
        break;
      case 'authorizedKeysCommandUser':
      case 'authorizedPrincipalsCommandUser':
        setFirst(option, requireArg(`missing ${keyword} argument.`));
        break;
      case 'authenticationMethods':
        applyAuthenticationMethods(opts, active, keyword, args, fatal, errors);
        break;
      case 'streamLocalBindMask': {
        const arg = requireArg(missing);
        const m = /^\s*([+-]?)([0-7]+)/.exec(arg);
        const value = m ? (m[1] === '-' ? -1 : 1) * parseInt(m[2] as string, 8) : NaN;
        if (!m || value < 0 || value > 0o777) throw fatal(`Invalid ${keyword}.`);
        if (active) opts.streamLocalBindMask = value;
        break;
      }
      case 'fingerprintHash': {
        const arg = requireArg(missing);
        const digest = DIGESTS.find((d) => d === arg.toUpperCase());
        if (digest === undefined) throw fatal(`Invalid ${keyword} algorithm "${arg}".`);
        if (active) opts.fingerprintHash = digest;
        break;
      }
      case 'rdomain':
        throw fatal('setting RDomain not supported on this platform.');
      case 'unusedConnectionTimeout':
        if (args[0]?.toLowerCase() === 'none') {
          next();
          if (active) opts.unusedConnectionTimeout = 0;
          break;
        }
        setFirst(option, parseTime(requireArg('missing time value.'), fatal));
        break;
      case 'deprecated':
      case 'unsupported':
        state.warnings.push(`${where}: ${option === 'deprecated' ? 'Deprecated' : 'Unsupported'} option ${keyword}`);
        args.length = 0;
        break;
      case 'ignore':
        args.length = 0;
        break;
      default:
        throw fatal(`Missing handler for opcode ${keyword}`);
    }
  }
  if (args.length > 0) return [...errors, `${where}: keyword ${keyword} extra arguments at end of line`];
  return errors.length > 0 ? errors : null;
}

function parseTime(arg: string, fatal: (m: string) => SshdConfigError): number {
  const v = parseTimeSpec(arg);
  if (v === null) throw fatal('invalid time value.');
  return v;
}

function validChannelTimeout(arg: string): boolean {
  const eq = arg.indexOf('=');
  return eq > 0 && parseTimeSpec(arg.slice(eq + 1)) !== null;
}

function applyListenAddress(
  opts: SshdOptionSet,
  arg: string,
  args: string[],
  fatal: (m: string) => SshdConfigError,
  errors: string[],
): void {
  let host: string;
  let port = 0;
  const firstColon = arg.indexOf(':');
  if (!arg.includes('[') && firstColon >= 0 && arg.indexOf(':', firstColon + 1) >= 0) {
    host = arg; // a bare IPv6 address: no brackets, two or more colons
  } else {
    // hpdelim: "[v6]:port", "host:port" or "host"; a '/' separator is refused here.
    let end: number;
    if (arg.startsWith('[')) {
      const close = arg.indexOf(']');
      if (close < 0) throw fatal('bad address:port usage');
      end = close + 1;
    } else {
      const m = /[:/]/.exec(arg);
      end = m ? m.index : arg.length;
    }
    const delim = arg[end];
    if (delim !== undefined && delim !== ':') throw fatal('bad address:port usage');
    host = arg.slice(0, end);
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    if (delim === ':') {
      const p = parsePort(arg.slice(end + 1));
      if (p === null || p <= 0) throw fatal('bad port number');
      port = p;
    }
  }
  const extra = args.shift();
  if (extra !== undefined) {
    if (extra !== 'rdomain' || args.shift() === undefined) throw fatal('bad ListenAddress syntax');
    errors.push('Routing domains are not supported on this platform');
    throw fatal('bad routing domain');
  }
  (opts.queuedListenAddresses ??= []).push({ host, port, rdomain: null });
}

function applyRekeyLimit(
  opts: SshdOptionSet,
  active: boolean,
  keyword: string,
  arg: string,
  args: string[],
  fatal: (m: string) => SshdConfigError,
): void {
  let bytes = 0;
  if (arg !== 'default') {
    const scaled = parseScaledBytes(arg);
    if ('error' in scaled) throw fatal(`Bad ${keyword} number '${arg}': ${scaled.error}`);
    if (scaled.value !== 0 && scaled.value < 16) throw fatal(`${keyword} too small`);
    bytes = scaled.value;
  }
  // The byte limit and the interval are separate options in sshd, each first-value-wins (-1 = unset).
  const current = (opts.rekeyLimit ??= { bytes: -1, intervalSeconds: -1 });
  if (active && current.bytes === -1) current.bytes = bytes;
  if (args.length === 0) return;
  if (args[0] === 'none') {
    args.shift();
    return;
  }
  const interval = args.shift() as string;
  if (interval === '') throw fatal('missing time value.');
  const seconds = parseTimeSpec(interval);
  if (seconds === null) throw fatal('invalid time value.');
  if (active && current.intervalSeconds === -1) current.intervalSeconds = seconds;
}

function applyPermitOpen(
  opts: SshdOptionSet,
  option: 'permitOpen' | 'permitListen',
  active: boolean,
  keyword: string,
  first: string,
  args: string[],
  fatal: (m: string) => SshdConfigError,
): void {
  const fresh = (opts[option] ?? []).length === 0;
  if (first === 'any' || first === 'none') {
    if (active && fresh) opts[option] = [first];
    return;
  }
  for (let arg: string | undefined = first; arg !== undefined && arg !== ''; arg = args.shift()) {
    let entry = arg;
    let portPart: string | null;
    if (option === 'permitListen' && !arg.includes(':')) {
      entry = `*:${arg}`; // a bare port listens on any address
      portPart = arg;
    } else {
      let end: number;
      if (arg.startsWith('[')) {
        const close = arg.indexOf(']');
        if (close < 0) throw fatal(`${keyword} missing host`);
        end = close + 1;
      } else {
        const m = /[:/]/.exec(arg);
        end = m ? m.index : arg.length;
      }
      const delim = arg[end];
      if (delim === '/' || (delim !== undefined && delim !== ':')) throw fatal(`${keyword} missing host`);
      portPart = delim === ':' ? arg.slice(end + 1) : null;
    }
    const port = portPart === null ? null : portPart === '*' ? 0 : parsePort(portPart);
    if (port === null || (portPart !== '*' && port <= 0)) throw fatal(`${keyword} bad port number`);
    if (active && fresh) (opts[option] ??= []).push(entry);
  }
}

function applyAuthenticationMethods(
  opts: SshdOptionSet,
  active: boolean,
  keyword: string,
  args: string[],
  fatal: (m: string) => SshdConfigError,
  errors: string[],
): void {
  const fresh = (opts.authenticationMethods ?? []).length === 0;
  let sawAny = false;
  let parsedAny = false;
  for (let arg = args.shift(); arg !== undefined; arg = args.shift()) {
    if (arg === 'any') {
      if ((opts.authenticationMethods ?? []).length > 0) throw fatal(`"any" must appear alone in ${keyword}`);
      sawAny = true;
    } else if (sawAny) {
      throw fatal(`"any" must appear alone in ${keyword}`);
    } else {
      const problem = methodListProblem(arg);
      if (problem !== null) {
        errors.push(problem);
        throw fatal(`invalid ${keyword} method list.`);
      }
    }
    parsedAny = true;
    if (fresh && active) (opts.authenticationMethods ??= []).push(arg);
  }
  if (!parsedAny) throw fatal(`no ${keyword} specified`);
}

/** auth2_methods_valid without the "enabled" check: every method of the list must exist. */
export function methodListProblem(list: string): string | null {
  if (list === '') return 'empty authentication method list';
  for (const entry of list.split(',')) {
    const method = entry.split(':')[0] as string;
    if (!AUTH_METHODS.includes(method)) return `Unknown authentication method "${method}" in list`;
  }
  return null;
}

/**
 * Reads an Include line's patterns (relative ones under sshDir) and parses every file they name, reusing
 * files read earlier for the same pattern as sshd does.
 */
function applyInclude(
  state: PassState,
  patterns: string[],
  file: string,
  lineNo: number,
  flags: FileFlags,
  depth: number,
  keyword: string,
  errors: string[],
): string[] | null {
  let count = 0;
  for (const raw of patterns) {
    if (raw === '') return [...errors, `${file} line ${lineNo}: keyword ${keyword} empty argument`];
    count++;
    const pattern = raw.startsWith('/') || raw.startsWith('~') ? raw : `${state.sshDir}/${raw}`;
    // An included file must not change the including file's Match state.
    const outerActive = state.active;
    const childFlags = (): FileFlags =>
      flags.matchOnly ? { matchOnly: true, neverMatch: false } : { matchOnly: false, neverMatch: !outerActive };
    let cached = state.includes.get(pattern);
    if (!cached) {
      cached = expandIncludePattern(pattern).map((path) => ({ path, text: state.readFile(path) }));
      if (cached.length === 0) cached = [{ path: null, text: '' }];
      state.includes.set(pattern, cached);
    }
    for (const included of cached) {
      if (included.path === null) continue;
      parseConfigText(state, included.path, included.text, childFlags(), depth + 1);
      state.active = outerActive;
    }
  }
  if (count === 0) throw new SshdConfigError(file, lineNo, [...errors, `${file} line ${lineNo}: ${keyword} missing filename argument`]);
  return errors.length > 0 ? errors : null;
}

/**
 * One file's lines through applyLine (servconf.c parse_server_config_depth). Recoverable errors are
 * collected and reported together at the end of the file, as sshd does.
 */
export function parseConfigText(state: PassState, file: string, text: string, flags: FileFlags, depth: number): void {
  if (depth < 0 || depth > MAX_INCLUDE_DEPTH) {
    throw new SshdConfigError(file, 0, ['Too many recursive configuration includes']);
  }
  const problems: SshdConfigError[] = [];
  const lines = text.split('\n');
  // A final newline does not start another line.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, index) => {
    try {
      const result = applyLine(state, line, file, index + 1, flags, depth, false);
      if (result && result.length > 0) problems.push(new SshdConfigError(file, index + 1, result));
    } catch (e) {
      if (e instanceof SshdConfigError && problems.length > 0) {
        throw new SshdConfigError(e.file, e.line, [...problems.flatMap((p) => p.sshdLines), ...e.sshdLines]);
      }
      throw e;
    }
  });
  if (problems.length > 0) throw new SshdConfigErrors(file, problems);
}
