/**
 * `ssh -G` output: every option, lower-case keyword first, in the order and with the spellings OpenSSH 9.2
 * (Debian 12 build) prints them (readconf.c's dump_client_config). Choice options print the first name their
 * table gives the value (so `pubkeyauthentication true` but `passwordauthentication yes`).
 */
import { PORT_STREAMLOCAL, type Forward } from './forward.ts';
import type { OptionState } from './options.ts';
import type { ResolvedSshConfig } from './resolve.ts';
import {
  ADDRESS_FAMILY_CHOICES, CANONICALIZE_CHOICES, CONTROL_MASTER_CHOICES, PUBKEY_AUTH_CHOICES, REQUEST_TTY_CHOICES,
  SESSION_TYPE_CHOICES, STRICT_HOSTKEY_CHOICES, TUNNEL_CHOICES, TUNNEL_ID_ANY, YES_NO_ASK, YES_NO_ASK_CONFIRM,
  choiceName, logLevelName, visEscapeChar, yesNo, type ChoiceTable,
} from './values.ts';
import { ipqosName } from '../values.ts';

type Line = string | string[] | undefined;
type Printer = (s: OptionState, hostname: string) => Line;

const num = (v: number | undefined): string => String(v ?? -1);

function flag(name: string, get: (s: OptionState) => number | undefined): [string, Printer] {
  return [name, (s) => `${name} ${yesNo(get(s) ?? -1)}`];
}

function choice(name: string, table: ChoiceTable, get: (s: OptionState) => number | undefined): [string, Printer] {
  return [name, (s) => `${name} ${choiceName(get(s) ?? -1, table)}`];
}

function int(name: string, get: (s: OptionState) => number | undefined): [string, Printer] {
  return [name, (s) => `${name} ${num(get(s))}`];
}

function str(name: string, get: (s: OptionState) => string | undefined): [string, Printer] {
  return [name, (s) => {
    const v = get(s);
    return v === undefined ? undefined : `${name} ${v}`;
  }];
}

function each(name: string, get: (s: OptionState) => readonly string[]): [string, Printer] {
  return [name, (s) => get(s).map((v) => `${name} ${v}`)];
}

function oneLine(name: string, get: (s: OptionState) => readonly string[]): [string, Printer] {
  return [name, (s) => {
    const v = get(s);
    return `${name} ${v.length === 0 ? 'none' : v.join(' ')}`;
  }];
}

function endpoint(host: string | undefined, port: number, path: string | undefined): string {
  if (port === PORT_STREAMLOCAL) return path ?? '';
  if (host === undefined) return String(port);
  return `[${host}]:${port}`;
}

/**
 * Forwards as OpenSSH prints them. Note its quirk, reproduced here: a local forward to a Unix socket
 * (no connect host) is listed under dynamicforward as well as localforward.
 */
function forwards(name: 'dynamicforward' | 'localforward' | 'remoteforward', get: (s: OptionState) => Forward[]): [string, Printer] {
  return [name, (s) => {
    const out: string[] = [];
    for (const f of get(s)) {
      if (name === 'dynamicforward' && f.connectHost !== undefined && f.connectHost !== 'socks') continue;
      if (name === 'localforward' && f.connectHost === 'socks') continue;
      let line = `${name} ${endpoint(f.listenHost, f.listenPort, f.listenPath)}`;
      if (name !== 'dynamicforward') line += ` ${endpoint(f.connectHost, f.connectPort, f.connectPath)}`;
      out.push(line);
    }
    return out;
  }];
}

function proxyJumpLine(s: OptionState): Line {
  if (s.jumpHost === undefined) return s.proxyCommand === undefined ? undefined : `proxycommand ${s.proxyCommand}`;
  const numeric = s.jumpHost.includes(':') || /^[0-9.]*$/.test(s.jumpHost);
  const host = numeric ? `[${s.jumpHost}]` : s.jumpHost;
  const extra = s.jumpExtra === undefined ? '' : `${s.jumpExtra},`;
  const user = s.jumpUser === undefined ? '' : `${s.jumpUser}@`;
  const port = (s.jumpPort ?? -1) <= 0 ? '' : `:${s.jumpPort}`;
  return `proxyjump ${extra}${user}${host}${port}`;
}

