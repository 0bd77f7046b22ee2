/**
 * Defaults for everything the configuration left unset (readconf.c's fill_default_options), including the
 * Debian 12 build's differences from upstream OpenSSH 9.2: ForwardX11Trusted defaults to yes, BatchMode
 * implies ServerAliveInterval 300, IPQoS defaults to lowdelay/throughput, and GSSAPI key exchange options.
 */
import { AlgorithmListError, GSSAPI_KEX_DEFAULT, resolveAlgorithmOption, type AlgorithmOption } from './algorithms.ts';
import { ConfigError } from './errors.ts';
import type { OptionState } from './options.ts';
import { IPQOS_DEFAULT_BULK, IPQOS_DEFAULT_INTERACTIVE } from '../values.ts';
import {
  CANONICALIZE, CONTROL_MASTER, LOG_LEVEL, PUBKEY_AUTH, REQUEST_TTY, SESSION_TYPE, STRICT_HOSTKEY, TUNNEL, TUNNEL_ID_ANY,
} from './values.ts';

const DEFAULT_IDENTITY_FILES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'];
const USER_KNOWN_HOSTS = '~/.ssh/known_hosts';

/** Numeric options and their defaults when unset. */
const NUMBER_DEFAULTS: readonly (readonly [keyof OptionState, number])[] = [
  ['forwardAgent', 0], ['forwardX11', 0], ['forwardX11Trusted', 1], ['forwardX11Timeout', 1200],
  ['gatewayPorts', 0], ['streamLocalBindMask', 0o177], ['streamLocalBindUnlink', 0],
  ['pubkeyAuthentication', PUBKEY_AUTH.all], ['gssapiAuthentication', 0], ['gssapiDelegateCredentials', 0],
  ['gssapiKeyExchange', 0], ['gssapiTrustDns', 0], ['gssapiRenewalForcesRekey', 0],
  ['passwordAuthentication', 1], ['kbdInteractiveAuthentication', 1], ['hostbasedAuthentication', 0],
  ['batchMode', 0], ['checkHostIP', 0], ['strictHostKeyChecking', STRICT_HOSTKEY.ask], ['compression', 0],
  ['tcpKeepAlive', 1], ['port', 0], ['addressFamily', 0], ['connectionAttempts', 1],
  ['numberOfPasswordPrompts', 3], ['escapeChar', 0x7e], ['logLevel', LOG_LEVEL.info],
  ['noHostAuthenticationForLocalhost', 0], ['identitiesOnly', 0], ['enableSSHKeysign', 0], ['rekeyLimit', 0],
  ['rekeyInterval', 0], ['verifyHostKeyDNS', 0], ['serverAliveCountMax', 3],
  ['controlMaster', CONTROL_MASTER.no], ['hashKnownHosts', 0], ['tunnel', TUNNEL.no], ['tunnelLocal', TUNNEL_ID_ANY],
  ['tunnelRemote', TUNNEL_ID_ANY], ['permitLocalCommand', 0], ['visualHostKey', 0],
  ['ipqosInteractive', IPQOS_DEFAULT_INTERACTIVE], ['ipqosBulk', IPQOS_DEFAULT_BULK], ['requestTTY', REQUEST_TTY.auto],
  ['sessionType', SESSION_TYPE.default], ['stdinNull', 0], ['forkAfterAuthentication', 0], ['proxyUseFdpass', 0],
  ['canonicalizeMaxDots', 1], ['canonicalizeFallbackLocal', 1], ['canonicalizeHostname', CANONICALIZE.no],
  ['requiredRSASize', 1024], ['enableEscapeCommandline', 0],
];

/** Final algorithm lists, assembled from the configured specs (HostKeyAlgorithms included). */
export type AssembledAlgorithms = Record<AlgorithmOption, string[]>;

const ALGORITHM_SLOTS: readonly AlgorithmOption[] = [
  'ciphers', 'macs', 'kexAlgorithms', 'hostbasedAcceptedAlgorithms', 'pubkeyAcceptedAlgorithms',
  'caSignatureAlgorithms', 'hostKeyAlgorithms',
];

