// What Tether's server does with each sshd_config keyword: enforced (it acts on the value), refused when the
// value asks for something Tether does not implement (the configuration is then an error naming file and
// line, "Unsupported option <keyword>"), accepted because it has no effect while the keywords it depends on
// are off, or logged and ignored as sshd itself does. The README's keyword list is generated from this table
// and a unit test keeps it complete against keywords.ts.
import { lookupKeyword, type OptionId } from './keywords.ts';
import type { SshdOptionSet } from './settings.ts';

export type Support =
  | { kind: 'enforced' }
  | { kind: 'refused'; accepted: string; asks: (o: SshdOptionSet) => boolean }
  | { kind: 'inert'; note: string }
  | { kind: 'notice'; note: string };

const enforced: Support = { kind: 'enforced' };
const refused = (accepted: string, asks: (o: SshdOptionSet) => boolean): Support => ({ kind: 'refused', accepted, asks });
const inert = (note: string): Support => ({ kind: 'inert', note });
const deprecated: Support = { kind: 'notice', note: 'deprecated: sshd warns and ignores it' };
const unsupported: Support = { kind: 'notice', note: 'not in this OpenSSH build: sshd warns and ignores it' };
const isSet = (v: string | undefined | null): boolean => v !== undefined && v !== null && v.toLowerCase() !== 'none';
const nonEmpty = (l: string[] | undefined): boolean => (l ?? []).length > 0 && !(l!.length === 1 && l![0]!.toLowerCase() === 'none');

const HOSTBASED_OFF = 'no effect while HostbasedAuthentication is no';
const GSSAPI_KEX_OFF = 'no effect while GSSAPIKeyExchange is no';
const KERBEROS_OFF = 'no effect while KerberosAuthentication is no';

