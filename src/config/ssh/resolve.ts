/**
 * Resolving the client configuration for one destination, as `ssh` does before connecting (ssh.c main()):
 * command-line flags and `-o` options first, then `-F file` (or ~/.ssh/config and the system file), a
 * second "final" pass when a `Match final` asks for one, defaults, HostName/%h, and the token expansions
 * ssh performs before it would print `-G`. Hostname canonicalisation (DNS) is not performed.
 */
import { hostname as machineHostname, userInfo } from 'node:os';
import { ipFamily } from '../../match/addresses.ts';
import { isSafeHostname, isSafeRemoteUser, parseSshUri, parseUserHostPort, splitHostNameAlternates } from './destination.ts';
import { formatDashG } from './dump.ts';
import { ConfigError, FatalProblem, type ConfigWarning } from './errors.ts';
import { expandString, expandTilde, ExpansionError } from './expand.ts';
import { fillDefaults, type AssembledAlgorithms } from './defaults.ts';
import { applyFlags } from './flags.ts';
import { PORT_STREAMLOCAL, type Forward } from './forward.ts';
import { asciiLower } from './lexer.ts';
import { createOptionState, type OptionState } from './options.ts';
import { processCommandLineOption, readConfigFile, shownWarnings, type ReadPass, type ReaderEnvironment } from './reader.ts';
import { unimplementedIn } from './support.ts';
import { defaultClientTokens, proxyCommandTokens, type ConnectionInfo } from './tokens.ts';
import {
  ADDRESS_FAMILY_CHOICES, ESCAPE_NONE, PUBKEY_AUTH, REQUEST_TTY, SESSION_TYPE, SESSION_TYPE_CHOICES, STRICT_HOSTKEY,
  YES_NO_ASK, YES_NO_ASK_CONFIRM, LOG_LEVEL, choiceName, logLevelName,
} from './values.ts';

export type { CommandLineItem, ForwardSpec, JumpHop, ResolvedSshConfig, ResolveRequest, StrictHostKeyChecking } from './resolved-config.ts';
import type { ForwardSpec, JumpHop, ResolvedSshConfig, ResolveRequest } from './resolved-config.ts';

const DEFAULT_SYSTEM_CONFIG = '/etc/ssh/ssh_config';

function forwardSpec(f: Forward): ForwardSpec {
  const listen = f.listenPort === PORT_STREAMLOCAL ? { path: f.listenPath! } : { host: f.listenHost, port: f.listenPort };
  if (f.connectHost === 'socks') return { listen };
  const connect = f.connectPort === PORT_STREAMLOCAL ? { path: f.connectPath! } : { host: f.connectHost!, port: f.connectPort };
  return { listen, connect };
}

/** Canonical text of a numeric address (ssh prints addresses as getnameinfo() gives them). */
function canonicalAddress(host: string): string | undefined {
  const kind = ipFamily(host);
  if (kind === 4) return host;
  if (kind === 6) return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  return undefined;
}

function wrapFatal<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof FatalProblem) throw new ConfigError(err.message, 'command-line', undefined);
    if (err instanceof ExpansionError) throw new ConfigError(err.message, 'configuration', undefined);
    throw err;
  }
}

/** Reads the configuration sources (one pass). */
function readSources(pass: ReadPass, req: ResolveRequest, env: ReaderEnvironment): void {
  if (req.configFile !== undefined) {
    if (req.configFile.toLowerCase() === 'none') return;
    const found = readConfigFile(req.configFile, { userConfig: true, checkPermissions: false, neverMatch: false }, pass, env);
    if (!found) {
      throw new ConfigError(`Can't open user config file ${req.configFile}: No such file or directory`, req.configFile, undefined);
    }
    return;
  }
  readConfigFile(`${env.homeDir}/.ssh/config`, { userConfig: true, checkPermissions: true, neverMatch: false }, pass, env);
  readConfigFile(req.systemConfigFile ?? DEFAULT_SYSTEM_CONFIG, { userConfig: false, checkPermissions: false, neverMatch: false }, pass, env);
}

/**
 * Resolves the configuration for a destination. Throws ConfigError (with OpenSSH's message) where ssh would
 * refuse to run.
 */
export async function resolveSshConfig(req: ResolveRequest): Promise<ResolvedSshConfig> {
  return resolveSshConfigSync(req);
}