/** The -G table: keyword and how to print it, in OpenSSH's order. */
const DUMP_ORDER: readonly [string, Printer][] = [
  str('host', (s) => s.hostArg),
  str('user', (s) => s.user),
  ['hostname', (_s, hostname) => `hostname ${hostname}`],
  int('port', (s) => s.port),
  choice('addressfamily', ADDRESS_FAMILY_CHOICES, (s) => s.addressFamily),
  flag('batchmode', (s) => s.batchMode),
  flag('canonicalizefallbacklocal', (s) => s.canonicalizeFallbackLocal),
  choice('canonicalizehostname', CANONICALIZE_CHOICES, (s) => s.canonicalizeHostname),
  flag('checkhostip', (s) => s.checkHostIP),
  flag('compression', (s) => s.compression),
  choice('controlmaster', CONTROL_MASTER_CHOICES, (s) => s.controlMaster),
  flag('enablesshkeysign', (s) => s.enableSSHKeysign),
  flag('clearallforwardings', (s) => s.clearAllForwardings),
  flag('exitonforwardfailure', (s) => s.exitOnForwardFailure),
  str('fingerprinthash', (s) => s.fingerprintHash),
  flag('forwardx11', (s) => s.forwardX11),
  flag('forwardx11trusted', (s) => s.forwardX11Trusted),
  flag('gatewayports', (s) => s.gatewayPorts),
  flag('gssapiauthentication', (s) => s.gssapiAuthentication),
  flag('gssapikeyexchange', (s) => s.gssapiKeyExchange),
  flag('gssapidelegatecredentials', (s) => s.gssapiDelegateCredentials),
  flag('gssapitrustdns', (s) => s.gssapiTrustDns),
  flag('gssapirenewalforcesrekey', (s) => s.gssapiRenewalForcesRekey),
  str('gssapiclientidentity', (s) => s.gssapiClientIdentity),
  str('gssapiserveridentity', (s) => s.gssapiServerIdentity),
  str('gssapikexalgorithms', (s) => s.gssapiKexAlgorithms),
  flag('hashknownhosts', (s) => s.hashKnownHosts),
  flag('hostbasedauthentication', (s) => s.hostbasedAuthentication),
  flag('identitiesonly', (s) => s.identitiesOnly),
  flag('kbdinteractiveauthentication', (s) => s.kbdInteractiveAuthentication),
  flag('nohostauthenticationforlocalhost', (s) => s.noHostAuthenticationForLocalhost),
  flag('passwordauthentication', (s) => s.passwordAuthentication),
  flag('permitlocalcommand', (s) => s.permitLocalCommand),
  flag('proxyusefdpass', (s) => s.proxyUseFdpass),
  choice('pubkeyauthentication', PUBKEY_AUTH_CHOICES, (s) => s.pubkeyAuthentication),
  choice('requesttty', REQUEST_TTY_CHOICES, (s) => s.requestTTY),
  choice('sessiontype', SESSION_TYPE_CHOICES, (s) => s.sessionType),
  flag('stdinnull', (s) => s.stdinNull),
  flag('forkafterauthentication', (s) => s.forkAfterAuthentication),
  flag('streamlocalbindunlink', (s) => s.streamLocalBindUnlink),
  choice('stricthostkeychecking', STRICT_HOSTKEY_CHOICES, (s) => s.strictHostKeyChecking),
  flag('tcpkeepalive', (s) => s.tcpKeepAlive),
  choice('tunnel', TUNNEL_CHOICES, (s) => s.tunnel),
  choice('verifyhostkeydns', YES_NO_ASK, (s) => s.verifyHostKeyDNS),
  flag('visualhostkey', (s) => s.visualHostKey),
  choice('updatehostkeys', YES_NO_ASK, (s) => s.updateHostKeys),
  flag('enableescapecommandline', (s) => s.enableEscapeCommandline),
  // Tether's own keywords print only when set, so -G stays OpenSSH's output otherwise.
  ['sessionresume', (s) => (s.sessionResume === undefined ? undefined : `sessionresume ${yesNo(s.sessionResume)}`)],
  ['sessionresumetimeout', (s) => (s.sessionResumeTimeout === undefined ? undefined : `sessionresumetimeout ${s.sessionResumeTimeout}`)],
  str('session', (s) => s.session),

  int('canonicalizemaxdots', (s) => s.canonicalizeMaxDots),
  int('connectionattempts', (s) => s.connectionAttempts),
  int('forwardx11timeout', (s) => s.forwardX11Timeout),
  int('numberofpasswordprompts', (s) => s.numberOfPasswordPrompts),
  int('serveralivecountmax', (s) => s.serverAliveCountMax),
  int('serveraliveinterval', (s) => s.serverAliveInterval),
  int('requiredrsasize', (s) => s.requiredRSASize),

  str('bindaddress', (s) => s.bindAddress),
  str('bindinterface', (s) => s.bindInterface),
  str('ciphers', (s) => s.ciphers),
  str('controlpath', (s) => s.controlPath),
  str('hostkeyalgorithms', (s) => s.hostKeyAlgorithms),
  str('hostkeyalias', (s) => s.hostKeyAlias),
  str('hostbasedacceptedalgorithms', (s) => s.hostbasedAcceptedAlgorithms),
  str('identityagent', (s) => s.identityAgent),
  str('ignoreunknown', (s) => s.ignoreUnknown),
  str('kbdinteractivedevices', (s) => s.kbdInteractiveDevices),
  str('kexalgorithms', (s) => s.kexAlgorithms),
  str('casignaturealgorithms', (s) => s.caSignatureAlgorithms),
  str('localcommand', (s) => s.localCommand),
  str('remotecommand', (s) => s.remoteCommand),
  ['loglevel', (s) => `loglevel ${logLevelName(s.logLevel ?? -1)}`],
  str('macs', (s) => s.macs),
  str('pkcs11provider', (s) => s.pkcs11Provider),
  str('securitykeyprovider', (s) => s.securityKeyProvider),
  str('preferredauthentications', (s) => s.preferredAuthentications),
  str('pubkeyacceptedalgorithms', (s) => s.pubkeyAcceptedAlgorithms),
  str('revokedhostkeys', (s) => s.revokedHostKeys),
  str('xauthlocation', (s) => s.xauthLocation),
  str('knownhostscommand', (s) => s.knownHostsCommand),

  forwards('dynamicforward', (s) => s.localForwards),
  forwards('localforward', (s) => s.localForwards),
  forwards('remoteforward', (s) => s.remoteForwards),

  each('identityfile', (s) => s.identityFiles.map((e) => e.path)),
  oneLine('canonicaldomains', (s) => s.canonicalDomains),
  each('certificatefile', (s) => s.certificateFiles.map((e) => e.path)),
  oneLine('globalknownhostsfile', (s) => s.globalKnownHostsFiles),
  oneLine('userknownhostsfile', (s) => s.userKnownHostsFiles),
  each('sendenv', (s) => s.sendEnv),
  each('setenv', (s) => s.setEnv),
  oneLine('logverbose', (s) => s.logVerbose),

  ['permitremoteopen', (s) => `permitremoteopen ${s.permitRemoteOpen.length === 0 ? 'any' : s.permitRemoteOpen.join(' ')}`],
  ['addkeystoagent', (s) => {
    const lifespan = s.addKeysToAgentLifespan ?? 0;
    if (lifespan <= 0) return `addkeystoagent ${choiceName(s.addKeysToAgent ?? -1, YES_NO_ASK_CONFIRM)}`;
    return `addkeystoagent${s.addKeysToAgent === 3 ? ' confirm' : ''} ${lifespan}`;
  }],
  ['forwardagent', (s) => `forwardagent ${s.forwardAgentSockPath ?? yesNo(s.forwardAgent ?? -1)}`],
  ['connecttimeout', (s) => `connecttimeout ${s.connectTimeout === undefined || s.connectTimeout === -1 ? 'none' : s.connectTimeout}`],
  ['tunneldevice', (s) => {
    const id = (v: number | undefined): string => (v === TUNNEL_ID_ANY ? 'any' : String(v));
    return `tunneldevice ${id(s.tunnelLocal)}:${id(s.tunnelRemote)}`;
  }],
  ['canonicalizePermittedcnames', (s) => {
    const list = s.permittedCnames.map((c) => `${c.sourceList}:${c.targetList}`);
    return `canonicalizePermittedcnames ${list.length === 0 ? 'none' : list.join(' ')}`;
  }],
  ['controlpersist', (s) => {
    if (s.controlPersist === 0 || s.controlPersistTimeout === 0) return `controlpersist ${yesNo(s.controlPersist ?? -1)}`;
    return `controlpersist ${s.controlPersistTimeout}`;
  }],
  ['escapechar', (s) => `escapechar ${visEscapeChar(s.escapeChar ?? -1)}`],
  ['ipqos', (s) => `ipqos ${ipqosName(s.ipqosInteractive ?? -1)} ${ipqosName(s.ipqosBulk ?? -1)}`],
  ['rekeylimit', (s) => `rekeylimit ${s.rekeyLimit ?? 0} ${s.rekeyInterval ?? 0}`],
  ['streamlocalbindmask', (s) => `streamlocalbindmask 0${(s.streamLocalBindMask ?? 0).toString(8)}`],
  ['syslogfacility', (s) => `syslogfacility ${s.syslogFacility}`],
  ['proxyjump', proxyJumpLine],
];

/** The keywords `ssh -G` can print, in its order (useful to compare outputs key by key). */
export const DASH_G_KEYWORDS: readonly string[] = DUMP_ORDER.map(([name]) => name);

/** Produces exactly what `ssh -G` prints for this resolution (each line ends with a newline). */
export function formatDashG(resolved: ResolvedSshConfig): string {
  const lines: string[] = [];
  for (const [, print] of DUMP_ORDER) {
    // -G prints HostName's alternates as listed (Tether's failover extension); one name prints as ssh does.
    const out = print(resolved.options, resolved.hostnameAlternates.join(','));
    if (out === undefined) continue;
    if (Array.isArray(out)) lines.push(...out);
    else lines.push(out);
  }
  return lines.map((l) => l + '\n').join('');
}
