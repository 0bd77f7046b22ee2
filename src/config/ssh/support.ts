/**
 * What Tether's client does with each ssh_config keyword: enforced (it acts on the value), refused when the
 * value that takes effect asks for something Tether does not implement (the configuration is then an error
 * naming file and line, `Unsupported option "<keyword>"`), accepted because it has no effect while the
 * keywords it depends on are off, or logged and ignored as ssh itself does. The README's keyword list is
 * generated from this table and a unit test keeps it complete against keywords.ts.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findAddon } from '../../auth/gssapi/gssapi-addon.ts';
import type { OptionState } from './options.ts';
import { PUBKEY_AUTH } from './values.ts';

export type Support =
  | { readonly kind: 'enforced' }
  | { readonly kind: 'refused'; readonly accepted: string; readonly asks: (s: OptionState) => boolean }
  /**
   * ssh built without the feature warns "Unsupported option" and goes on; so do we (the method is not tried).
   * `withAddon`: enforced when the GSS-API addon (native/gssapi) is built, warned about only without it.
   */
  | { readonly kind: 'warned'; readonly asks: (s: OptionState) => boolean; readonly withAddon?: boolean }
  | { readonly kind: 'inert'; readonly note: string }
  | { readonly kind: 'notice'; readonly note: string };

const enforced: Support = { kind: 'enforced' };
const refused = (accepted: string, asks: (s: OptionState) => boolean): Support => ({ kind: 'refused', accepted, asks });
const inert = (note: string): Support => ({ kind: 'inert', note });
const warned = (asks: (s: OptionState) => boolean): Support => ({ kind: 'warned', asks });
const isSet = (v: string | undefined): boolean => v !== undefined && v.toLowerCase() !== 'none';
const on = (v: number | undefined): boolean => v !== undefined && v !== 0;

const GSSAPI_OFF = 'no effect while GSSAPIAuthentication and GSSAPIKeyExchange are no';

/**
 * Whether the GSS-API addon is built, found the way gssapi-addon.ts finds it but without loading it (and the
 * Kerberos libraries): ssh's start-up should not pay for it on every run that has Debian's
 * `GSSAPIAuthentication yes` in /etc/ssh/ssh_config. Asked only when the keyword is on.
 */
let addonBuilt: boolean | undefined;
function gssapiAddonBuilt(): boolean {
  addonBuilt ??= findAddon(dirname(fileURLToPath(import.meta.url))) !== undefined;
  return addonBuilt;
}
/** Enforced with the addon; without it, warned about when on, as by an ssh built without GSSAPI. */
const withGssapiAddon = (asks: (s: OptionState) => boolean): Support => ({ kind: 'warned', asks: (s) => asks(s) && !gssapiAddonBuilt(), withAddon: true });
const HOSTBASED_OFF = 'no effect while HostbasedAuthentication is no';
const CANONICAL_OFF = 'no effect while CanonicalizeHostname is no';

