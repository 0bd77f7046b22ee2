// The server settings sshd_config produces: the typed, fully defaulted view (`EffectiveSshdSettings`), the
// partial set a parse pass builds (`SshdOptionSet`, where an absent field means "not set, first value still
// to come"), how defaults fill the gaps (servconf.c fill_default_server_options) and which values a matching
// Match block carries over to a connection (servconf.c copy_set_server_options).
import { assembleAlgorithms, type AlgorithmFamily } from './algorithms.ts';
import type { LogLevel, SyslogFacility } from './values.ts';
import { perSourcePenalties, type PerSourcePenalties } from './per-source-penalties.ts';
import { fillPersistentSessionDefaults, PERSISTENT_SESSION_MATCH_SCALARS, type PersistentSessionSettings } from './persistent-settings.ts';

export type ForwardingPolicy = 'yes' | 'no' | 'local' | 'remote';
export type PermitRootLogin = 'yes' | 'no' | 'prohibit-password' | 'forced-commands-only';

/** One address sshd listens on, after name resolution. */
export interface ListenAddress {
  address: string;
  port: number;
  family: 4 | 6;
  rdomain: string | null;
}

/** A ListenAddress line as written, resolved once Port and AddressFamily are known. */
export interface QueuedListenAddress {
  /** null listens on every address (no ListenAddress given). */
  host: string | null;
  /** 0 means "every configured Port". */
  port: number;
  rdomain: string | null;
}

export interface Subsystem {
  name: string;
  /** The program sshd runs. */
  command: string;
  /** The program and its arguments joined by single spaces, as sshd passes it to the shell. */
  commandLine: string;
}

/** Everything sshd knows after reading its configuration (and, for a connection, applying Match). */
export interface EffectiveSshdSettings extends PersistentSessionSettings {
  ports: number[];
  addressFamily: 'any' | 'inet' | 'inet6';
  listenAddresses: ListenAddress[];
  usePAM: boolean;
  loginGraceTime: number;
  x11DisplayOffset: number;
  /** X11MaxDisplays (Fedora's keyword): forwarded displays are numbered below this. */
  x11MaxDisplays: number;
  maxAuthTries: number;
  maxSessions: number;
  /** Tether's caps (no OpenSSH keyword): channels, channel opens in progress and global requests per connection. */
  maxChannels: number;
  maxPendingOpens: number;
  maxPendingGlobalRequests: number;
  /** Remote forwards (tcpip-forward, streamlocal-forward) per connection. */
  maxForwards: number;
  /** Remote forwards and sessions across one user's connections; null: derived from the descriptor limit. */
  maxForwardsPerUser: number | null;
  maxSessionsPerUser: number | null;
  clientAliveInterval: number;
  clientAliveCountMax: number;
  requiredRSASize: number;
  streamLocalBindMask: number;
  /** Seconds; 0 means none. */
  unusedConnectionTimeout: number;
  permitRootLogin: PermitRootLogin;
  ignoreRhosts: 'yes' | 'no' | 'shosts-only';
  ignoreUserKnownHosts: boolean;
  hostbasedAuthentication: boolean;
  hostbasedUsesNameFromPacketOnly: boolean;
  pubkeyAuthentication: boolean;
  kerberosAuthentication: boolean;
  kerberosOrLocalPasswd: boolean;
  kerberosTicketCleanup: boolean;
  gssapiAuthentication: boolean;
  gssapiCleanupCredentials: boolean;
  gssapiKeyExchange: boolean;
  gssapiStrictAcceptorCheck: boolean;
  gssapiStoreCredentialsOnRekey: boolean;
  gssapiKexAlgorithms: string;
  passwordAuthentication: boolean;
  kbdInteractiveAuthentication: boolean;
  printMotd: boolean;
  printLastLog: boolean;
  x11Forwarding: boolean;
  x11UseLocalhost: boolean;
  permitTTY: boolean;
  permitUserRC: boolean;
  strictModes: boolean;
  tcpKeepAlive: boolean;
  permitEmptyPasswords: boolean;
  /** "yes" and "delayed" both mean compression after authentication. */
  compression: boolean;
  gatewayPorts: 'no' | 'yes' | 'clientspecified';
  useDNS: boolean;
  allowTcpForwarding: ForwardingPolicy;
  allowAgentForwarding: boolean;
  disableForwarding: boolean;
  allowStreamLocalForwarding: ForwardingPolicy;
  streamLocalBindUnlink: boolean;
  fingerprintHash: 'MD5' | 'SHA1' | 'SHA256' | 'SHA384' | 'SHA512';
  exposeAuthInfo: boolean;
  pidFile: string | null;
  moduliFile: string;
  xauthLocation: string | null;
  ciphers: string[];
  macs: string[];
  kexAlgorithms: string[];
  caSignatureAlgorithms: string[];
  hostbasedAcceptedAlgorithms: string[];
  hostKeyAlgorithms: string[];
  pubkeyAcceptedAlgorithms: string[];
  banner: string | null;
  forceCommand: string | null;
  chrootDirectory: string | null;
  trustedUserCAKeys: string | null;
  revokedKeys: string | null;
  securityKeyProvider: string | null;
  authorizedPrincipalsFile: string | null;
  /** "" when none. */
  versionAddendum: string;
  authorizedKeysCommand: string | null;
  authorizedKeysCommandUser: string | null;
  authorizedPrincipalsCommand: string | null;
  authorizedPrincipalsCommandUser: string | null;
  hostKeyAgent: string | null;
  rdomain: string | null;
  logLevel: LogLevel;
  syslogFacility: SyslogFacility;
  /** Paths with %h %u %U %% tokens; relative ones are relative to the user's home. */
  authorizedKeysFiles: string[];
  hostKeys: string[];
  hostCertificates: string[];
  allowUsers: string[];
  denyUsers: string[];
  allowGroups: string[];
  denyGroups: string[];
  acceptEnv: string[];
  setEnv: string[];
  /** Each entry a comma-separated list that must all succeed; empty means "any". */
  authenticationMethods: string[];
  logVerbose: string[];
  channelTimeouts: string[];
  subsystems: Subsystem[];
  maxStartups: { begin: number; rate: number; full: number };
  /** null means no per-source limit. */
  perSourceMaxStartups: number | null;
  perSourceNetBlockSize: { ipv4: number; ipv6: number };
  /** OpenSSH 9.8's PerSourcePenalties (srclimit.c); times in seconds. */
  perSourcePenalties: PerSourcePenalties;
  /** PerSourcePenaltyExemptList: an address list (addrmatch.c) never penalised, or null. */
  perSourcePenaltyExemptList: string | null;
  permitTunnel: 'no' | 'point-to-point' | 'ethernet' | 'yes';
  ipQoS: { interactive: number; bulk: number };
  rekeyLimit: { bytes: number; intervalSeconds: number };
  /** host:port entries, or ["any"] / ["none"]; empty means any. */
  permitOpen: string[];
  permitListen: string[];
  permitUserEnvironment: boolean;
  /** Set when PermitUserEnvironment names a pattern list of variables. */
  permitUserEnvironmentAllowlist: string | null;
  pubkeyAuthOptions: { touchRequired: boolean; verifyRequired: boolean };
  debianBanner: boolean;
}

