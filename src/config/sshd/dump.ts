// `sshd -T` output (servconf.c dump_config): every setting on its own line, lower-case keyword first, in
// sshd's order and with its spellings ("without-password", "yes" for "delayed", octal masks, ...). The
// Debian 12 build adds its GSSAPI key-exchange lines after gssapicleanupcredentials; the PerSourcePenalties
// lines are where OpenSSH 9.8 prints them.
import type { EffectiveSshdSettings } from './settings.ts';
import { ipqosName as formatIpQos } from '../values.ts';
import { persistentSessionDashT } from './persistent-settings.ts';

const yesNo = (b: boolean): string => (b ? 'yes' : 'no');
const orNone = (s: string | null): string => s ?? 'none';

/** The listenaddress lines: per ListenAddress in order, each one's resolved addresses as sshd lists them. */
function listenLines(s: EffectiveSshdSettings): string[] {
  return s.listenAddresses.map((a) => {
    const host = a.family === 6 ? `[${a.address}]` : a.address;
    return `listenaddress ${host}:${a.port}${a.rdomain === null ? '' : ` rdomain ${a.rdomain}`}`;
  });
}

/** OpenSSH 9.8's persourcepenalties line: "no", or every item with its value in seconds. */
function penaltiesLine(p: EffectiveSshdSettings['perSourcePenalties']): string {
  if (!p.enabled) return 'no';
  return [
    `crash:${p.crash}`, `authfail:${p.authfail}`, `noauth:${p.noauth}`, `grace-exceeded:${p.graceExceeded}`,
    `max:${p.max}`, `min:${p.min}`, `max-sources4:${p.maxSources4}`, `max-sources6:${p.maxSources6}`,
    `overflow:${p.overflow}`, `overflow6:${p.overflow6}`,
  ].join(' ');
}

