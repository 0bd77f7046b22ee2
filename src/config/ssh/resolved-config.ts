/**
 * What resolving the client configuration takes and gives (resolve.ts): the request built from the command
 * line, and the resolved configuration every part of `tether ssh` reads.
 */
import type { ConfigWarning } from './errors.ts';
import type { SshFlags } from './flags.ts';
import type { OptionState } from './options.ts';
import type { ConnectionInfo } from './tokens.ts';

export interface ResolveRequest {
  /** The destination host as typed (after splitting off user@ and :port / ssh:// parts). */
  host: string;
  /** -l or user@host: set before any file is read, so it wins. */
  user?: string;
  /** -p or ssh://host:port. */
  port?: number;
  /** -o options, in order (each like "Key value" or "Key=value"). */
  commandLineOptions?: string[];
  /** Other configuration-setting flags (-A, -L, -t, -W, ...). */
  flags?: SshFlags;
  /**
   * The command line in argv order, applied before `flags` and `commandLineOptions`: ssh.c applies each flag
   * and `-o` as getopt meets it, and the destination's user/port where it stands, so that first-wins options
   * (-l, -p, user@, -o User=...) keep whichever came first.
   */
  commandLine?: CommandLineItem[];
  /** -F: a file to read instead of ~/.ssh/config and the system file; 'none' reads no file. */
  configFile?: string | 'none';
  /** Home directory (default: the current user's from the password database, as ssh uses). */
  homeDir?: string;
  /** System-wide configuration (default /etc/ssh/ssh_config). */
  systemConfigFile?: string;
  /** Base directory for relative Include in the system file (default /etc/ssh). */
  systemConfigDir?: string;
  /** Local user name (default: the current user's). */
  localUser?: string;
  /** Local uid for %i and the ownership check (default process.getuid()). */
  uid?: number;
  /** This machine's host name for %l/%L/%C (default os.hostname()). */
  thisHost?: string;
  /** Environment for ${VAR} and Match exec (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The remote command words, if any (affects UpdateHostKeys=ask and a few checks, as in ssh). */
  command?: string[];
  /** Upper bound on each Match exec command, in milliseconds (default 30 s). */
  matchExecTimeoutMs?: number;
  /**
   * Accept values Tether parses but does not act on (support.ts) instead of refusing them. Only for comparing
   * the parser with `ssh -G`; a client must never set it.
   */
  allowUnimplemented?: boolean;
}

/** One command-line item: a flag (as an SshFlags with one member), a `-o` option, or the destination's parts. */
export type CommandLineItem = { flags: SshFlags } | { option: string } | { destination: { user?: string; port?: number } };

export type StrictHostKeyChecking = 'yes' | 'no' | 'ask' | 'accept-new';

export interface ForwardSpec {
  /** Listen side: TCP (host may be undefined for the default bind address) or a Unix socket path. */
  listen: { host: string | undefined; port: number } | { path: string };
  /** Connect side; absent for dynamic (SOCKS) forwards. */
  connect?: { host: string; port: number } | { path: string };
}

export interface JumpHop {
  user: string | undefined;
  host: string;
  port: number | undefined;
}

