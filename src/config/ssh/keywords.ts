/**
 * The ssh_config keyword table: every keyword OpenSSH 9.2 (Debian 12 build) accepts, each with the handler
 * that parses its arguments into the option record (handler-kit.ts, handlers-*.ts). Whether Tether acts on
 * each is recorded beside it in support.ts.
 *
 * Host, Match and Include are structural and handled by the reader (reader.ts); they appear here as
 * `structural` so the table stays the one list of known keywords.
 */
import {
  ADDRESS_FAMILY_CHOICES, CANONICALIZE_CHOICES, COMPRESSION_CHOICES, CONTROL_MASTER_CHOICES, PUBKEY_AUTH_CHOICES,
  REQUEST_TTY_CHOICES, SESSION_TYPE_CHOICES, STRICT_HOSTKEY_CHOICES, TUNNEL_CHOICES, YES_NO_ASK,
} from './values.ts';
import {
  algorithms, choice, command, deprecated, ignored, integer, option, string, stringList, time, unsupported,
  type KeywordSpec,
} from './handler-kit.ts';
import {
  certificateFile, escapeChar, forwardAgent, forwardHandler, identityAgent, identityFile, logLevel, logVerbose,
  permitRemoteOpen, port, proxyCommand, proxyJump, rekeyLimit, syslogFacility,
} from './handlers-connection.ts';
import {
  addKeysToAgent, canonicalDomains, controlPersist, fingerprintHash, gssapiKexAlgorithms, ipqos, permittedCnames,
  sendEnv, setEnv, streamLocalBindMask, tunnelDevice,
} from './handlers-values.ts';

export { addForward } from './handlers-connection.ts';
export type { KeywordHandler, KeywordSpec, LineContext } from './handler-kit.ts';

const MAX_HOSTS_FILES = 32;

const PUBKEY_LABEL = 'Bad key types';

/**
 * Keyword (lower case) → how it is read. Aliases map to the same handler. Order is irrelevant; `ssh -G`
 * order lives in dump.ts.
 */