/** Exactly what `sshd -T` prints for these settings (one line per entry, each ending in "\n"). */
export function formatDashT(s: EffectiveSshdSettings): string {
  const out: string[] = [];
  const line = (keyword: string, value: string | number): void => {
    out.push(`${keyword} ${value}`);
  };
  for (const port of s.ports) line('port', port);
  line('addressfamily', s.addressFamily);
  out.push(...listenLines(s));
  line('usepam', yesNo(s.usePAM));
  line('logingracetime', s.loginGraceTime);
  line('x11displayoffset', s.x11DisplayOffset);
  line('maxauthtries', s.maxAuthTries);
  line('maxsessions', s.maxSessions);
  line('clientaliveinterval', s.clientAliveInterval);
  line('clientalivecountmax', s.clientAliveCountMax);
  line('requiredrsasize', s.requiredRSASize);
  line('streamlocalbindmask', `0${s.streamLocalBindMask.toString(8)}`);
  line('unusedconnectiontimeout', s.unusedConnectionTimeout === 0 ? 'none' : s.unusedConnectionTimeout);
  line('permitrootlogin', s.permitRootLogin === 'prohibit-password' ? 'without-password' : s.permitRootLogin);
  line('ignorerhosts', s.ignoreRhosts);
  line('ignoreuserknownhosts', yesNo(s.ignoreUserKnownHosts));
  line('hostbasedauthentication', yesNo(s.hostbasedAuthentication));
  line('hostbasedusesnamefrompacketonly', yesNo(s.hostbasedUsesNameFromPacketOnly));
  line('pubkeyauthentication', yesNo(s.pubkeyAuthentication));
  line('kerberosauthentication', yesNo(s.kerberosAuthentication));
  line('kerberosorlocalpasswd', yesNo(s.kerberosOrLocalPasswd));
  line('kerberosticketcleanup', yesNo(s.kerberosTicketCleanup));
  line('gssapiauthentication', yesNo(s.gssapiAuthentication));
  line('gssapicleanupcredentials', yesNo(s.gssapiCleanupCredentials));
  line('gssapikeyexchange', yesNo(s.gssapiKeyExchange));
  line('gssapistrictacceptorcheck', yesNo(s.gssapiStrictAcceptorCheck));
  line('gssapistorecredentialsonrekey', yesNo(s.gssapiStoreCredentialsOnRekey));
  line('gssapikexalgorithms', s.gssapiKexAlgorithms);
  line('passwordauthentication', yesNo(s.passwordAuthentication));
  line('kbdinteractiveauthentication', yesNo(s.kbdInteractiveAuthentication));
  line('printmotd', yesNo(s.printMotd));
  line('printlastlog', yesNo(s.printLastLog));
  line('x11forwarding', yesNo(s.x11Forwarding));
  line('x11uselocalhost', yesNo(s.x11UseLocalhost));
  line('permittty', yesNo(s.permitTTY));
  line('permituserrc', yesNo(s.permitUserRC));
  line('strictmodes', yesNo(s.strictModes));
  line('tcpkeepalive', yesNo(s.tcpKeepAlive));
  line('permitemptypasswords', yesNo(s.permitEmptyPasswords));
  line('compression', yesNo(s.compression));
  line('gatewayports', s.gatewayPorts);
  line('usedns', yesNo(s.useDNS));
  line('allowtcpforwarding', s.allowTcpForwarding);
  line('allowagentforwarding', yesNo(s.allowAgentForwarding));
  line('disableforwarding', yesNo(s.disableForwarding));
  line('allowstreamlocalforwarding', s.allowStreamLocalForwarding);
  line('streamlocalbindunlink', yesNo(s.streamLocalBindUnlink));
  line('fingerprinthash', s.fingerprintHash);
  line('exposeauthinfo', yesNo(s.exposeAuthInfo));
  line('pidfile', orNone(s.pidFile));
  line('modulifile', s.moduliFile);
  line('xauthlocation', orNone(s.xauthLocation));
  line('ciphers', s.ciphers.join(','));
  line('macs', s.macs.join(','));
  line('banner', orNone(s.banner));
  line('forcecommand', orNone(s.forceCommand));
  line('chrootdirectory', orNone(s.chrootDirectory));
  line('trustedusercakeys', orNone(s.trustedUserCAKeys));
  line('revokedkeys', orNone(s.revokedKeys));
  line('securitykeyprovider', orNone(s.securityKeyProvider));
  line('authorizedprincipalsfile', orNone(s.authorizedPrincipalsFile));
  line('versionaddendum', s.versionAddendum === '' ? 'none' : s.versionAddendum);
  line('authorizedkeyscommand', orNone(s.authorizedKeysCommand));
  line('authorizedkeyscommanduser', orNone(s.authorizedKeysCommandUser));
  line('authorizedprincipalscommand', orNone(s.authorizedPrincipalsCommand));
  line('authorizedprincipalscommanduser', orNone(s.authorizedPrincipalsCommandUser));
  line('hostkeyagent', orNone(s.hostKeyAgent));
  line('kexalgorithms', s.kexAlgorithms.join(','));
  line('casignaturealgorithms', s.caSignatureAlgorithms.join(','));
  line('hostbasedacceptedalgorithms', s.hostbasedAcceptedAlgorithms.join(','));
  line('hostkeyalgorithms', s.hostKeyAlgorithms.join(','));
  line('pubkeyacceptedalgorithms', s.pubkeyAcceptedAlgorithms.join(','));
  // OpenSSH 9.8's lines, printed only when the configuration uses its keywords: a 9.2 configuration's
  // output stays sshd 9.2's, line for line.
  const penalties = s.perSourcePenalties.enabled || s.perSourcePenaltyExemptList !== null;
  if (penalties) line('persourcepenaltyexemptlist', orNone(s.perSourcePenaltyExemptList));
  line('loglevel', s.logLevel);
  line('syslogfacility', s.syslogFacility);
  line('authorizedkeysfile', s.authorizedKeysFiles.join(' '));
  for (const v of s.hostKeys) line('hostkey', v);
  for (const v of s.hostCertificates) line('hostcertificate', v);
  for (const v of s.allowUsers) line('allowusers', v);
  for (const v of s.denyUsers) line('denyusers', v);
  for (const v of s.allowGroups) line('allowgroups', v);
  for (const v of s.denyGroups) line('denygroups', v);
  for (const v of s.acceptEnv) line('acceptenv', v);
  for (const v of s.setEnv) line('setenv', v);
  line('authenticationmethods', s.authenticationMethods.length === 0 ? 'any' : s.authenticationMethods.join(' '));
  if (s.logVerbose.length > 0) line('logverbose', s.logVerbose.join(' '));
  if (s.channelTimeouts.length > 0) line('channeltimeout', s.channelTimeouts.join(' '));
  for (const sub of s.subsystems) line('subsystem', `${sub.name} ${sub.commandLine}`);
  line('maxstartups', `${s.maxStartups.begin}:${s.maxStartups.rate}:${s.maxStartups.full}`);
  line('persourcemaxstartups', s.perSourceMaxStartups === null ? 'none' : s.perSourceMaxStartups);
  line('persourcenetblocksize', `${s.perSourceNetBlockSize.ipv4}:${s.perSourceNetBlockSize.ipv6}`);
  line('permittunnel', s.permitTunnel);
  line('ipqos', `${formatIpQos(s.ipQoS.interactive)} ${formatIpQos(s.ipQoS.bulk)}`);
  line('rekeylimit', `${s.rekeyLimit.bytes} ${s.rekeyLimit.intervalSeconds}`);
  line('permitopen', s.permitOpen.length === 0 ? 'any' : s.permitOpen.join(' '));
  line('permitlisten', s.permitListen.length === 0 ? 'any' : s.permitListen.join(' '));
  line('permituserenvironment', s.permitUserEnvironmentAllowlist ?? yesNo(s.permitUserEnvironment));
  const pk = s.pubkeyAuthOptions;
  const pkWords = [...(pk.touchRequired ? ['touch-required'] : []), ...(pk.verifyRequired ? ['verify-required'] : [])];
  line('pubkeyauthoptions', pkWords.length === 0 ? 'none' : pkWords.join(' '));
  if (penalties) line('persourcepenalties', penaltiesLine(s.perSourcePenalties));
  out.push(...persistentSessionDashT(s));
  return out.map((l) => `${l}\n`).join('');
}