type AlgorithmKey =
  | 'ciphers' | 'macs' | 'kexAlgorithms' | 'caSignatureAlgorithms' | 'hostbasedAcceptedAlgorithms'
  | 'hostKeyAlgorithms' | 'pubkeyAcceptedAlgorithms';

export const ALGORITHM_FAMILIES: Record<AlgorithmKey, AlgorithmFamily> = {
  ciphers: 'ciphers',
  macs: 'macs',
  kexAlgorithms: 'kex',
  caSignatureAlgorithms: 'caSignatures',
  hostbasedAcceptedAlgorithms: 'hostbased',
  hostKeyAlgorithms: 'hostKeys',
  pubkeyAcceptedAlgorithms: 'pubkeys',
};

/**
 * What one parse pass has set (rekeyLimit's halves use -1 for "not set"). Absent = not yet set (sshd's -1/NULL). Algorithm lists hold the value as
 * written ("+ssh-rsa", "-hmac-sha1"), resolved against the defaults only when settings are filled.
 */
export type SshdOptionSet = {
  [K in Exclude<keyof EffectiveSshdSettings, AlgorithmKey | 'listenAddresses' | 'perSourcePenalties'>]?: EffectiveSshdSettings[K];
} & { [K in AlgorithmKey]?: string } & {
  /** Each PerSourcePenalties item is its own first-value-wins option in sshd. */
  perSourcePenalties?: Partial<PerSourcePenalties>;
  queuedListenAddresses?: QueuedListenAddress[];
  /** Ports came from the command line (-p); Port lines in files are then ignored. */
  portsFromCommandLine?: boolean;
};

/** Raised when settings cannot be completed (an algorithm list that leaves nothing, like sshd's fatal). */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