/** The typed result: everything a client needs, already expanded where ssh expands before connecting. */
export interface ResolvedSshConfig {
  /** The host as given (%n). */
  host: string;
  /** Where to connect: HostName with %h expanded, lower-cased unless an address (the first alternate). */
  hostname: string;
  /**
   * Every name HostName lists, in order, `hostname` first: Tether's failover extension (`HostName a,b`).
   * One element when HostName names a single host, as in OpenSSH.
   */
  hostnameAlternates: string[];
  port: number;
  user: string;
  identityFiles: string[];
  certificateFiles: string[];
  identitiesOnly: boolean;
  /** IdentityAgent (expanded); 'none' disables the agent; undefined: use $SSH_AUTH_SOCK. */
  identityAgent: string | undefined;
  addKeysToAgent: { mode: 'no' | 'yes' | 'ask' | 'confirm'; lifetimeSeconds: number | undefined };
  /** ForwardAgent: false, true ($SSH_AUTH_SOCK), or a socket path. */
  forwardAgent: boolean | string;
  /** ProxyCommand with %-tokens expanded (run as `exec <command>` via the shell), or undefined. */
  proxyCommand: string | undefined;
  /** ProxyJump hops in order (first hop first), or undefined. */
  proxyJump: JumpHop[] | undefined;
  proxyUseFdpass: boolean;
  localForwards: ForwardSpec[];
  remoteForwards: ForwardSpec[];
  /** PermitRemoteOpen as written (host:port entries, or `any` / `none`); empty when not set. */
  permitRemoteOpen: string[];
  dynamicForwards: ForwardSpec[];
  /** -W host:port */
  stdioForward: { host: string; port: number } | undefined;
  serverAliveInterval: number;
  serverAliveCountMax: number;
  tcpKeepAlive: boolean;
  /** Seconds, or undefined for none. */
  connectTimeout: number | undefined;
  connectionAttempts: number;
  strictHostKeyChecking: StrictHostKeyChecking;
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  hashKnownHosts: boolean;
  hostKeyAlias: string | undefined;
  checkHostIP: boolean;
  updateHostKeys: 'yes' | 'no' | 'ask';
  knownHostsCommand: string | undefined;
  revokedHostKeys: string | undefined;
  verifyHostKeyDNS: 'yes' | 'no' | 'ask';
  ciphers: string[];
  macs: string[];
  kexAlgorithms: string[];
  hostKeyAlgorithms: string[];
  /** false when HostKeyAlgorithms was not configured: ssh then prefers algorithms of keys already known. */
  hostKeyAlgorithmsConfigured: boolean;
  pubkeyAcceptedAlgorithms: string[];
  hostbasedAcceptedAlgorithms: string[];
  caSignatureAlgorithms: string[];
  preferredAuthentications: string[] | undefined;
  passwordAuthentication: boolean;
  pubkeyAuthentication: 'yes' | 'no' | 'unbound' | 'host-bound';
  kbdInteractiveAuthentication: boolean;
  kbdInteractiveDevices: string | undefined;
  hostbasedAuthentication: boolean;
  gssapiAuthentication: boolean;
  gssapiDelegateCredentials: boolean;
  gssapiTrustDns: boolean;
  /** GSSAPIServerIdentity: the name in the target host@NAME instead of the host's. */
  gssapiServerIdentity: string | undefined;
  numberOfPasswordPrompts: number;
  batchMode: boolean;
  compression: boolean;
  requestTTY: 'auto' | 'no' | 'yes' | 'force';
  sessionType: 'none' | 'subsystem' | 'default';
  stdinNull: boolean;
  forkAfterAuthentication: boolean;
  /** RemoteCommand with tokens expanded. */
  remoteCommand: string | undefined;
  localCommand: string | undefined;
  permitLocalCommand: boolean;
  sendEnv: string[];
  /** SetEnv as name → value. */
  setEnv: Record<string, string>;
  logLevel: string;
  logVerbose: string[];
  exitOnForwardFailure: boolean;
  clearAllForwardings: boolean;
  gatewayPorts: boolean;
  forwardX11: boolean;
  forwardX11Trusted: boolean;
  forwardX11Timeout: number;
  /** The escape character, or undefined for none. */
  escapeChar: string | undefined;
  controlMaster: 'no' | 'yes' | 'auto' | 'ask' | 'autoask';
  controlPath: string | undefined;
  /** false, true (forever) or seconds. */
  controlPersist: boolean | number;
  addressFamily: 'any' | 'inet' | 'inet6';
  bindAddress: string | undefined;
  bindInterface: string | undefined;
  rekeyLimit: { bytes: number; seconds: number };
  requiredRSASize: number;
  fingerprintHash: string;
  visualHostKey: boolean;
  streamLocalBindMask: number;
  streamLocalBindUnlink: boolean;
  ipqos: { interactive: number; bulk: number };
  enableEscapeCommandline: boolean;
  /** Session: the name of the persistent session to create or reattach (Tether). */
  session: string | undefined;
  /** SessionResume (Tether, default yes): reconnect and resume a held session after a drop. */
  sessionResume: boolean;
  /** SessionResumeTimeout (Tether, default 10 minutes): how long to keep reconnecting, in seconds. */
  sessionResumeTimeout: number;
  /** Every option's final value as OpenSSH holds it (numeric codes for choices). */
  options: Readonly<OptionState>;
  /** `ssh -G` keyword → printed value(s), for every keyword ssh prints. */
  raw: Record<string, string[]>;
  /** Non-fatal messages ssh would log (e.g. unsupported options), at any level. */
  warnings: ConfigWarning[];
  /** The warnings ssh prints to stderr while reading its configuration, given the command line's log level. */
  configMessages?: string[];
  /** The tokens (%h, %p, ...) for this connection, for expanding other strings. */
  connection: ConnectionInfo;
}
