// The sshd_config handler table: for every option a keyword sets (keywords.ts), the handler that reads its
// arguments. Match and Include are structural and live in directives.ts. Whether Tether acts on each option
// is recorded in support.ts.
import { algorithmSpecValid, SUPPORTED, type AlgorithmFamily } from './algorithms.ts';
import {
  choice, filename, flag, integer, keyAlgorithms, time, timeValue, type DirectiveContext, type DirectiveHandler,
  type Multistate,
} from './directive-kit.ts';
import {
  acceptEnv, allowDenyGroups, allowDenyUsers, authenticationMethods, authorizedCommand, authorizedKeysFile,
  authorizedPrincipalsFile, commandUser, noneOrList, permitUserEnvironment, pubkeyAuthOptions, setEnv, subsystem,
} from './handlers-access.ts';
import {
  ipQoS, listenAddress, maxStartups, perSourceMaxStartups, perSourceNetBlockSize, perSourcePenalties,
  perSourcePenaltyExemptList, permitOpen, port, rekeyLimit,
} from './handlers-network.ts';
import type { OptionId } from './keywords.ts';
import { PERSISTENT_SESSION_HANDLERS } from './persistent-settings.ts';
import type { EffectiveSshdSettings } from './settings.ts';
import { absolutePath, parseLogLevel } from './values.ts';
import { parseDigest, parseOctalMask, parseSyslogFacility } from '../values.ts';

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
const GSS_KEX = [
  'gss-gex-sha1-', 'gss-group1-sha1-', 'gss-group14-sha1-', 'gss-group14-sha256-', 'gss-group16-sha512-',
  'gss-nistp256-sha256-', 'gss-curve25519-sha256-',
];

const missing = (ctx: DirectiveContext): string => `${ctx.keyword} missing argument.`;

/** HostKey and HostCertificate accumulate, in order. */
function pathList(key: 'hostKeys' | 'hostCertificates'): DirectiveHandler {
  return (ctx) => {
    const arg = ctx.requireArg('missing file name.');
    if (ctx.active) (ctx.opts[key] ??= []).push(absolutePath(arg, ctx.state.cwd));
  };
}

/** Ciphers, MACs and KexAlgorithms; these are global, so the first line sets them. */
function transportAlgorithms(ctx: DirectiveContext): void {
  const arg = ctx.requireArg(missing(ctx));
  const family: AlgorithmFamily = ctx.option === 'kexAlgorithms' ? 'kex' : (ctx.option as 'ciphers' | 'macs');
  if (!algorithmSpecValid(family, arg)) {
    if (ctx.option === 'ciphers') throw ctx.fatal(`Bad SSH2 cipher spec '${arg}'.`);
    if (ctx.option === 'macs') throw ctx.fatal(`Bad SSH2 mac spec '${arg}'.`);
    const body = /^[+^]/.test(arg) ? arg.slice(1) : arg;
    const unknown = body.split(',').find((n) => n !== '' && !SUPPORTED.kex.includes(n)) ?? body;
    ctx.errors.push(`Unsupported KEX algorithm "${unknown}"`);
    throw ctx.fatal(`Bad SSH2 KexAlgorithms '${arg}'.`);
  }
  if (ctx.o[ctx.option] === undefined) ctx.o[ctx.option] = arg;
}

function gssapiKexAlgorithms(ctx: DirectiveContext): void {
  const arg = ctx.requireArg(missing(ctx));
  const unknown = arg.split(',').find((n) => !GSS_KEX.includes(n));
  if (unknown !== undefined) {
    ctx.errors.push(`Unsupported KEX algorithm "${unknown}"`);
    throw ctx.fatal(`Bad GSSAPI KexAlgorithms '${arg}'.`);
  }
  if (ctx.o[ctx.option] === undefined) ctx.o[ctx.option] = arg;
}

function syslogFacility(ctx: DirectiveContext): void {
  const arg = ctx.next();
  const facility = parseSyslogFacility(arg);
  if (facility === undefined) throw ctx.fatal(`unsupported log facility '${arg ?? '<NONE>'}'`);
  // Set even inside a Match block that does not apply, as sshd does.
  ctx.opts.syslogFacility ??= facility;
}

function logLevel(ctx: DirectiveContext): void {
  const arg = ctx.next();
  const level = parseLogLevel(arg);
  if (level === null) throw ctx.fatal(`unsupported log level '${arg ?? '<NONE>'}'`);
  ctx.setFirst(ctx.option, level);
}

function permitTunnel(ctx: DirectiveContext): void {
  const arg = ctx.requireArg(missing(ctx));
  const mode = TUNNEL.find((t) => t === arg);
  if (mode === undefined) throw ctx.fatal(`bad ${ctx.keyword} argument ${arg}`);
  ctx.setFirst(ctx.option, mode);
}

/** ForceCommand and VersionAddendum take the raw rest of the line. */
function rawRest(ctx: DirectiveContext): void {
  if (ctx.option === 'versionAddendum') {
    if (ctx.rest.includes('\r')) throw ctx.fatal(`Invalid ${ctx.keyword} argument`);
    ctx.setFirst(ctx.option, ctx.rest.toLowerCase() === 'none' ? '' : ctx.rest);
  } else {
    ctx.setFirst(ctx.option, ctx.rest);
  }
  ctx.args.length = 0;
}

function streamLocalBindMask(ctx: DirectiveContext): void {
  const value = parseOctalMask(ctx.requireArg(missing(ctx)));
  if (value === undefined) throw ctx.fatal(`Invalid ${ctx.keyword}.`);
  if (ctx.active) ctx.opts.streamLocalBindMask = value;
}