/** Synchronous form of resolveSshConfig (Match exec runs commands synchronously, as ssh does). */
export function resolveSshConfigSync(req: ResolveRequest): ResolvedSshConfig {
  const info = userInfo();
  const env: ReaderEnvironment = {
    homeDir: req.homeDir ?? info.homedir,
    localUser: req.localUser ?? info.username,
    uid: req.uid ?? process.getuid?.() ?? info.uid,
    thisHost: req.thisHost ?? machineHostname(),
    systemDir: req.systemConfigDir ?? '/etc/ssh',
    env: req.env ?? process.env,
    execTimeoutMs: req.matchExecTimeoutMs ?? 30_000,
  };
  // Names from the command line may end up in shell commands (ProxyCommand, Match exec): refuse metacharacters.
  if (!isSafeHostname(req.host)) throw new ConfigError('hostname contains invalid characters', 'command-line', undefined);
  if (req.user !== undefined && !isSafeRemoteUser(req.user)) {
    throw new ConfigError('remote username contains invalid characters', 'command-line', undefined);
  }
  const state = createOptionState();
  const printed: string[] = [];
  const warnings: ConfigWarning[] = [];

  const originalHost = req.host;
  const firstPass: ReadPass = { state, host: originalHost, originalHost, finalPass: false, wantsFinalPass: false, printed, warnings, allowUnimplemented: req.allowUnimplemented };
  for (const item of req.commandLine ?? []) {
    if ('option' in item) processCommandLineOption(item.option, firstPass, env);
    else if ('flags' in item) wrapFatal(() => applyFlags(state, item.flags, env.env));
    else {
      const { user, port } = item.destination;
      if (user !== undefined && !isSafeRemoteUser(user)) {
        throw new ConfigError('remote username contains invalid characters', 'command-line', undefined);
      }
      if (port !== undefined) state.port ??= port;
      if (user !== undefined) state.user ??= user;
    }
  }
  wrapFatal(() => applyFlags(state, req.flags ?? {}, env.env));
  if (req.port !== undefined) state.port ??= req.port;
  if (req.user !== undefined) state.user ??= req.user;
  state.hostArg = originalHost;

  for (const option of req.commandLineOptions ?? []) processCommandLineOption(option, firstPass, env);
  // Flags (-w, -I, -K, ...) set options without a line; refuse what they ask for that Tether lacks.
  const fromFlags = req.allowUnimplemented ? [] : unimplementedIn(state);
  if (fromFlags.length > 0) throw new ConfigError(`Unsupported option "${fromFlags[0]}"`, 'command-line', undefined);
  // ssh logs while reading its files at the level the command line chose (-q, -v, -o LogLevel).
  const readingLevel = state.logLevel ?? LOG_LEVEL.info;
  readSources(firstPass, req, env);

  // HostName replaces the destination now; %h in it means the destination as typed. A comma-separated
  // HostName lists alternates (Tether's failover): each is normalised alike, the first is the host (%h, Match).
  let expanded = originalHost;
  if (state.hostname !== undefined) {
    expanded = wrapFatal(() => expandString(state.hostname!, { tokens: { h: originalHost } }));
    state.hostname = expanded;
  }
  const hostnameAlternates = splitHostNameAlternates(expanded).map((name) => canonicalAddress(name) ?? asciiLower(name));
  const host = hostnameAlternates[0]!;

  // `Match final` (or canonicalisation) asks for a second pass with the final host name.
  if (firstPass.wantsFinalPass || (state.canonicalizeHostname ?? 0) !== 0) {
    state.hostname = host;
    const finalPass: ReadPass = { state, host, originalHost, finalPass: true, wantsFinalPass: false, printed, warnings, allowUnimplemented: req.allowUnimplemented };
    readSources(finalPass, req, env);
  }

  const hostKeyAlgorithmsConfigured = state.hostKeyAlgorithms !== undefined;
  const algorithms = fillDefaults(state);
  state.user ??= env.localUser;
  if (state.port === 0) state.port = 22;
  if (state.hostKeyAlias !== undefined) state.hostKeyAlias = asciiLower(state.hostKeyAlias);
  checkConsistency(state, req);

  const connection: ConnectionInfo = {
    remoteHost: host,
    hostArg: originalHost,
    port: state.port!,
    remoteUser: state.user,
    localUser: env.localUser,
    homeDir: env.homeDir,
    uid: env.uid,
    thisHost: env.thisHost,
    hostKeyAlias: state.hostKeyAlias,
  };
  expandForDashG(state, connection, env);

  const resolved = buildResolved(state, algorithms, hostKeyAlgorithmsConfigured, connection, env, warnings);
  resolved.hostnameAlternates = hostnameAlternates;
  resolved.configMessages = shownWarnings(warnings, readingLevel);
  return resolved;
}