/** Every sshd_config keyword (as sshd_config(5) spells it) and what Tether does with it. */
export const SUPPORT: ReadonlyArray<readonly [string, Support]> = [
  ['AcceptEnv', enforced],
  ['AddressFamily', enforced],
  ['AllowAgentForwarding', enforced],
  ['AllowGroups', enforced],
  ['AllowStreamLocalForwarding', enforced],
  ['AllowTcpForwarding', enforced],
  ['AllowUsers', enforced],
  ['AuthenticationMethods', enforced],
  ['AuthorizedKeysCommand', enforced],
  ['AuthorizedKeysCommandUser', enforced],
  ['AuthorizedKeysFile', enforced],
  ['AuthorizedPrincipalsCommand', enforced],
  ['AuthorizedPrincipalsCommandUser', enforced],
  ['AuthorizedPrincipalsFile', enforced],
  ['Banner', enforced],
  ['CASignatureAlgorithms', enforced],
  ['ChallengeResponseAuthentication', enforced],
  ['ChannelTimeout', refused('none', (o) => nonEmpty(o.channelTimeouts))],
  // Enforced for internal-sftp sessions (paths confined by the SFTP server); any other session is refused.
  ['ChrootDirectory', enforced],
  ['Ciphers', enforced],
  ['ClientAliveCountMax', enforced],
  ['ClientAliveInterval', enforced],
  ['Compression', enforced],
  // yes: the identification string's comment names the OS ("SSH-2.0-Tether_0.1 Linux"), no: none (server.ts).
  ['DebianBanner', enforced],
  ['DenyGroups', enforced],
  ['DenyUsers', enforced],
  ['DisableForwarding', enforced],
  ['DSAAuthentication', enforced],
  ['ExposeAuthInfo', refused('no', (o) => o.exposeAuthInfo === true)],
  ['FingerprintHash', refused('SHA256', (o) => o.fingerprintHash !== undefined && o.fingerprintHash !== 'SHA256')],
  ['ForceCommand', enforced],
  ['GatewayPorts', enforced],
  // gssapi-with-mic (RFC 4462 §3) with the Kerberos 5 mechanism, through native/gssapi (src/auth/server-gssapi.ts);
  // without the addon built the method is not offered, and the server logs why (once, at the first login).
  ['GSSAPIAuthentication', enforced],
  ['GSSAPICleanupCreds', enforced],
  ['GSSAPICleanupCredentials', enforced],
  ['GSSAPIKexAlgorithms', inert(GSSAPI_KEX_OFF)],
  // Debian's gssapi-keyex patch (GSS-API key exchange, RFC 4462 §2) is not implemented.
  ['GSSAPIKeyExchange', refused('no', (o) => o.gssapiKeyExchange === true)],
  ['GSSAPIStoreCredentialsOnRekey', inert(GSSAPI_KEX_OFF)],
  ['GSSAPIStrictAcceptorCheck', enforced],
  ['GSSAPIUseSessionCredCache', unsupported],
  ['GSSUseSessionCCache', unsupported],
  ['HostbasedAcceptedAlgorithms', inert(HOSTBASED_OFF)],
  ['HostbasedAcceptedKeyTypes', inert(HOSTBASED_OFF)],
  ['HostbasedAuthentication', refused('no', (o) => o.hostbasedAuthentication === true)],
  ['HostbasedUsesNameFromPacketOnly', inert(HOSTBASED_OFF)],
  ['HostCertificate', refused('not set', (o) => (o.hostCertificates ?? []).length > 0)],
  ['HostDSAKey', enforced],
  ['HostKey', enforced],
  ['HostKeyAgent', refused('none', (o) => isSet(o.hostKeyAgent))],
  ['HostKeyAlgorithms', enforced],
  ['IgnoreRhosts', inert(HOSTBASED_OFF)],
  ['IgnoreUserKnownHosts', inert(HOSTBASED_OFF)],
  ['Include', enforced],
  ['IPQoS', enforced],
  ['KbdInteractiveAuthentication', enforced],
  ['KerberosAuthentication', refused('no', (o) => o.kerberosAuthentication === true)],
  ['KerberosOrLocalPasswd', inert(KERBEROS_OFF)],
  ['KerberosTicketCleanup', inert(KERBEROS_OFF)],
  ['KexAlgorithms', enforced],
  ['KeepAlive', enforced],
  ['ListenAddress', enforced],
  ['LoginGraceTime', enforced],
  ['LogLevel', enforced],
  ['LogVerbose', refused('none', (o) => nonEmpty(o.logVerbose))],
  ['MACs', enforced],
  ['Match', enforced],
  ['MaxAuthTries', enforced],
  ['MaxSessions', enforced],
  // Tether's own caps (resource-limits.ts, connection/limits.ts): one user cannot exhaust the one process.
  ['MaxChannels', enforced],
  ['MaxPendingOpens', enforced],
  ['MaxPendingGlobalRequests', enforced],
  ['MaxForwards', enforced],
  ['MaxForwardsPerUser', enforced],
  ['MaxSessionsPerUser', enforced],
  ['MaxStartups', enforced],
  ['ModuliFile', enforced],
  ['PasswordAuthentication', enforced],
  ['PermitEmptyPasswords', enforced],
  ['PermitListen', enforced],
  ['PermitOpen', enforced],
  ['PermitRootLogin', enforced],
  ['PermitTTY', enforced],
  ['PermitTunnel', refused('no', (o) => o.permitTunnel !== undefined && o.permitTunnel !== 'no')],
  ['PermitUserEnvironment', enforced],
  // ~/.ssh/rc (with no-user-rc / restrict / ForceCommand / subsystems as in sshd), else /etc/ssh/sshrc (user-rc.ts).
  ['PermitUserRC', enforced],
  // Tether's persistent sessions (docs/PROTOCOL.sessions; src/server/persistent-session.ts).
  ['PersistentSessionDirectory', enforced],
  ['PersistentSessionLogSize', enforced],
  ['PersistentSessions', enforced],
  ['PersistentSessionTimeout', enforced],
  ['PerSourceMaxStartups', enforced],
  ['PerSourceNetBlockSize', enforced],
  ['PerSourcePenalties', enforced],
  ['PerSourcePenaltyExemptList', enforced],
  ['PidFile', enforced],
  ['Port', enforced],
  // Terminal sessions read and write lastlog, and add utmp / wtmp login and logout records (login-records.ts).
  ['PrintLastLog', enforced],
  ['PrintMotd', enforced],
  ['PubkeyAcceptedAlgorithms', enforced],
  ['PubkeyAcceptedKeyTypes', enforced],
  ['PubkeyAuthentication', enforced],
  ['PubkeyAuthOptions', inert('accepted; security-key (sk-*) user keys are not accepted at all')],
  ['RDomain', refused('never: sshd refuses it on Linux too', () => false)],
  ['RekeyLimit', enforced],
  ['RequiredRSASize', enforced],
  ['RevokedKeys', enforced],
  ['SecurityKeyProvider', refused('internal', (o) => o.securityKeyProvider != null && o.securityKeyProvider.toLowerCase() !== 'internal')],
  ['SetEnv', enforced],
  ['SKeyAuthentication', enforced],
  ['StreamLocalBindMask', enforced],
  ['StreamLocalBindUnlink', enforced],
  ['StrictModes', enforced],
  ['Subsystem', enforced],
  ['SyslogFacility', refused('AUTH', (o) => o.syslogFacility !== undefined && o.syslogFacility !== 'AUTH')],
  ['TCPKeepAlive', enforced],
  ['TrustedUserCAKeys', enforced],
  ['UnusedConnectionTimeout', refused('none', (o) => (o.unusedConnectionTimeout ?? 0) !== 0)],
  ['UseDNS', refused('no', (o) => o.useDNS === true)],
  ['UsePAM', refused('no', (o) => o.usePAM === true)],
  ['VersionAddendum', enforced],
  // X11 forwarding on the server: src/server/x11/.
  ['X11DisplayOffset', enforced],
  ['X11Forwarding', enforced],
  ['X11MaxDisplays', enforced],
  ['X11UseLocalhost', enforced],
  ['XAuthLocation', enforced],
  // Keywords sshd itself only warns about (or silently ignores).
  ...['AFSTokenPassing', 'KerberosGetAFSToken', 'KerberosTGTPassing'].map((k) => [k, unsupported] as const),
  ...[
    'AuthorizedKeysFile2', 'CheckMail', 'KeyRegenerationInterval', 'PAMAuthenticationViaKbdInt', 'PermitBlacklistedKeys',
    'ReverseMappingCheck', 'RhostsAuthentication', 'RhostsRSAAuthentication', 'RSAAuthentication', 'ServerKeyBits',
    'UseLogin', 'UsePrivilegeSeparation', 'VerifyReverseMapping',
  ].map((k) => [k, deprecated] as const),
  ['Protocol', { kind: 'notice', note: 'ignored silently, as sshd does' }],
];

const BY_KEYWORD = new Map(SUPPORT.map(([name, support]) => [name.toLowerCase(), support]));

/** What Tether does with a keyword (case-insensitive). */
export function supportOf(keyword: string): Support | undefined {
  return BY_KEYWORD.get(keyword.toLowerCase());
}

/** The refusal check for each option a refusable keyword sets (aliases set the same option). */
export const UNIMPLEMENTED: Partial<Record<OptionId, Extract<Support, { kind: 'refused' }>>> = {};
for (const [name, support] of SUPPORT) {
  const option = lookupKeyword(name)?.option;
  if (support.kind === 'refused' && option !== undefined) UNIMPLEMENTED[option] = support;
}
