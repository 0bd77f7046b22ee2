/**
 * The option record filled while reading configuration. `undefined` means "not yet set" (OpenSSH's -1/NULL):
 * the first source to set an option wins, so later files and blocks only fill gaps. Choices hold
 * OpenSSH's numeric codes (see values.ts) so `ssh -G` spellings can be reproduced.
 */
import type { Forward } from './forward.ts';

export interface IdentityEntry {
  path: string;
  /** From a user configuration or the command line (rather than a system file or a built-in default). */
  userProvided: boolean;
}

export interface PermittedCname {
  sourceList: string;
  targetList: string;
}

export interface OptionState {
  hostArg?: string;
  forwardAgent?: number;
  forwardAgentSockPath?: string;
  forwardX11?: number;
  forwardX11Trusted?: number;
  forwardX11Timeout?: number;
  stdioForwardHost?: string;
  stdioForwardPort?: number;
  clearAllForwardings?: number;
  exitOnForwardFailure?: number;
  xauthLocation?: string;
  gatewayPorts?: number;
  streamLocalBindMask?: number;
  streamLocalBindUnlink?: number;
  pubkeyAuthentication?: number;
  gssapiAuthentication?: number;
  gssapiDelegateCredentials?: number;
  gssapiKeyExchange?: number;
  gssapiTrustDns?: number;
  gssapiRenewalForcesRekey?: number;
  gssapiClientIdentity?: string;
  gssapiServerIdentity?: string;
  gssapiKexAlgorithms?: string;
  passwordAuthentication?: number;
  kbdInteractiveAuthentication?: number;
  kbdInteractiveDevices?: string;
  hostbasedAuthentication?: number;
  batchMode?: number;
  checkHostIP?: number;
  strictHostKeyChecking?: number;
  compression?: number;
  tcpKeepAlive?: number;
  port?: number;
  addressFamily?: number;
  connectionAttempts?: number;
  /** Seconds; -1 for `none` set explicitly (printed like unset). */
  connectTimeout?: number;
  numberOfPasswordPrompts?: number;
  ciphers?: string;
  macs?: string;
  kexAlgorithms?: string;
  hostKeyAlgorithms?: string;
  caSignatureAlgorithms?: string;
  hostbasedAcceptedAlgorithms?: string;
  pubkeyAcceptedAlgorithms?: string;
  identityFiles: IdentityEntry[];
  certificateFiles: IdentityEntry[];
  hostname?: string;
  hostKeyAlias?: string;
  proxyCommand?: string;
  jumpUser?: string;
  jumpHost?: string;
  jumpPort?: number;
  jumpExtra?: string;
  user?: string;
  escapeChar?: number;
  globalKnownHostsFiles: string[];
  userKnownHostsFiles: string[];
  localForwards: Forward[];
  remoteForwards: Forward[];
  permitRemoteOpen: string[];
  syslogFacility?: string;
  logLevel?: number;
  logVerbose: string[];
  preferredAuthentications?: string;
  bindAddress?: string;
  bindInterface?: string;
  pkcs11Provider?: string;
  securityKeyProvider?: string;
  enableSSHKeysign?: number;
  noHostAuthenticationForLocalhost?: number;
  identitiesOnly?: number;
  rekeyLimit?: number;
  rekeyInterval?: number;
  verifyHostKeyDNS?: number;
  serverAliveInterval?: number;
  serverAliveCountMax?: number;
  sendEnv: string[];
  setEnv: string[];
  controlPath?: string;
  controlMaster?: number;
  controlPersist?: number;
  controlPersistTimeout?: number;
  hashKnownHosts?: number;
  tunnel?: number;
  tunnelLocal?: number;
  tunnelRemote?: number;
  localCommand?: string;
  permitLocalCommand?: number;
  remoteCommand?: string;
  addKeysToAgent?: number;
  addKeysToAgentLifespan?: number;
  identityAgent?: string;
  visualHostKey?: number;
  ipqosInteractive?: number;
  ipqosBulk?: number;
  requestTTY?: number;
  sessionType?: number;
  stdinNull?: number;
  forkAfterAuthentication?: number;
  proxyUseFdpass?: number;
  ignoreUnknown?: string;
  canonicalDomains: string[];
  permittedCnames: PermittedCname[];
  canonicalizeMaxDots?: number;
  canonicalizeFallbackLocal?: number;
  canonicalizeHostname?: number;
  revokedHostKeys?: string;
  fingerprintHash?: string;
  updateHostKeys?: number;
  knownHostsCommand?: string;
  requiredRSASize?: number;
  enableEscapeCommandline?: number;
  /** Tether's persistent sessions (docs/PROTOCOL.sessions): no defaults here, so -G prints them only when set. */
  session?: string;
  sessionResume?: number;
  sessionResumeTimeout?: number;
}

export function createOptionState(): OptionState {
  return {
    identityFiles: [],
    certificateFiles: [],
    globalKnownHostsFiles: [],
    userKnownHostsFiles: [],
    localForwards: [],
    remoteForwards: [],
    permitRemoteOpen: [],
    logVerbose: [],
    sendEnv: [],
    setEnv: [],
    canonicalDomains: [],
    permittedCnames: [],
  };
}

/** Keys of OptionState holding a single number (flags, choices, integers, times). */
export type NumberSlot = {
  [K in keyof OptionState]-?: NonNullable<OptionState[K]> extends number ? K : never;
}[keyof OptionState];

/** Keys of OptionState holding a single string. */
export type StringSlot = {
  [K in keyof OptionState]-?: NonNullable<OptionState[K]> extends string ? K : never;
}[keyof OptionState];

/** Keys of OptionState holding a list of strings where the first non-empty list wins. */
export type StringListSlot = 'globalKnownHostsFiles' | 'userKnownHostsFiles' | 'logVerbose' | 'canonicalDomains';