function algorithms(set: SshdOptionSet, key: AlgorithmKey): string[] {
  const out = assembleAlgorithms(ALGORITHM_FAMILIES[key], set[key]);
  if (out === null) throw new SettingsError(`${key}: no algorithms left (invalid format)`);
  return out;
}

const noneToNull = (v: string | undefined | null, dflt: string | null = null): string | null => {
  const s = v ?? dflt;
  return s === null || s.toLowerCase() === 'none' ? null : s;
};

/**
 * fill_default_server_options: every unset option takes OpenSSH 9.2's default, "none" clears paths, and
 * algorithm lists are resolved. `listenAddresses` must already be resolved by the caller.
 */
export function fillDefaults(set: SshdOptionSet, listenAddresses: ListenAddress[]): EffectiveSshdSettings {
  const defaultHostKeys = ['/etc/ssh/ssh_host_rsa_key', '/etc/ssh/ssh_host_ecdsa_key', '/etc/ssh/ssh_host_ed25519_key'];
  const authMethods = set.authenticationMethods ?? [];
  return {
    ports: set.ports && set.ports.length > 0 ? set.ports : [22],
    addressFamily: set.addressFamily ?? 'any',
    listenAddresses,
    usePAM: set.usePAM ?? false,
    loginGraceTime: set.loginGraceTime ?? 120,
    x11DisplayOffset: set.x11DisplayOffset ?? 10,
    x11MaxDisplays: set.x11MaxDisplays ?? 1000,
    maxAuthTries: set.maxAuthTries ?? 6,
    maxSessions: set.maxSessions ?? 10,
    maxChannels: set.maxChannels ?? 4096,
    maxPendingOpens: set.maxPendingOpens ?? 256,
    maxPendingGlobalRequests: set.maxPendingGlobalRequests ?? 64,
    maxForwards: set.maxForwards ?? 256,
    maxForwardsPerUser: set.maxForwardsPerUser ?? null,
    maxSessionsPerUser: set.maxSessionsPerUser ?? null,
    clientAliveInterval: set.clientAliveInterval ?? 0,
    clientAliveCountMax: set.clientAliveCountMax ?? 3,
    requiredRSASize: set.requiredRSASize ?? 1024,
    streamLocalBindMask: set.streamLocalBindMask ?? 0o177,
    unusedConnectionTimeout: set.unusedConnectionTimeout ?? 0,
    permitRootLogin: set.permitRootLogin ?? 'prohibit-password',
    ignoreRhosts: set.ignoreRhosts ?? 'yes',
    ignoreUserKnownHosts: set.ignoreUserKnownHosts ?? false,
    hostbasedAuthentication: set.hostbasedAuthentication ?? false,
    hostbasedUsesNameFromPacketOnly: set.hostbasedUsesNameFromPacketOnly ?? false,
    pubkeyAuthentication: set.pubkeyAuthentication ?? true,
    kerberosAuthentication: set.kerberosAuthentication ?? false,
    kerberosOrLocalPasswd: set.kerberosOrLocalPasswd ?? true,
    kerberosTicketCleanup: set.kerberosTicketCleanup ?? true,
    gssapiAuthentication: set.gssapiAuthentication ?? false,
    gssapiCleanupCredentials: set.gssapiCleanupCredentials ?? true,
    gssapiKeyExchange: set.gssapiKeyExchange ?? false,
    gssapiStrictAcceptorCheck: set.gssapiStrictAcceptorCheck ?? true,
    gssapiStoreCredentialsOnRekey: set.gssapiStoreCredentialsOnRekey ?? false,
    gssapiKexAlgorithms:
      set.gssapiKexAlgorithms ??
      'gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-,gss-curve25519-sha256-,gss-group14-sha1-,gss-gex-sha1-',
    passwordAuthentication: set.passwordAuthentication ?? true,
    kbdInteractiveAuthentication: set.kbdInteractiveAuthentication ?? true,
    printMotd: set.printMotd ?? true,
    printLastLog: set.printLastLog ?? true,
    x11Forwarding: set.x11Forwarding ?? false,
    x11UseLocalhost: set.x11UseLocalhost ?? true,
    permitTTY: set.permitTTY ?? true,
    permitUserRC: set.permitUserRC ?? true,
    strictModes: set.strictModes ?? true,
    tcpKeepAlive: set.tcpKeepAlive ?? true,
    permitEmptyPasswords: set.permitEmptyPasswords ?? false,
    compression: set.compression ?? true,
    gatewayPorts: set.gatewayPorts ?? 'no',
    useDNS: set.useDNS ?? false,
    allowTcpForwarding: set.allowTcpForwarding ?? 'yes',
    allowAgentForwarding: set.allowAgentForwarding ?? true,
    disableForwarding: set.disableForwarding ?? false,
    allowStreamLocalForwarding: set.allowStreamLocalForwarding ?? 'yes',
    streamLocalBindUnlink: set.streamLocalBindUnlink ?? false,
    fingerprintHash: set.fingerprintHash ?? 'SHA256',
    exposeAuthInfo: set.exposeAuthInfo ?? false,
    pidFile: noneToNull(set.pidFile, '/run/sshd.pid'),
    moduliFile: set.moduliFile ?? '/etc/ssh/moduli',
    xauthLocation: noneToNull(set.xauthLocation, '/usr/bin/xauth'),
    ciphers: algorithms(set, 'ciphers'),
    macs: algorithms(set, 'macs'),
    kexAlgorithms: algorithms(set, 'kexAlgorithms'),
    caSignatureAlgorithms: algorithms(set, 'caSignatureAlgorithms'),
    hostbasedAcceptedAlgorithms: algorithms(set, 'hostbasedAcceptedAlgorithms'),
    hostKeyAlgorithms: algorithms(set, 'hostKeyAlgorithms'),
    pubkeyAcceptedAlgorithms: algorithms(set, 'pubkeyAcceptedAlgorithms'),
    banner: noneToNull(set.banner),
    forceCommand: noneToNull(set.forceCommand),
    chrootDirectory: noneToNull(set.chrootDirectory),
    trustedUserCAKeys: noneToNull(set.trustedUserCAKeys),
    revokedKeys: noneToNull(set.revokedKeys),
    securityKeyProvider: noneToNull(set.securityKeyProvider, 'internal'),
    authorizedPrincipalsFile: noneToNull(set.authorizedPrincipalsFile),
    versionAddendum: set.versionAddendum ?? '',
    authorizedKeysCommand: set.authorizedKeysCommand ?? null,
    authorizedKeysCommandUser: set.authorizedKeysCommandUser ?? null,
    authorizedPrincipalsCommand: set.authorizedPrincipalsCommand ?? null,
    authorizedPrincipalsCommandUser: set.authorizedPrincipalsCommandUser ?? null,
    hostKeyAgent: noneToNull(set.hostKeyAgent),
    rdomain: noneToNull(set.rdomain),
    logLevel: set.logLevel ?? 'INFO',
    syslogFacility: set.syslogFacility ?? 'AUTH',
    authorizedKeysFiles:
      set.authorizedKeysFiles && set.authorizedKeysFiles.length > 0
        ? set.authorizedKeysFiles
        : ['.ssh/authorized_keys', '.ssh/authorized_keys2'],
    hostKeys: set.hostKeys && set.hostKeys.length > 0 ? set.hostKeys : defaultHostKeys,
    hostCertificates: set.hostCertificates ?? [],
    allowUsers: set.allowUsers ?? [],
    denyUsers: set.denyUsers ?? [],
    allowGroups: set.allowGroups ?? [],
    denyGroups: set.denyGroups ?? [],
    acceptEnv: set.acceptEnv ?? [],
    setEnv: set.setEnv ?? [],
    // A lone "any" is the same as no list at all.
    authenticationMethods: authMethods.length === 1 && authMethods[0]!.toLowerCase() === 'any' ? [] : authMethods,
    logVerbose: set.logVerbose ?? [],
    channelTimeouts:
      set.channelTimeouts && !(set.channelTimeouts.length === 1 && set.channelTimeouts[0]!.toLowerCase() === 'none')
        ? set.channelTimeouts
        : [],
    subsystems: set.subsystems ?? [],
    maxStartups: set.maxStartups ?? { begin: 10, rate: 30, full: 100 },
    perSourceMaxStartups: set.perSourceMaxStartups === undefined ? null : set.perSourceMaxStartups,
    perSourceNetBlockSize: set.perSourceNetBlockSize ?? { ipv4: 32, ipv6: 128 },
    perSourcePenalties: perSourcePenalties(set.perSourcePenalties),
    perSourcePenaltyExemptList: noneToNull(set.perSourcePenaltyExemptList),
    permitTunnel: set.permitTunnel ?? 'no',
    // Debian's build defaults to lowdelay/throughput rather than upstream's af21/cs1.
    ipQoS: set.ipQoS ?? { interactive: 0x10, bulk: 0x08 },
    rekeyLimit: {
      bytes: Math.max(set.rekeyLimit?.bytes ?? 0, 0),
      intervalSeconds: Math.max(set.rekeyLimit?.intervalSeconds ?? 0, 0),
    },
    permitOpen: set.permitOpen ?? [],
    permitListen: set.permitListen ?? [],
    permitUserEnvironment: set.permitUserEnvironment ?? false,
    permitUserEnvironmentAllowlist: set.permitUserEnvironmentAllowlist ?? null,
    pubkeyAuthOptions: set.pubkeyAuthOptions ?? { touchRequired: false, verifyRequired: false },
    debianBanner: set.debianBanner ?? true,
    ...fillPersistentSessionDefaults(set),
  };
}