/** Every ssh_config keyword (as ssh_config(5) spells it) and what Tether does with it. */
export const SUPPORT: ReadonlyArray<readonly [string, Support]> = [
  ['AddKeysToAgent', enforced],
  ['AddressFamily', enforced],
  ['BatchMode', enforced],
  ['BindAddress', enforced],
  ['BindInterface', refused('not set', (s) => s.bindInterface !== undefined)],
  ['CanonicalDomains', inert(CANONICAL_OFF)],
  ['CanonicalizeFallbackLocal', inert(CANONICAL_OFF)],
  ['CanonicalizeHostname', refused('no', (s) => on(s.canonicalizeHostname))],
  ['CanonicalizeMaxDots', inert(CANONICAL_OFF)],
  ['CanonicalizePermittedCNAMEs', inert(CANONICAL_OFF)],
  ['CASignatureAlgorithms', inert('no effect: host certificates are not implemented')],
  ['CertificateFile', enforced],
  ['ChallengeResponseAuthentication', enforced],
  ['CheckHostIP', enforced],
  ['Ciphers', enforced],
  ['ClearAllForwardings', enforced],
  ['Compression', enforced],
  ['ConnectionAttempts', enforced],
  ['ConnectTimeout', enforced],
  ['ControlMaster', enforced],
  ['ControlPath', enforced],
  ['ControlPersist', enforced],
  ['DSAAuthentication', enforced],
  ['DynamicForward', enforced],
  ['EnableEscapeCommandline', enforced],
  ['EnableSSHKeysign', inert(HOSTBASED_OFF)],
  ['EscapeChar', enforced],
  ['ExitOnForwardFailure', enforced],
  ['FingerprintHash', refused('SHA256, MD5', (s) => s.fingerprintHash !== undefined && !['SHA256', 'MD5'].includes(s.fingerprintHash))],
  ['ForkAfterAuthentication', enforced],
  ['ForwardAgent', enforced],
  ['ForwardX11', enforced],
  ['ForwardX11Timeout', enforced],
  ['ForwardX11Trusted', enforced],
  ['GatewayPorts', enforced],
  ['GlobalKnownHostsFile', enforced],
  ['GSSAPIAuthentication', withGssapiAddon((s) => on(s.gssapiAuthentication))],
  ['GSSAPIClientIdentity', inert(GSSAPI_OFF)],
  ['GSSAPIDelegateCredentials', enforced],
  ['GSSAPIKexAlgorithms', inert(GSSAPI_OFF)],
  ['GSSAPIKeyExchange', warned((s) => on(s.gssapiKeyExchange))],
  ['GSSAPIRenewalForcesRekey', inert(GSSAPI_OFF)],
  ['GSSAPIServerIdentity', enforced],
  ['GSSAPITrustDns', enforced],
  ['HashKnownHosts', enforced],
  ['Host', enforced],
  ['HostbasedAcceptedAlgorithms', inert(HOSTBASED_OFF)],
  ['HostbasedAuthentication', refused('no', (s) => on(s.hostbasedAuthentication))],
  ['HostbasedKeyTypes', inert(HOSTBASED_OFF)],
  ['HostKeyAlgorithms', enforced],
  ['HostKeyAlias', enforced],
  ['Hostname', enforced],
  ['IdentitiesOnly', enforced],
  ['IdentityAgent', enforced],
  ['IdentityFile', enforced],
  ['IdentityFile2', enforced],
  ['IgnoreUnknown', enforced],
  ['Include', enforced],
  ['IPQoS', enforced],
  ['KbdInteractiveAuthentication', enforced],
  ['KbdInteractiveDevices', refused('not set', (s) => s.kbdInteractiveDevices !== undefined)],
  ['KeepAlive', enforced],
  ['KexAlgorithms', enforced],
  ['KnownHostsCommand', enforced],
  ['LocalCommand', enforced],
  ['LocalForward', enforced],
  ['LogLevel', enforced],
  ['LogVerbose', refused('none', (s) => s.logVerbose.length > 0 && s.logVerbose[0]!.toLowerCase() !== 'none')],
  ['MACs', enforced],
  ['Match', enforced],
  ['NoHostAuthenticationForLocalhost', refused('no', (s) => on(s.noHostAuthenticationForLocalhost))],
  ['NumberOfPasswordPrompts', enforced],
  ['PasswordAuthentication', enforced],
  ['PermitLocalCommand', enforced],
  ['PermitRemoteOpen', enforced],
  ['PKCS11Provider', refused('none', (s) => isSet(s.pkcs11Provider))],
  ['Port', enforced],
  ['PreferredAuthentications', enforced],
  ['ProtocolKeepAlives', enforced],
  ['ProxyCommand', enforced],
  ['ProxyJump', enforced],
  ['ProxyUseFdpass', refused('no', (s) => on(s.proxyUseFdpass))],
  ['PubkeyAcceptedAlgorithms', enforced],
  ['PubkeyAcceptedKeyTypes', enforced],
  ['PubkeyAuthentication', refused('yes, no, unbound', (s) => s.pubkeyAuthentication === PUBKEY_AUTH.hostBound)],
  ['RekeyLimit', enforced],
  ['RemoteCommand', enforced],
  ['RemoteForward', enforced],
  ['RequestTTY', enforced],
  ['RequiredRSASize', refused('1024', (s) => s.requiredRSASize !== undefined && s.requiredRSASize !== 1024)],
  ['RevokedHostKeys', refused('none', (s) => isSet(s.revokedHostKeys))],
  ['SecurityKeyProvider', refused('internal', (s) => s.securityKeyProvider !== undefined && s.securityKeyProvider.toLowerCase() !== 'internal')],
  ['SendEnv', enforced],
  ['ServerAliveCountMax', enforced],
  ['ServerAliveInterval', enforced],
  ['Session', enforced],
  ['SessionResume', enforced],
  ['SessionResumeTimeout', enforced],
  ['SessionType', enforced],
  ['SetEnv', enforced],
  ['SetupTimeOut', enforced],
  ['SmartcardDevice', refused('none', (s) => isSet(s.pkcs11Provider))],
  ['StdinNull', enforced],
  ['StreamLocalBindMask', enforced],
  ['StreamLocalBindUnlink', enforced],
  ['StrictHostKeyChecking', enforced],
  ['SyslogFacility', refused('USER', (s) => s.syslogFacility !== undefined && s.syslogFacility !== 'USER')],
  ['TCPKeepAlive', enforced],
  ['TISAuthentication', enforced],
  ['SKeyAuthentication', enforced],
  ['Tunnel', refused('no', (s) => on(s.tunnel))],
  ['TunnelDevice', inert('no effect while Tunnel is no')],
  ['UpdateHostKeys', enforced],
  ['User', enforced],
  ['UserKnownHostsFile', enforced],
  ['VerifyHostKeyDNS', refused('no', (s) => on(s.verifyHostKeyDNS))],
  ['VisualHostKey', refused('no', (s) => on(s.visualHostKey))],
  ['XAuthLocation', enforced],
  // Keywords ssh itself only warns about (or ignores).
  ...['AFSTokenPassing', 'CompressionLevel', 'KerberosAuthentication', 'KerberosTGTPassing', 'RhostsRSAAuthentication',
    'RSAAuthentication'].map((k) => [k, { kind: 'notice', note: 'not in this OpenSSH build: ssh warns and ignores it' }] as const),
  ...['Cipher', 'FallBackToRsh', 'GlobalKnownHostsFile2', 'RhostsAuthentication', 'UseBlacklistedKeys', 'UsePrivilegedPort',
    'UserKnownHostsFile2', 'UseRoaming', 'UseRsh'].map((k) => [k, { kind: 'notice', note: 'deprecated: ssh -v notes it and ignores it' }] as const),
  ['Protocol', { kind: 'notice', note: 'ignored silently, as ssh does' }],
];

const BY_KEYWORD = new Map(SUPPORT.map(([name, support]) => [name.toLowerCase(), support]));

/** What Tether does with a keyword (case-insensitive). */
export function supportOf(keyword: string): Support | undefined {
  return BY_KEYWORD.get(keyword.toLowerCase());
}

/** The refusal (or warning) check for a keyword, if it has one. */
export function refusalOf(keyword: string): Extract<Support, { kind: 'refused' | 'warned' }> | undefined {
  const support = BY_KEYWORD.get(keyword.toLowerCase());
  return support?.kind === 'refused' || support?.kind === 'warned' ? support : undefined;
}

/**
 * The keywords whose effective value asks for something unimplemented (deduplicated by check, so an alias
 * is named once). Used after the command-line flags (-w, -I, ...), which set options without a line.
 */
export function unimplementedIn(state: OptionState): string[] {
  const seen = new Set<unknown>();
  const out: string[] = [];
  for (const [name, support] of SUPPORT) {
    if (support.kind !== 'refused' || seen.has(support.asks)) continue;
    seen.add(support.asks);
    if (support.asks(state)) out.push(name.toLowerCase());
  }
  return out;
}
