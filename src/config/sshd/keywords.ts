// Every keyword OpenSSH 9.2's sshd accepts (servconf.c keywords[], plus the Debian 12 build's GSSAPI key
// exchange and DebianBanner additions, plus OpenSSH 9.8's PerSourcePenalties and PerSourcePenaltyExemptList),
// the option each sets, and where it may appear: "global" keywords are refused inside a Match block; "all"
// keywords may also appear there. Keywords sshd only warns about are marked deprecated/unsupported;
// "Protocol" is silently ignored.

export type KeywordScope = 'global' | 'all';

/** The option a keyword sets (several spellings may set one option, e.g. ChallengeResponseAuthentication). */
export type OptionId =
  | 'usePAM' | 'port' | 'hostKey' | 'hostKeyAgent' | 'pidFile' | 'moduliFile' | 'loginGraceTime'
  | 'permitRootLogin' | 'syslogFacility' | 'logLevel' | 'logVerbose' | 'hostbasedAuthentication'
  | 'hostbasedUsesNameFromPacketOnly' | 'hostbasedAcceptedAlgorithms' | 'hostKeyAlgorithms'
  | 'pubkeyAuthentication' | 'pubkeyAcceptedAlgorithms' | 'pubkeyAuthOptions' | 'kerberosAuthentication'
  | 'kerberosOrLocalPasswd' | 'kerberosTicketCleanup' | 'gssapiAuthentication' | 'gssapiCleanupCredentials'
  | 'gssapiStrictAcceptorCheck' | 'gssapiKeyExchange' | 'gssapiStoreCredentialsOnRekey' | 'gssapiKexAlgorithms'
  | 'passwordAuthentication' | 'kbdInteractiveAuthentication' | 'listenAddress' | 'addressFamily' | 'printMotd'
  | 'printLastLog' | 'ignoreRhosts' | 'ignoreUserKnownHosts' | 'x11Forwarding' | 'x11DisplayOffset'
  | 'x11UseLocalhost' | 'x11MaxDisplays' | 'xauthLocation' | 'strictModes' | 'permitEmptyPasswords' | 'permitUserEnvironment'
  | 'compression' | 'rekeyLimit' | 'tcpKeepAlive' | 'allowTcpForwarding' | 'allowAgentForwarding'
  | 'allowUsers' | 'denyUsers' | 'allowGroups' | 'denyGroups' | 'ciphers' | 'macs' | 'gatewayPorts'
  | 'subsystem' | 'maxStartups' | 'perSourceMaxStartups' | 'perSourceNetBlockSize' | 'perSourcePenalties'
  | 'perSourcePenaltyExemptList' | 'maxAuthTries'
  | 'maxSessions' | 'maxChannels' | 'maxPendingOpens' | 'maxPendingGlobalRequests' | 'maxForwards'
  | 'maxForwardsPerUser' | 'maxSessionsPerUser' | 'banner' | 'useDNS' | 'clientAliveInterval' | 'clientAliveCountMax' | 'authorizedKeysFile'
  | 'acceptEnv' | 'setEnv' | 'permitTunnel' | 'permitTTY' | 'permitUserRC' | 'match' | 'permitOpen'
  | 'permitListen' | 'forceCommand' | 'chrootDirectory' | 'hostCertificate' | 'revokedKeys'
  | 'trustedUserCAKeys' | 'authorizedPrincipalsFile' | 'kexAlgorithms' | 'include' | 'ipQoS'
  | 'authorizedKeysCommand' | 'authorizedKeysCommandUser' | 'authorizedPrincipalsCommand'
  | 'authorizedPrincipalsCommandUser' | 'versionAddendum' | 'authenticationMethods' | 'streamLocalBindMask'
  | 'streamLocalBindUnlink' | 'allowStreamLocalForwarding' | 'fingerprintHash' | 'disableForwarding'
  | 'exposeAuthInfo' | 'rdomain' | 'caSignatureAlgorithms' | 'securityKeyProvider' | 'requiredRSASize'
  | 'channelTimeout' | 'unusedConnectionTimeout' | 'debianBanner'
  | 'persistentSessions' | 'persistentSessionTimeout' | 'persistentSessionLogSize' | 'persistentSessionDirectory'
  | 'deprecated' | 'unsupported' | 'ignore';

export interface KeywordInfo {
  option: OptionId;
  scope: KeywordScope;
}

const G: KeywordScope = 'global';
const A: KeywordScope = 'all';