function checkConsistency(s: OptionState, req: ResolveRequest): void {
  const hasCommand = (req.command?.length ?? 0) > 0;
  if (s.updateHostKeys === 2) {
    // UpdateHostKeys=ask needs an interactive session to ask in.
    if ((s.controlPersist ?? 0) !== 0 && s.controlPath !== undefined) s.updateHostKeys = 0;
    else if (hasCommand || s.remoteCommand !== undefined || s.requestTTY === REQUEST_TTY.no) s.updateHostKeys = 0;
    else if ((s.logLevel ?? 3) < 3) s.updateHostKeys = 0;
  }
  if ((s.connectionAttempts ?? 1) <= 0) throw new ConfigError('Invalid number of ConnectionAttempts', 'configuration', undefined);
  if (hasCommand && s.remoteCommand !== undefined) {
    throw new ConfigError('Cannot execute command-line and remote command.', 'configuration', undefined);
  }
  if (s.forkAfterAuthentication === 1 && !hasCommand && s.remoteCommand === undefined && s.sessionType !== SESSION_TYPE.none) {
    throw new ConfigError('Cannot fork into background without a command to execute.', 'configuration', undefined);
  }
}

/** The expansions ssh applies before `-G` prints (and before connecting). */
function expandForDashG(s: OptionState, c: ConnectionInfo, env: ReaderEnvironment): void {
  const tokens = defaultClientTokens(c);
  const percent = (v: string): string => wrapFatal(() => expandString(v, { tokens }));
  const pathLike = (v: string): string => wrapFatal(() => expandString(expandTilde(v, env.homeDir), { tokens, env: env.env }));
  if (s.remoteCommand !== undefined) s.remoteCommand = percent(s.remoteCommand);
  if (s.controlPath !== undefined) s.controlPath = pathLike(s.controlPath);
  if (s.identityAgent !== undefined) s.identityAgent = pathLike(s.identityAgent);
  if (s.forwardAgentSockPath !== undefined) s.forwardAgentSockPath = pathLike(s.forwardAgentSockPath);
  if (s.globalKnownHostsFiles[0]?.toLowerCase() === 'none') s.globalKnownHostsFiles = [];
  if (s.userKnownHostsFiles[0]?.toLowerCase() === 'none') s.userKnownHostsFiles = [];
  s.userKnownHostsFiles = s.userKnownHostsFiles.map(pathLike);
  for (const f of [...s.localForwards, ...s.remoteForwards]) {
    if (f.listenPath !== undefined) f.listenPath = percent(f.listenPath);
    if (f.connectPath !== undefined) f.connectPath = percent(f.connectPath);
  }
}

/** Splits `ssh -G` text into keyword → values (one entry per printed line). */
export function parseDashG(text: string): Record<string, string[]> {
  const raw: Record<string, string[]> = {};
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const space = line.indexOf(' ');
    const key = space < 0 ? line : line.slice(0, space);
    (raw[key.toLowerCase()] ??= []).push(space < 0 ? '' : line.slice(space + 1));
  }
  return raw;
}

function jumpHops(s: OptionState): JumpHop[] | undefined {
  if (s.jumpHost === undefined) return undefined;
  const hops: JumpHop[] = [];
  for (const hop of s.jumpExtra?.split(',') ?? []) {
    const parsed = parseHop(hop);
    if (parsed !== undefined) hops.push(parsed);
  }
  hops.push({ user: s.jumpUser, host: s.jumpHost, port: (s.jumpPort ?? -1) > 0 ? s.jumpPort : undefined });
  return hops;
}


function parseHop(hop: string): JumpHop | undefined {
  const uri = parseSshUri(hop);
  const p = uri === 'not-uri' ? parseUserHostPort(hop) : uri;
  if (p === undefined) return undefined;
  return { user: p.user, host: p.host, port: p.port > 0 ? p.port : undefined };
}

const PUBKEY_NAMES = { [PUBKEY_AUTH.no]: 'no', [PUBKEY_AUTH.unbound]: 'unbound', [PUBKEY_AUTH.hostBound]: 'host-bound', [PUBKEY_AUTH.all]: 'yes' } as const;
const STRICT_NAMES = { [STRICT_HOSTKEY.off]: 'no', [STRICT_HOSTKEY.acceptNew]: 'accept-new', [STRICT_HOSTKEY.yes]: 'yes', [STRICT_HOSTKEY.ask]: 'ask' } as const;