/** Options a matching Match block may change for a connection (servconf.c copy_set_server_options). */
const MATCH_SCALARS = [
  'passwordAuthentication', 'gssapiAuthentication', 'pubkeyAuthentication', 'pubkeyAuthOptions',
  'kerberosAuthentication', 'hostbasedAuthentication', 'hostbasedUsesNameFromPacketOnly',
  'kbdInteractiveAuthentication', 'permitRootLogin', 'permitEmptyPasswords', 'ignoreRhosts',
  'allowTcpForwarding', 'allowStreamLocalForwarding', 'allowAgentForwarding', 'disableForwarding',
  'exposeAuthInfo', 'permitTunnel', 'gatewayPorts', 'streamLocalBindUnlink', 'x11DisplayOffset',
  'x11MaxDisplays', 'x11Forwarding', 'x11UseLocalhost', 'permitTTY', 'permitUserRC', 'maxSessions', 'maxAuthTries',
  'maxChannels', 'maxPendingOpens', 'maxPendingGlobalRequests', 'maxForwards', 'maxForwardsPerUser', 'maxSessionsPerUser',
  'clientAliveCountMax', 'clientAliveInterval', 'ipQoS', 'logLevel', 'requiredRSASize',
  'unusedConnectionTimeout', 'streamLocalBindMask',
  'banner', 'trustedUserCAKeys', 'revokedKeys', 'authorizedKeysCommand', 'authorizedKeysCommandUser',
  'authorizedPrincipalsFile', 'authorizedPrincipalsCommand', 'authorizedPrincipalsCommandUser', 'rdomain',
  'permitUserEnvironmentAllowlist', 'forceCommand', 'chrootDirectory', ...PERSISTENT_SESSION_MATCH_SCALARS,
] as const;