function fingerprintHash(ctx: DirectiveContext): void {
  const arg = ctx.requireArg(missing(ctx));
  const digest = parseDigest(arg);
  if (digest === undefined) throw ctx.fatal(`Invalid ${ctx.keyword} algorithm "${arg}".`);
  if (ctx.active) ctx.opts.fingerprintHash = digest;
}

function unusedConnectionTimeout(ctx: DirectiveContext): void {
  if (ctx.args[0]?.toLowerCase() === 'none') {
    ctx.next();
    if (ctx.active) ctx.opts.unusedConnectionTimeout = 0;
    return;
  }
  ctx.setFirst(ctx.option, timeValue(ctx, ctx.requireArg('missing time value.')));
}

/** Keywords sshd logs and otherwise ignores. */
function notice(kind: 'Deprecated' | 'Unsupported'): DirectiveHandler {
  return (ctx) => {
    ctx.state.warnings.push(`${ctx.where}: ${kind} option ${ctx.keyword}`);
    ctx.args.length = 0;
  };
}

export const HANDLERS: Readonly<Record<Exclude<OptionId, 'match' | 'include'>, DirectiveHandler>> = {
  usePAM: flag, ignoreUserKnownHosts: flag, hostbasedAuthentication: flag, hostbasedUsesNameFromPacketOnly: flag,
  pubkeyAuthentication: flag, kerberosAuthentication: flag, kerberosOrLocalPasswd: flag, kerberosTicketCleanup: flag,
  gssapiAuthentication: flag, gssapiCleanupCredentials: flag, gssapiStrictAcceptorCheck: flag, gssapiKeyExchange: flag,
  gssapiStoreCredentialsOnRekey: flag, passwordAuthentication: flag, kbdInteractiveAuthentication: flag,
  printMotd: flag, printLastLog: flag, x11Forwarding: flag, x11UseLocalhost: flag, permitTTY: flag,
  permitUserRC: flag, strictModes: flag, tcpKeepAlive: flag, permitEmptyPasswords: flag, useDNS: flag,
  allowAgentForwarding: flag, disableForwarding: flag, streamLocalBindUnlink: flag, exposeAuthInfo: flag,
  debianBanner: flag,

  x11DisplayOffset: integer, x11MaxDisplays: integer, maxAuthTries: integer, maxSessions: integer, clientAliveCountMax: integer,
  maxChannels: integer, maxPendingOpens: integer, maxPendingGlobalRequests: integer, maxForwards: integer,
  maxForwardsPerUser: integer, maxSessionsPerUser: integer,
  requiredRSASize: integer,
  loginGraceTime: time, clientAliveInterval: time,
  pidFile: filename, moduliFile: filename, xauthLocation: filename, banner: filename, trustedUserCAKeys: filename,
  revokedKeys: filename,

  hostbasedAcceptedAlgorithms: keyAlgorithms('hostbased'),
  hostKeyAlgorithms: keyAlgorithms('hostKeys'),
  caSignatureAlgorithms: keyAlgorithms('caSignatures'),
  pubkeyAcceptedAlgorithms: keyAlgorithms('pubkeys'),
  ciphers: transportAlgorithms, macs: transportAlgorithms, kexAlgorithms: transportAlgorithms,
  gssapiKexAlgorithms,

  port, listenAddress, rekeyLimit, maxStartups, perSourceNetBlockSize, perSourceMaxStartups, ipQoS,
  perSourcePenalties, perSourcePenaltyExemptList,
  permitOpen, permitListen: permitOpen,
  addressFamily: choice(ADDRESS_FAMILY),
  permitRootLogin: choice(PERMIT_ROOT),
  ignoreRhosts: choice(IGNORE_RHOSTS),
  compression: choice(COMPRESSION),
  gatewayPorts: choice(GATEWAY_PORTS),
  allowTcpForwarding: choice(FORWARDING),
  allowStreamLocalForwarding: choice(FORWARDING),
  permitTunnel,

  hostKey: pathList('hostKeys'),
  hostCertificate: pathList('hostCertificates'),
  hostKeyAgent: (ctx) => {
    const arg = ctx.requireArg('missing socket name.');
    ctx.setFirst(ctx.option, arg === 'SSH_AUTH_SOCK' ? arg : absolutePath(arg, ctx.state.cwd));
  },
  securityKeyProvider: (ctx) => {
    const arg = ctx.requireArg(missing(ctx));
    ctx.setFirst(ctx.option, arg.toLowerCase() === 'internal' ? arg : absolutePath(arg, ctx.state.cwd));
  },
  chrootDirectory: (ctx) => ctx.setFirst(ctx.option, ctx.requireArg(missing(ctx))),
  syslogFacility, logLevel, logVerbose: noneOrList, channelTimeout: noneOrList,
  forceCommand: rawRest, versionAddendum: rawRest,
  streamLocalBindMask, fingerprintHash, unusedConnectionTimeout,
  rdomain: (ctx) => {
    throw ctx.fatal('setting RDomain not supported on this platform.');
  },

  allowUsers: allowDenyUsers, denyUsers: allowDenyUsers, allowGroups: allowDenyGroups, denyGroups: allowDenyGroups,
  authenticationMethods, authorizedKeysFile, authorizedPrincipalsFile,
  authorizedKeysCommand: authorizedCommand, authorizedPrincipalsCommand: authorizedCommand,
  authorizedKeysCommandUser: commandUser, authorizedPrincipalsCommandUser: commandUser,
  subsystem, acceptEnv, setEnv, permitUserEnvironment, pubkeyAuthOptions,
  ...PERSISTENT_SESSION_HANDLERS,

  deprecated: notice('Deprecated'),
  unsupported: notice('Unsupported'),
  ignore: (ctx) => {
    ctx.args.length = 0;
  },
};