/** Lower-case keyword → option and scope. Insertion order is servconf.c's table order. */
export const KEYWORDS: ReadonlyMap<string, KeywordInfo> = new Map<string, KeywordInfo>(
  (
    [
      ['usepam', 'usePAM', G],
      ['pamauthenticationviakbdint', 'deprecated', G],
      ['port', 'port', G],
      ['hostkey', 'hostKey', G],
      ['hostdsakey', 'hostKey', G],
      ['hostkeyagent', 'hostKeyAgent', G],
      ['pidfile', 'pidFile', G],
      ['modulifile', 'moduliFile', G],
      ['serverkeybits', 'deprecated', G],
      ['logingracetime', 'loginGraceTime', G],
      ['keyregenerationinterval', 'deprecated', G],
      ['permitrootlogin', 'permitRootLogin', A],
      ['syslogfacility', 'syslogFacility', G],
      ['loglevel', 'logLevel', A],
      ['logverbose', 'logVerbose', A],
      ['rhostsauthentication', 'deprecated', G],
      ['rhostsrsaauthentication', 'deprecated', A],
      ['hostbasedauthentication', 'hostbasedAuthentication', A],
      ['hostbasedusesnamefrompacketonly', 'hostbasedUsesNameFromPacketOnly', A],
      ['hostbasedacceptedalgorithms', 'hostbasedAcceptedAlgorithms', A],
      ['hostbasedacceptedkeytypes', 'hostbasedAcceptedAlgorithms', A],
      ['hostkeyalgorithms', 'hostKeyAlgorithms', G],
      ['rsaauthentication', 'deprecated', A],
      ['pubkeyauthentication', 'pubkeyAuthentication', A],
      ['pubkeyacceptedalgorithms', 'pubkeyAcceptedAlgorithms', A],
      ['pubkeyacceptedkeytypes', 'pubkeyAcceptedAlgorithms', A],
      ['pubkeyauthoptions', 'pubkeyAuthOptions', A],
      ['dsaauthentication', 'pubkeyAuthentication', G],
      ['kerberosauthentication', 'kerberosAuthentication', A],
      ['kerberosorlocalpasswd', 'kerberosOrLocalPasswd', G],
      ['kerberosticketcleanup', 'kerberosTicketCleanup', G],
      ['kerberosgetafstoken', 'unsupported', G],
      ['kerberostgtpassing', 'unsupported', G],
      ['afstokenpassing', 'unsupported', G],
      ['gssapiauthentication', 'gssapiAuthentication', A],
      ['gssapicleanupcredentials', 'gssapiCleanupCredentials', G],
      ['gssapicleanupcreds', 'gssapiCleanupCredentials', G],
      ['gssapistrictacceptorcheck', 'gssapiStrictAcceptorCheck', G],
      ['gssapikeyexchange', 'gssapiKeyExchange', G],
      ['gssapistorecredentialsonrekey', 'gssapiStoreCredentialsOnRekey', G],
      ['gssapikexalgorithms', 'gssapiKexAlgorithms', G],
      ['gssusesessionccache', 'unsupported', G],
      ['gssapiusesessioncredcache', 'unsupported', G],
      ['passwordauthentication', 'passwordAuthentication', A],
      ['kbdinteractiveauthentication', 'kbdInteractiveAuthentication', A],
      ['challengeresponseauthentication', 'kbdInteractiveAuthentication', A],
      ['skeyauthentication', 'kbdInteractiveAuthentication', A],
      ['checkmail', 'deprecated', G],
      ['listenaddress', 'listenAddress', G],
      ['addressfamily', 'addressFamily', G],
      ['printmotd', 'printMotd', G],
      ['printlastlog', 'printLastLog', G],
      ['ignorerhosts', 'ignoreRhosts', A],
      ['ignoreuserknownhosts', 'ignoreUserKnownHosts', G],
      ['x11forwarding', 'x11Forwarding', A],
      ['x11displayoffset', 'x11DisplayOffset', A],
      ['x11uselocalhost', 'x11UseLocalhost', A],
      ['xauthlocation', 'xauthLocation', G],
      // Not in OpenSSH: Fedora's and RHEL's sshd name the display limit (channels.c MAX_DISPLAYS) this way.
      ['x11maxdisplays', 'x11MaxDisplays', A],
      ['strictmodes', 'strictModes', G],
      ['permitblacklistedkeys', 'deprecated', G],
      ['permitemptypasswords', 'permitEmptyPasswords', A],
      ['permituserenvironment', 'permitUserEnvironment', G],
      ['uselogin', 'deprecated', G],
      ['compression', 'compression', G],
      ['rekeylimit', 'rekeyLimit', A],
      ['tcpkeepalive', 'tcpKeepAlive', G],
      ['keepalive', 'tcpKeepAlive', G],
      ['allowtcpforwarding', 'allowTcpForwarding', A],
      ['allowagentforwarding', 'allowAgentForwarding', A],
      ['allowusers', 'allowUsers', A],
      ['denyusers', 'denyUsers', A],
      ['allowgroups', 'allowGroups', A],
      ['denygroups', 'denyGroups', A],
      ['ciphers', 'ciphers', G],
      ['macs', 'macs', G],
      ['protocol', 'ignore', G],
      ['gatewayports', 'gatewayPorts', A],
      ['subsystem', 'subsystem', G],
      ['maxstartups', 'maxStartups', G],
      ['persourcemaxstartups', 'perSourceMaxStartups', G],
      ['persourcenetblocksize', 'perSourceNetBlockSize', G],
      ['persourcepenalties', 'perSourcePenalties', G],
      ['persourcepenaltyexemptlist', 'perSourcePenaltyExemptList', G],
      ['maxauthtries', 'maxAuthTries', A],
      ['maxsessions', 'maxSessions', A],
      // Tether's own resource caps (no OpenSSH keyword: sshd's per-connection processes bound these by
      // themselves); resource-limits.ts and connection/limits.ts say what each counts.
      ['maxchannels', 'maxChannels', A],
      ['maxpendingopens', 'maxPendingOpens', A],
      ['maxpendingglobalrequests', 'maxPendingGlobalRequests', A],
      ['maxforwards', 'maxForwards', A],
      ['maxforwardsperuser', 'maxForwardsPerUser', A],
      ['maxsessionsperuser', 'maxSessionsPerUser', A],
      ['banner', 'banner', A],
      ['usedns', 'useDNS', G],
      ['verifyreversemapping', 'deprecated', G],
      ['reversemappingcheck', 'deprecated', G],
      ['clientaliveinterval', 'clientAliveInterval', A],
      ['clientalivecountmax', 'clientAliveCountMax', A],
      ['authorizedkeysfile', 'authorizedKeysFile', A],
      ['authorizedkeysfile2', 'deprecated', A],
      ['useprivilegeseparation', 'deprecated', G],
      ['acceptenv', 'acceptEnv', A],
      ['setenv', 'setEnv', A],
      ['permittunnel', 'permitTunnel', A],
      ['permittty', 'permitTTY', A],
      ['permituserrc', 'permitUserRC', A],
      ['match', 'match', A],
      ['permitopen', 'permitOpen', A],
      ['permitlisten', 'permitListen', A],
      ['forcecommand', 'forceCommand', A],
      ['chrootdirectory', 'chrootDirectory', A],
      ['hostcertificate', 'hostCertificate', G],
      ['revokedkeys', 'revokedKeys', A],
      ['trustedusercakeys', 'trustedUserCAKeys', A],
      ['authorizedprincipalsfile', 'authorizedPrincipalsFile', A],
      ['kexalgorithms', 'kexAlgorithms', G],
      ['include', 'include', A],
      ['ipqos', 'ipQoS', A],
      ['authorizedkeyscommand', 'authorizedKeysCommand', A],
      ['authorizedkeyscommanduser', 'authorizedKeysCommandUser', A],
      ['authorizedprincipalscommand', 'authorizedPrincipalsCommand', A],
      ['authorizedprincipalscommanduser', 'authorizedPrincipalsCommandUser', A],
      ['versionaddendum', 'versionAddendum', G],
      ['authenticationmethods', 'authenticationMethods', A],
      ['streamlocalbindmask', 'streamLocalBindMask', A],
      ['streamlocalbindunlink', 'streamLocalBindUnlink', A],
      ['allowstreamlocalforwarding', 'allowStreamLocalForwarding', A],
      ['fingerprinthash', 'fingerprintHash', G],
      ['disableforwarding', 'disableForwarding', A],
      ['exposeauthinfo', 'exposeAuthInfo', A],
      ['rdomain', 'rdomain', A],
      ['casignaturealgorithms', 'caSignatureAlgorithms', A],
      ['securitykeyprovider', 'securityKeyProvider', G],
      ['requiredrsasize', 'requiredRSASize', A],
      ['channeltimeout', 'channelTimeout', A],
      ['unusedconnectiontimeout', 'unusedConnectionTimeout', A],
      ['debianbanner', 'debianBanner', G],
      // Tether's persistent sessions (docs/PROTOCOL.sessions, config/sshd/persistent-settings.ts).
      ['persistentsessions', 'persistentSessions', A],
      ['persistentsessiontimeout', 'persistentSessionTimeout', A],
      ['persistentsessionlogsize', 'persistentSessionLogSize', A],
      ['persistentsessiondirectory', 'persistentSessionDirectory', G],
    ] as Array<[string, OptionId, KeywordScope]>
  ).map(([name, option, scope]) => [name, { option, scope }]),
);

/** Looks a keyword up case-insensitively, as sshd's parse_token does. */
export function lookupKeyword(keyword: string): KeywordInfo | undefined {
  return KEYWORDS.get(keyword.toLowerCase());
}