/** Options whose value `none` means "unset" once defaults are filled. */
const CLEARED_BY_NONE = [
  'localCommand', 'remoteCommand', 'proxyCommand', 'controlPath', 'revokedHostKeys', 'pkcs11Provider',
  'securityKeyProvider', 'knownHostsCommand',
] as const;

/** Fills defaults in place and returns the assembled algorithm lists. */
export function fillDefaults(s: OptionState): AssembledAlgorithms {
  const stdioForward = s.stdioForwardHost !== undefined;
  // Debian: in batch mode, keep an eye on the server by default.
  if (s.serverAliveInterval === undefined) s.serverAliveInterval = s.batchMode === 1 ? 300 : 0;
  // stdio forwarding (-W) changes these defaults, but they can still be overridden.
  s.exitOnForwardFailure ??= stdioForward ? 1 : 0;
  s.clearAllForwardings ??= stdioForward ? 1 : 0;
  if (s.clearAllForwardings === 1) {
    s.localForwards = [];
    s.remoteForwards = [];
    s.tunnel = TUNNEL.no;
  }
  s.xauthLocation ??= '/usr/bin/xauth';
  for (const [slot, value] of NUMBER_DEFAULTS) {
    if (s[slot] === undefined) (s as unknown as Record<string, number>)[slot] = value;
  }
  if (s.addKeysToAgent === undefined) {
    s.addKeysToAgent = 0;
    s.addKeysToAgentLifespan = 0;
  }
  if (s.controlPersist === undefined) {
    s.controlPersist = 0;
    s.controlPersistTimeout = 0;
  }
  if (s.identityFiles.length === 0) {
    s.identityFiles = DEFAULT_IDENTITY_FILES.map((name) => ({ path: `~/.ssh/${name}`, userProvided: false }));
  }
  if (s.globalKnownHostsFiles.length === 0) {
    s.globalKnownHostsFiles = ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];
  }
  if (s.updateHostKeys === undefined) {
    const defaultUserFiles = s.userKnownHostsFiles.length === 0 ||
      (s.userKnownHostsFiles.length === 1 && s.userKnownHostsFiles[0] === USER_KNOWN_HOSTS);
    s.updateHostKeys = (s.verifyHostKeyDNS ?? 0) <= 0 && defaultUserFiles ? 1 : 0;
  }
  if (s.userKnownHostsFiles.length === 0) s.userKnownHostsFiles = [USER_KNOWN_HOSTS, '~/.ssh/known_hosts2'];
  s.syslogFacility ??= 'USER';
  s.fingerprintHash ??= 'SHA256';
  s.securityKeyProvider ??= 'internal';
  s.gssapiKexAlgorithms ??= GSSAPI_KEX_DEFAULT;

  const algorithms = {} as AssembledAlgorithms;
  for (const option of ALGORITHM_SLOTS) {
    try {
      algorithms[option] = resolveAlgorithmOption(option, s[option]);
    } catch (err) {
      if (err instanceof AlgorithmListError) {
        const text = `fill_default_options: ${snakeName(option)}: ${err.message}`;
        throw new ConfigError(text, 'configuration', undefined);
      }
      throw err;
    }
    s[option] = algorithms[option].join(',');
  }

  for (const slot of CLEARED_BY_NONE) {
    const value = s[slot];
    if (value !== undefined && value.toLowerCase() === 'none') s[slot] = undefined;
  }
  if (s.jumpHost === 'none' && s.jumpPort === 0 && s.jumpUser === undefined) s.jumpHost = undefined;
  if (s.permittedCnames.length === 1 && s.permittedCnames[0]!.sourceList.toLowerCase() === 'none' && s.permittedCnames[0]!.targetList === '') {
    s.permittedCnames = [];
  }
  return algorithms;
}

function snakeName(option: AlgorithmOption): string {
  const names: Record<AlgorithmOption, string> = {
    ciphers: 'ciphers', macs: 'macs', kexAlgorithms: 'kex_algorithms', hostKeyAlgorithms: 'hostkeyalgorithms',
    hostbasedAcceptedAlgorithms: 'hostbased_accepted_algos', pubkeyAcceptedAlgorithms: 'pubkey_accepted_algos',
    caSignatureAlgorithms: 'ca_sign_algorithms',
  };
  return names[option];
}