function yesNoAsk(code: number | undefined): 'yes' | 'no' | 'ask' {
  const n = choiceName(code ?? 0, YES_NO_ASK);
  return n === 'true' ? 'yes' : n === 'false' ? 'no' : 'ask';
}

function buildResolved(
  s: OptionState, alg: AssembledAlgorithms, hostKeyAlgorithmsConfigured: boolean, c: ConnectionInfo,
  env: ReaderEnvironment, warnings: ConfigWarning[],
): ResolvedSshConfig {
  const tokens = defaultClientTokens(c);
  const expandPath = (p: string): string => wrapFatal(() => expandString(expandTilde(p, env.homeDir), { tokens, env: env.env }));
  const bool = (v: number | undefined): boolean => v === 1;
  const addKeys = choiceName(s.addKeysToAgent ?? 0, YES_NO_ASK_CONFIRM);
  const setEnv: Record<string, string> = {};
  for (const e of s.setEnv) setEnv[e.slice(0, e.indexOf('='))] = e.slice(e.indexOf('=') + 1);
  const resolved: ResolvedSshConfig = {
    host: c.hostArg,
    hostname: c.remoteHost,
    hostnameAlternates: [c.remoteHost],
    port: c.port,
    user: c.remoteUser,
    identityFiles: s.identityFiles.map((e) => expandPath(e.path)),
    certificateFiles: s.certificateFiles.map((e) => expandPath(e.path)),
    identitiesOnly: bool(s.identitiesOnly),
    identityAgent: s.identityAgent,
    addKeysToAgent: {
      mode: addKeys === 'true' ? 'yes' : addKeys === 'false' ? 'no' : (addKeys as 'ask' | 'confirm'),
      lifetimeSeconds: (s.addKeysToAgentLifespan ?? 0) > 0 ? s.addKeysToAgentLifespan : undefined,
    },
    forwardAgent: s.forwardAgentSockPath ?? bool(s.forwardAgent),
    proxyCommand: s.jumpHost === undefined && s.proxyCommand !== undefined
      ? wrapFatal(() => expandString(s.proxyCommand!, { tokens: proxyCommandTokens(c) }))
      : undefined,
    proxyJump: jumpHops(s),
    proxyUseFdpass: s.jumpHost === undefined && bool(s.proxyUseFdpass),
    localForwards: s.localForwards.filter((f) => f.connectHost !== 'socks').map(forwardSpec),
    remoteForwards: s.remoteForwards.map(forwardSpec),
    permitRemoteOpen: [...s.permitRemoteOpen],
    dynamicForwards: s.localForwards.filter((f) => f.connectHost === 'socks').map(forwardSpec),
    stdioForward: s.stdioForwardHost === undefined ? undefined : { host: s.stdioForwardHost, port: s.stdioForwardPort ?? 0 },
    serverAliveInterval: s.serverAliveInterval ?? 0,
    serverAliveCountMax: s.serverAliveCountMax ?? 3,
    tcpKeepAlive: bool(s.tcpKeepAlive),
    connectTimeout: s.connectTimeout === undefined || s.connectTimeout < 0 ? undefined : s.connectTimeout,
    connectionAttempts: s.connectionAttempts ?? 1,
    strictHostKeyChecking: STRICT_NAMES[(s.strictHostKeyChecking ?? 3) as 0 | 1 | 2 | 3],
    userKnownHostsFiles: [...s.userKnownHostsFiles],
    globalKnownHostsFiles: s.globalKnownHostsFiles.map((p) => expandPath(p)),
    hashKnownHosts: bool(s.hashKnownHosts),
    hostKeyAlias: s.hostKeyAlias,
    checkHostIP: bool(s.checkHostIP),
    updateHostKeys: yesNoAsk(s.updateHostKeys),
    knownHostsCommand: s.knownHostsCommand,
    revokedHostKeys: s.revokedHostKeys === undefined ? undefined : expandPath(s.revokedHostKeys),
    verifyHostKeyDNS: yesNoAsk(s.verifyHostKeyDNS),
    ciphers: alg.ciphers,
    macs: alg.macs,
    kexAlgorithms: alg.kexAlgorithms,
    hostKeyAlgorithms: alg.hostKeyAlgorithms,
    hostKeyAlgorithmsConfigured,
    pubkeyAcceptedAlgorithms: alg.pubkeyAcceptedAlgorithms,
    hostbasedAcceptedAlgorithms: alg.hostbasedAcceptedAlgorithms,
    caSignatureAlgorithms: alg.caSignatureAlgorithms,
    preferredAuthentications: s.preferredAuthentications?.split(','),
    passwordAuthentication: bool(s.passwordAuthentication),
    pubkeyAuthentication: PUBKEY_NAMES[(s.pubkeyAuthentication ?? 3) as 0 | 1 | 2 | 3],
    kbdInteractiveAuthentication: bool(s.kbdInteractiveAuthentication),
    kbdInteractiveDevices: s.kbdInteractiveDevices,
    hostbasedAuthentication: bool(s.hostbasedAuthentication),
    gssapiAuthentication: bool(s.gssapiAuthentication),
    gssapiDelegateCredentials: bool(s.gssapiDelegateCredentials),
    gssapiTrustDns: bool(s.gssapiTrustDns),
    gssapiServerIdentity: s.gssapiServerIdentity,
    numberOfPasswordPrompts: s.numberOfPasswordPrompts ?? 3,
    batchMode: bool(s.batchMode),
    compression: bool(s.compression),
    requestTTY: (['auto', 'no', 'yes', 'force'] as const)[s.requestTTY ?? 0]!,
    sessionType: choiceName(s.sessionType ?? 2, SESSION_TYPE_CHOICES) as 'none' | 'subsystem' | 'default',
    stdinNull: bool(s.stdinNull),
    forkAfterAuthentication: bool(s.forkAfterAuthentication),
    remoteCommand: s.remoteCommand,
    localCommand: s.localCommand,
    permitLocalCommand: bool(s.permitLocalCommand),
    sendEnv: [...s.sendEnv],
    setEnv,
    logLevel: logLevelName(s.logLevel ?? 3) === 'SILENT' ? 'QUIET' : logLevelName(s.logLevel ?? 3),
    logVerbose: [...s.logVerbose],
    exitOnForwardFailure: bool(s.exitOnForwardFailure),
    clearAllForwardings: bool(s.clearAllForwardings),
    gatewayPorts: bool(s.gatewayPorts),
    forwardX11: bool(s.forwardX11),
    forwardX11Trusted: bool(s.forwardX11Trusted),
    forwardX11Timeout: s.forwardX11Timeout ?? 1200,
    escapeChar: s.escapeChar === ESCAPE_NONE ? undefined : String.fromCharCode(s.escapeChar ?? 0x7e),
    controlMaster: (['no', 'yes', 'auto', 'ask', 'autoask'] as const)[s.controlMaster ?? 0]!,
    controlPath: s.controlPath,
    controlPersist: s.controlPersist === 0 ? false : (s.controlPersistTimeout ?? 0) > 0 ? s.controlPersistTimeout! : true,
    addressFamily: choiceName(s.addressFamily ?? 0, ADDRESS_FAMILY_CHOICES) as 'any' | 'inet' | 'inet6',
    bindAddress: s.bindAddress,
    bindInterface: s.bindInterface,
    rekeyLimit: { bytes: s.rekeyLimit ?? 0, seconds: s.rekeyInterval ?? 0 },
    requiredRSASize: s.requiredRSASize ?? 1024,
    fingerprintHash: s.fingerprintHash ?? 'SHA256',
    visualHostKey: bool(s.visualHostKey),
    streamLocalBindMask: s.streamLocalBindMask ?? 0o177,
    streamLocalBindUnlink: bool(s.streamLocalBindUnlink),
    ipqos: { interactive: s.ipqosInteractive ?? 0x10, bulk: s.ipqosBulk ?? 0x08 },
    enableEscapeCommandline: bool(s.enableEscapeCommandline),
    session: s.session,
    sessionResume: s.sessionResume === undefined ? true : bool(s.sessionResume),
    sessionResumeTimeout: s.sessionResumeTimeout ?? 600,
    options: s,
    raw: {}, // replaced by a getter below
    warnings,
    connection: c,
  };
  // `raw` is what `ssh -G` would print, parsed back: formatting every keyword costs milliseconds that a plain
  // connection never uses (issue 17: start-up), so it is worked out on first read, from the values then.
  let raw: Record<string, string[]> | undefined;
  Object.defineProperty(resolved, 'raw', { enumerable: true, get: () => (raw ??= parseDashG(formatDashG(resolved))) });
  return resolved;
}