/** Lists a Match block replaces wholesale when it sets any entry. */
const MATCH_LISTS = [
  'authorizedKeysFiles', 'allowUsers', 'denyUsers', 'allowGroups', 'denyGroups', 'acceptEnv', 'setEnv',
  'authenticationMethods', 'permitOpen', 'permitListen', 'channelTimeouts', 'logVerbose',
] as const;

const MATCH_ALGORITHMS = ['hostbasedAcceptedAlgorithms', 'pubkeyAcceptedAlgorithms', 'caSignatureAlgorithms'] as const;

/**
 * The settings for one connection: `global` with every option that the matching Match blocks set
 * (`fromMatches`, the result of the connection pass) laid over it.
 */
export function overlayMatchSettings(global: EffectiveSshdSettings, fromMatches: SshdOptionSet): EffectiveSshdSettings {
  const out: EffectiveSshdSettings = { ...global };
  const target = out as unknown as Record<string, unknown>;
  const source = fromMatches as Record<string, unknown>;
  for (const key of MATCH_SCALARS) {
    if (source[key] !== undefined) target[key] = source[key];
  }
  // RekeyLimit's byte limit and interval are separate options in sshd; a Match may set either (-1 = unset).
  const rekey = fromMatches.rekeyLimit;
  if (rekey) {
    out.rekeyLimit = {
      bytes: rekey.bytes >= 0 ? rekey.bytes : global.rekeyLimit.bytes,
      intervalSeconds: rekey.intervalSeconds >= 0 ? rekey.intervalSeconds : global.rekeyLimit.intervalSeconds,
    };
  }
  for (const key of MATCH_LISTS) {
    const list = source[key] as unknown[] | undefined;
    if (list && list.length > 0) target[key] = [...list];
  }
  for (const key of MATCH_ALGORITHMS) {
    if (fromMatches[key] !== undefined) out[key] = algorithms(fromMatches, key);
  }
  // "none" in a Match clears a path set globally; a lone "any" resets AuthenticationMethods.
  for (const key of ['banner', 'trustedUserCAKeys', 'revokedKeys', 'authorizedPrincipalsFile', 'forceCommand', 'chrootDirectory', 'rdomain'] as const) {
    out[key] = noneToNull(out[key]);
  }
  if (out.authenticationMethods.length === 1 && out.authenticationMethods[0] === 'any') out.authenticationMethods = [];
  return out;
}