export const KEYWORDS: ReadonlyMap<string, KeywordSpec> = new Map<string, KeywordSpec>([
  // Structural directives.
  ['host', { kind: 'structural', directive: 'host' }],
  ['match', { kind: 'structural', directive: 'match' }],
  ['include', { kind: 'structural', directive: 'include' }],

  // Silently ignored, deprecated (logged at debug level) and unsupported (warned) keywords.
  ['protocol', option(ignored())],
  ...['cipher', 'fallbacktorsh', 'globalknownhostsfile2', 'rhostsauthentication', 'userknownhostsfile2',
    'useroaming', 'usersh', 'useprivilegedport', 'useblacklistedkeys'].map((k) => [k, option(deprecated())] as const),
  ...['afstokenpassing', 'kerberosauthentication', 'kerberostgtpassing', 'rsaauthentication',
    'rhostsrsaauthentication', 'compressionlevel'].map((k) => [k, option(unsupported())] as const),

  // GSSAPI, including Debian's key-exchange patch.
  ['gssapiauthentication', option(choice('gssapiAuthentication'))],
  ['gssapikeyexchange', option(choice('gssapiKeyExchange'))],
  ['gssapidelegatecredentials', option(choice('gssapiDelegateCredentials'))],
  ['gssapitrustdns', option(choice('gssapiTrustDns'))],
  ['gssapiclientidentity', option(string('gssapiClientIdentity'))],
  ['gssapiserveridentity', option(string('gssapiServerIdentity'))],
  ['gssapirenewalforcesrekey', option(choice('gssapiRenewalForcesRekey'))],
  ['gssapikexalgorithms', option(gssapiKexAlgorithms)],
  ['pkcs11provider', option(string('pkcs11Provider'))],
  ['smartcarddevice', option(string('pkcs11Provider'))],

  ['forwardagent', option(forwardAgent)],
  ['forwardx11', option(choice('forwardX11'))],
  ['forwardx11trusted', option(choice('forwardX11Trusted'))],
  ['forwardx11timeout', option(time('forwardX11Timeout'))],
  ['exitonforwardfailure', option(choice('exitOnForwardFailure'))],
  ['xauthlocation', option(string('xauthLocation'))],
  ['gatewayports', option(choice('gatewayPorts'))],
  ['passwordauthentication', option(choice('passwordAuthentication'))],
  ['kbdinteractiveauthentication', option(choice('kbdInteractiveAuthentication'))],
  ['challengeresponseauthentication', option(choice('kbdInteractiveAuthentication'))],
  ['skeyauthentication', option(choice('kbdInteractiveAuthentication'))],
  ['tisauthentication', option(choice('kbdInteractiveAuthentication'))],
  ['kbdinteractivedevices', option(string('kbdInteractiveDevices'))],
  ['pubkeyauthentication', option(choice('pubkeyAuthentication', PUBKEY_AUTH_CHOICES))],
  ['dsaauthentication', option(choice('pubkeyAuthentication', PUBKEY_AUTH_CHOICES))],
  ['hostbasedauthentication', option(choice('hostbasedAuthentication'))],
  ['identityfile', option(identityFile)],
  ['identityfile2', option(identityFile)],
  ['identitiesonly', option(choice('identitiesOnly'))],
  ['certificatefile', option(certificateFile)],
  ['addkeystoagent', option(addKeysToAgent)],
  ['identityagent', option(identityAgent)],
  ['hostname', option(string('hostname'))],
  ['hostkeyalias', option(string('hostKeyAlias'))],
  ['proxycommand', option(proxyCommand)],
  ['port', option(port)],
  ['ciphers', option(algorithms('ciphers', 'cipher', 'Bad SSH2 cipher spec'))],
  ['macs', option(algorithms('macs', 'mac', 'Bad SSH2 MAC spec'))],
  ['remoteforward', option(forwardHandler('remote'))],
  ['localforward', option(forwardHandler('local'))],
  ['permitremoteopen', option(permitRemoteOpen)],
  ['user', option(string('user'))],
  ['escapechar', option(escapeChar)],
  ['globalknownhostsfile', option(stringList('globalKnownHostsFiles', MAX_HOSTS_FILES))],
  ['userknownhostsfile', option(stringList('userKnownHostsFiles', MAX_HOSTS_FILES))],
  ['connectionattempts', option(integer('connectionAttempts'))],
  ['batchmode', option(choice('batchMode'))],
  ['checkhostip', option(choice('checkHostIP'))],
  ['stricthostkeychecking', option(choice('strictHostKeyChecking', STRICT_HOSTKEY_CHOICES))],
  ['compression', option(choice('compression', COMPRESSION_CHOICES))],
  ['tcpkeepalive', option(choice('tcpKeepAlive'))],
  ['keepalive', option(choice('tcpKeepAlive'))],
  ['numberofpasswordprompts', option(integer('numberOfPasswordPrompts'))],
  ['syslogfacility', option(syslogFacility)],
  ['loglevel', option(logLevel)],
  ['logverbose', option(logVerbose)],
  ['dynamicforward', option(forwardHandler('dynamic'))],
  ['preferredauthentications', option(string('preferredAuthentications'))],
  ['hostkeyalgorithms', option(algorithms('hostKeyAlgorithms', 'key', PUBKEY_LABEL))],
  ['casignaturealgorithms', option(algorithms('caSignatureAlgorithms', 'sig', PUBKEY_LABEL))],
  ['bindaddress', option(string('bindAddress'))],
  ['bindinterface', option(string('bindInterface'))],
  ['clearallforwardings', option(choice('clearAllForwardings'))],
  ['enablesshkeysign', option(choice('enableSSHKeysign'))],
  ['verifyhostkeydns', option(choice('verifyHostKeyDNS', YES_NO_ASK))],
  ['nohostauthenticationforlocalhost', option(choice('noHostAuthenticationForLocalhost'))],
  ['rekeylimit', option(rekeyLimit)],
  ['connecttimeout', option(time('connectTimeout'))],
  ['addressfamily', option(choice('addressFamily', ADDRESS_FAMILY_CHOICES))],
  ['serveraliveinterval', option(time('serverAliveInterval'))],
  ['serveralivecountmax', option(integer('serverAliveCountMax'))],
  // Debian's compatibility aliases for ServerAliveInterval.
  ['protocolkeepalives', option(time('serverAliveInterval'))],
  ['setuptimeout', option(time('serverAliveInterval'))],
  ['sendenv', option(sendEnv)],
  ['setenv', option(setEnv)],
  ['controlpath', option(string('controlPath'))],
  ['controlmaster', option(choice('controlMaster', CONTROL_MASTER_CHOICES))],
  ['controlpersist', option(controlPersist)],
  ['hashknownhosts', option(choice('hashKnownHosts'))],
  ['tunnel', option(choice('tunnel', TUNNEL_CHOICES))],
  ['tunneldevice', option(tunnelDevice)],
  ['localcommand', option(command('localCommand'))],
  ['permitlocalcommand', option(choice('permitLocalCommand'))],
  ['remotecommand', option(command('remoteCommand'))],
  ['visualhostkey', option(choice('visualHostKey'))],
  ['kexalgorithms', option(algorithms('kexAlgorithms', 'kex', 'Bad SSH2 KexAlgorithms'))],
  ['ipqos', option(ipqos)],
  ['requesttty', option(choice('requestTTY', REQUEST_TTY_CHOICES))],
  ['sessiontype', option(choice('sessionType', SESSION_TYPE_CHOICES))],
  ['stdinnull', option(choice('stdinNull'))],
  ['forkafterauthentication', option(choice('forkAfterAuthentication'))],
  ['proxyusefdpass', option(choice('proxyUseFdpass'))],
  ['canonicaldomains', option(canonicalDomains)],
  ['canonicalizefallbacklocal', option(choice('canonicalizeFallbackLocal'))],
  ['canonicalizehostname', option(choice('canonicalizeHostname', CANONICALIZE_CHOICES))],
  ['canonicalizemaxdots', option(integer('canonicalizeMaxDots'))],
  ['canonicalizepermittedcnames', option(permittedCnames)],
  ['streamlocalbindmask', option(streamLocalBindMask)],
  ['streamlocalbindunlink', option(choice('streamLocalBindUnlink'))],
  ['revokedhostkeys', option(string('revokedHostKeys'))],
  ['fingerprinthash', option(fingerprintHash)],
  ['updatehostkeys', option(choice('updateHostKeys', YES_NO_ASK))],
  ['hostbasedacceptedalgorithms', option(algorithms('hostbasedAcceptedAlgorithms', 'key', PUBKEY_LABEL))],
  ['hostbasedkeytypes', option(algorithms('hostbasedAcceptedAlgorithms', 'key', PUBKEY_LABEL))],
  ['pubkeyacceptedalgorithms', option(algorithms('pubkeyAcceptedAlgorithms', 'key', PUBKEY_LABEL))],
  ['pubkeyacceptedkeytypes', option(algorithms('pubkeyAcceptedAlgorithms', 'key', PUBKEY_LABEL))],
  ['ignoreunknown', option(string('ignoreUnknown'))],
  ['proxyjump', option(proxyJump)],
  ['securitykeyprovider', option(string('securityKeyProvider'))],
  ['knownhostscommand', option(command('knownHostsCommand'))],
  ['requiredrsasize', option(integer('requiredRSASize'))],
  ['enableescapecommandline', option(choice('enableEscapeCommandline'))],
  // Tether's persistent sessions (docs/PROTOCOL.sessions).
  ['session', option(string('session'))],
  ['sessionresume', option(choice('sessionResume'))],
  ['sessionresumetimeout', option(time('sessionResumeTimeout'))],
]);

