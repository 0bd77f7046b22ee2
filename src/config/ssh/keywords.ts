/**
 * The ssh_config keyword table: every keyword OpenSSH 9.2 (Debian 12 build) accepts, each with the handler
 * that parses its arguments into the option record. Handlers follow readconf.c's rules: a value is stored
 * only when its block applies (`ctx.active`) and the option is still unset; errors use OpenSSH's wording.
 *
 * Host, Match and Include are structural and handled by the reader (reader.ts); they appear here as
 * `structural` so the table stays the one list of known keywords.
 */
import { GSSAPI_KEX_SUPPORTED, isValidAlgorithmSpec, type AlgorithmFamily } from './algorithms.ts';
import { isValidDomain, parseJump } from './destination.ts';
import { FatalProblem } from './errors.ts';
import { expandString } from './expand.ts';
import { forwardsEqual, parseForward, type Forward } from './forward.ts';
import { asciiLower } from './lexer.ts';
import type { IdentityEntry, NumberSlot, OptionState, StringListSlot, StringSlot } from './options.ts';
import { matchPattern } from './patterns.ts';
import {
  ADDRESS_FAMILY_CHOICES, CANONICALIZE_CHOICES, COMPRESSION_CHOICES, CONTROL_MASTER_CHOICES, FLAG,
  PUBKEY_AUTH_CHOICES, REQUEST_TTY_CHOICES, SESSION_TYPE_CHOICES, STRICT_HOSTKEY_CHOICES, TUNNEL_CHOICES,
  YES_NO_ASK, YES_NO_ASK_CONFIRM, isValidEnvName, parseChoice, parseEscapeChar, parseIpqos, parseLogLevel,
  parseNonNegativeInt, parsePort, parseScaled, parseSyslogFacility, parseTime, parseTunnelDevice,
  type ChoiceTable,
} from './values.ts';

const MAX_IDENTITY_FILES = 100;
const MAX_CERTIFICATE_FILES = 100;
const MAX_HOSTS_FILES = 32;
const MAX_CANON_DOMAINS = 32;

/** What a handler sees of the line being processed. */
export interface LineContext {
  readonly state: OptionState;
  /** Does the enclosing Host/Match block apply? */
  readonly active: boolean;
  /** The keyword as written, lower-cased (used in some messages). */
  readonly keyword: string;
  /** The raw text after the keyword (commands take it verbatim). */
  readonly rawRest: string;
  /** A user configuration (or the command line): allows `~` in Include, marks identities user-provided. */
  readonly userConfig: boolean;
  readonly env: NodeJS.ProcessEnv;
  /** Takes the next shell-split argument, or undefined. */
  next(): string | undefined;
  /** Arguments not yet taken. */
  remaining(): number;
  /** The argument most recently returned by next(). */
  lastArgument(): string | undefined;
  /** Marks all arguments as used (the keyword took the raw line instead). */
  consumeAll(): void;
  /** Fails the line with `<file> line <N>: <message>`. */
  fail(message: string): never;
  /** Records a non-fatal message as OpenSSH prints it, `<file> line <N>: <message>`. */
  warn(message: string): void;
}

export type KeywordHandler = (ctx: LineContext) => void;

export type KeywordSpec =
  | { readonly kind: 'option'; readonly handle: KeywordHandler }
  | { readonly kind: 'structural'; readonly directive: 'host' | 'match' | 'include' };

// ---- handler factories -------------------------------------------------------------------------------

function setNumber(ctx: LineContext, slot: NumberSlot, value: number): void {
  if (ctx.active && ctx.state[slot] === undefined) ctx.state[slot] = value;
}

function setString(ctx: LineContext, slot: StringSlot, value: string): void {
  if (ctx.active && ctx.state[slot] === undefined) ctx.state[slot] = value;
}

/** yes/no or another fixed set of words (parse_multistate). */
function choice(slot: NumberSlot, table: ChoiceTable = FLAG): KeywordHandler {
  return (ctx: LineContext) => {
    const arg = ctx.next();
    const code = parseChoice(arg, table);
    if (arg === undefined || arg === '') ctx.fail('missing argument.');
    if (code === undefined) ctx.fail(`unsupported option "${arg}".`);
    setNumber(ctx, slot, code);
  };
}

/** A TIME FORMATS value, or `none`. */
function time(slot: NumberSlot): KeywordHandler {
  return (ctx: LineContext) => setNumber(ctx, slot, parseTimeArgument(ctx));
}

/** `none` for a time: stored as -1, which OpenSSH prints like an unset value. */
const NONE_TIME = -1;

function parseTimeArgument(ctx: LineContext): number {
  const arg = ctx.next();
  if (arg === undefined || arg === '') ctx.fail('missing time value.');
  if (arg === 'none') return NONE_TIME;
  const value = parseTime(arg);
  if (value === undefined) ctx.fail('invalid time value.');
  return value;
}

function integer(slot: NumberSlot): KeywordHandler {
  return (ctx: LineContext) => {
    const parsed = parseNonNegativeInt(ctx.next());
    if ('error' in parsed) ctx.fail(`integer value ${parsed.error}.`);
    setNumber(ctx, slot, parsed.value);
  };
}

function requireArgument(ctx: LineContext): string {
  const arg = ctx.next();
  if (arg === undefined || arg === '') ctx.fail('Missing argument.');
  return arg;
}

function string(slot: StringSlot): KeywordHandler {
  return (ctx: LineContext) => setString(ctx, slot, requireArgument(ctx));
}

/** Commands keep the raw rest of the line (quotes and all), minus leading blanks and `=`. */
function command(slot: StringSlot): KeywordHandler {
  return (ctx: LineContext) => {
    setString(ctx, slot, ctx.rawRest.replace(/^[ \t\r\n=]+/, ''));
    ctx.consumeAll();
  };
}

/** A list where the first line that sets it wins; `none` may only appear alone. */
function stringList(slot: StringListSlot, max: number): KeywordHandler {
  return (ctx: LineContext) => {
    const wasEmpty = ctx.state[slot].length === 0;
    let count = 0;
    for (let arg = ctx.next(); arg !== undefined; arg = ctx.next()) {
      if (arg === '') ctx.fail(`keyword ${ctx.keyword} empty argument`);
      if (arg.toLowerCase() === 'none' && (count > 0 || ctx.remaining() > 0)) {
        ctx.fail(`keyword ${ctx.keyword} "none" argument must appear alone.`);
      }
      count++;
      if (ctx.active && wasEmpty) {
        if (ctx.state[slot].length >= max) ctx.fail(`too many ${ctx.keyword} entries.`);
        ctx.state[slot].push(arg);
      }
    }
  };
}

function algorithms(slot: StringSlot, family: AlgorithmFamily, label: string): KeywordHandler {
  return (ctx: LineContext) => {
    const arg = requireArgument(ctx);
    if (!isValidAlgorithmSpec(family, arg)) ctx.fail(`${label} '${arg}'.`);
    setString(ctx, slot, arg);
  };
}

function ignored(): KeywordHandler {
  return (ctx: LineContext) => ctx.consumeAll();
}

function unsupported(): KeywordHandler {
  return (ctx: LineContext) => {
    ctx.warn(`Unsupported option "${ctx.keyword}"`);
    ctx.consumeAll();
  };
}

// ---- keyword-specific handlers -----------------------------------------------------------------------

function addIdentity(list: IdentityEntry[], path: string, userProvided: boolean): void {
  if (list.some((e) => e.userProvided === userProvided && e.path === path)) return;
  list.push({ path, userProvided });
}

function identityFile(ctx: LineContext): void {
  const arg = requireArgument(ctx);
  if (!ctx.active) return;
  if (ctx.state.identityFiles.length >= MAX_IDENTITY_FILES) {
    ctx.fail(`Too many identity files specified (max ${MAX_IDENTITY_FILES}).`);
  }
  addIdentity(ctx.state.identityFiles, arg, ctx.userConfig);
}

function certificateFile(ctx: LineContext): void {
  const arg = requireArgument(ctx);
  if (!ctx.active) return;
  if (ctx.state.certificateFiles.length >= MAX_CERTIFICATE_FILES) {
    ctx.fail(`Too many certificate files specified (max ${MAX_CERTIFICATE_FILES}).`);
  }
  addIdentity(ctx.state.certificateFiles, arg, ctx.userConfig);
}

/** IdentityAgent and ForwardAgent paths: `${VAR}` must expand now; `$VAR` must be a valid name. */
function agentPath(ctx: LineContext, arg: string): void {
  try {
    expandString(arg, { env: ctx.env });
  } catch {
    ctx.fail(`Invalid environment expansion ${arg}.`);
  }
  if (arg.startsWith('$') && arg[1] !== '{' && !isValidEnvName(arg.slice(1))) {
    ctx.fail(`Invalid environment name ${arg}.`);
  }
}

function forwardAgent(ctx: LineContext): void {
  const arg = ctx.next();
  if (arg === undefined || arg === '') ctx.fail('missing argument.');
  const code = parseChoice(arg, FLAG);
  if (code !== undefined) {
    setNumber(ctx, 'forwardAgent', code);
    return;
  }
  // Not yes/no: a socket path to forward instead of $SSH_AUTH_SOCK.
  setNumber(ctx, 'forwardAgent', 1);
  agentPath(ctx, arg);
  setString(ctx, 'forwardAgentSockPath', arg);
}

function identityAgent(ctx: LineContext): void {
  const arg = requireArgument(ctx);
  agentPath(ctx, arg);
  setString(ctx, 'identityAgent', arg);
}

/**
 * ProxyCommand and ProxyJump: whichever applies first wins (a ProxyJump stores ProxyCommand "none").
 * This build carries the 2026 backport in which `ProxyJump none` no longer blocks a later ProxyCommand.
 */
const proxyCommand = command('proxyCommand');

function proxyJump(ctx: LineContext): void {
  const value = ctx.rawRest.replace(/^[ \t\r\n=]+/, '');
  const jump = parseJump(value);
  if (jump === undefined) ctx.fail(`Invalid ProxyJump "${value}"`);
  ctx.consumeAll();
  const { state } = ctx;
  if (jump === 'none') {
    if (ctx.active && state.jumpHost === undefined) {
      state.jumpHost = 'none';
      state.jumpPort = 0;
    }
    return;
  }
  if (!ctx.active || state.proxyCommand !== undefined || state.jumpHost !== undefined) return;
  state.jumpUser = jump.user;
  state.jumpHost = jump.host;
  state.jumpPort = jump.port;
  state.jumpExtra = jump.extra;
  state.proxyCommand = 'none';
}

function port(ctx: LineContext): void {
  const arg = requireArgument(ctx);
  const value = parsePort(arg);
  if (value <= 0) ctx.fail(`Bad port '${arg}'.`);
  setNumber(ctx, 'port', value);
}

function rekeyLimit(ctx: LineContext): void {
  const arg = ctx.next();
  if (arg === undefined || arg === '') ctx.fail('Missing argument.');
  let bytes = 0;
  if (arg !== 'default') {
    const scaled = parseScaled(arg);
    if (scaled === undefined) ctx.fail(`Bad number '${arg}': Invalid argument`);
    if (scaled !== 0 && scaled < 16) ctx.fail('RekeyLimit too small');
    bytes = scaled;
  }
  setNumber(ctx, 'rekeyLimit', bytes);
  // An optional second argument is the time limit; `none` leaves it unset.
  if (ctx.remaining() === 0) return;
  const interval = parseTimeArgument(ctx);
  if (interval === NONE_TIME && ctx.lastArgument() === 'none') return;
  setNumber(ctx, 'rekeyInterval', interval);
}

function logLevel(ctx: LineContext): void {
  const arg = ctx.next();
  const level = parseLogLevel(arg);
  if (level === undefined) ctx.fail(`unsupported log level '${arg ?? '<NONE>'}'`);
  setNumber(ctx, 'logLevel', level);
}

function syslogFacility(ctx: LineContext): void {
  const arg = ctx.next();
  const facility = parseSyslogFacility(arg);
  if (facility === undefined) ctx.fail(`unsupported log facility '${arg ?? '<NONE>'}'`);
  // OpenSSH sets this even in blocks that do not apply.
  ctx.state.syslogFacility ??= facility;
}

/**
 * LogVerbose checks "still empty" for every element, not once per line, so OpenSSH 9.2 keeps only the
 * first element of the first LogVerbose that applies. Reproduced as is.
 */
function logVerbose(ctx: LineContext): void {
  let count = 0;
  for (let arg = ctx.next(); arg !== undefined; arg = ctx.next()) {
    if (arg === '') ctx.fail(`keyword ${ctx.keyword} empty argument`);
    if (arg.toLowerCase() === 'none' && (count > 0 || ctx.remaining() > 0)) {
      ctx.fail(`keyword ${ctx.keyword} "none" argument must appear alone.`);
    }
    count++;
    if (ctx.active && ctx.state.logVerbose.length === 0) ctx.state.logVerbose.push(arg);
  }
}

function forwardHandler(kind: 'local' | 'remote' | 'dynamic'): KeywordHandler {
  return (ctx: LineContext) => {
    const arg = requireArgument(ctx);
    let remote = kind === 'remote';
    let dynamic = kind === 'dynamic';
    let spec = arg;
    if (!dynamic) {
      const target = ctx.next();
      if (target === undefined || target === '') {
        if (remote) dynamic = true;
        else ctx.fail('Missing target argument.');
      } else spec = `${arg}:${target}`;
    }
    if (dynamic) spec = arg;
    const fwd = parseForward(spec, dynamic, remote, ctx.env);
    if (fwd === undefined) ctx.fail('Bad forwarding specification.');
    if (!ctx.active) return;
    remote = kind === 'remote';
    addForward(remote ? ctx.state.remoteForwards : ctx.state.localForwards, fwd);
  };
}

/** Adds a forward unless an identical one is already there. */
export function addForward(list: Forward[], fwd: Forward): void {
  if (!list.some((f) => forwardsEqual(f, fwd))) list.push(fwd);
}

function permitRemoteOpen(ctx: LineContext): void {
  const wasEmpty = ctx.state.permitRemoteOpen.length === 0;
  let count = 0;
  for (let arg = ctx.next(); arg !== undefined; arg = ctx.next()) {
    const lower = arg.toLowerCase();
    if (lower === 'none' || lower === 'any') {
      if (count > 0 || ctx.remaining() > 0) ctx.fail(`keyword ${ctx.keyword} "${arg}" argument must appear alone.`);
    } else {
      const m = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(arg);
      if (m === null || m[1] === '') throw new FatalProblem(`missing host in permitremoteopen`);
      const portPart = m[2];
      if (portPart === undefined || (portPart !== '*' && parsePort(portPart) <= 0)) {
        throw new FatalProblem(`bad port number in permitremoteopen`);
      }
    }
    if (ctx.active && wasEmpty) ctx.state.permitRemoteOpen.push(arg);
    count++;
  }
  if (count === 0) throw new FatalProblem('missing permitremoteopen specification');
}

function escapeChar(ctx: LineContext): void {
  const arg = requireArgument(ctx);
  const value = parseEscapeChar(arg);
  if (value === undefined) ctx.fail('Bad escape character.');
  setNumber(ctx, 'escapeChar', value);
}

function sendEnv(ctx: LineContext): void {
  for (let arg = ctx.next(); arg !== undefined; arg = ctx.next()) {
    if (arg === '' || arg.includes('=')) ctx.fail('Invalid environment name.');
    if (!ctx.active) continue;
    if (arg.startsWith('-')) {
      // "-PATTERN" removes names sent so far that match.
      const pattern = arg.slice(1);
      ctx.state.sendEnv = ctx.state.sendEnv.filter((name) => !matchPattern(name, pattern));
      continue;
    }
    ctx.state.sendEnv.push(arg);
  }
}

function setEnv(ctx: LineContext): void {
  // Only the first SetEnv line that applies counts; within it, the first value for a name wins.
  const alreadySet = ctx.state.setEnv.length !== 0;
  for (let arg = ctx.next(); arg !== undefined; arg = ctx.next()) {
    if (!arg.includes('=')) ctx.fail('Invalid SetEnv.');
    if (!ctx.active || alreadySet) continue;
    const name = arg.slice(0, arg.indexOf('='));
    if (ctx.state.setEnv.some((e) => e.slice(0, e.indexOf('=')) === name)) continue;
    ctx.state.setEnv.push(arg);
  }
}

function controlPersist(ctx: LineContext): void {
  const arg = ctx.next();
  if (arg === undefined || arg === '') ctx.fail('Missing ControlPersist argument.');
  let enabled: number;
  let timeout = 0;
  if (arg === 'no' || arg === 'false') enabled = 0;
  else if (arg === 'yes' || arg === 'true') enabled = 1;
  else {
    const t = parseTime(arg);
    if (t === undefined) ctx.fail('Bad ControlPersist argument.');
    enabled = 1;
    timeout = t;
  }
  if (ctx.active && ctx.state.controlPersist === undefined) {
    ctx.state.controlPersist = enabled;
    ctx.state.controlPersistTimeout = timeout;
  }
}

function tunnelDevice(ctx: LineContext): void {
  const arg = requireArgument(ctx);
  const ids = parseTunnelDevice(arg);
  if (ids === undefined) ctx.fail('Bad tun device.');
  if (ctx.active && ctx.state.tunnelLocal === undefined) {
    ctx.state.tunnelLocal = ids.local;
    ctx.state.tunnelRemote = ids.remote;
  }
}

function ipqos(ctx: LineContext): void {
  const first = ctx.next();
  const interactive = parseIpqos(first);
  if (interactive === undefined) ctx.fail(`Bad IPQoS value: ${first ?? '(null)'}`);
  const second = ctx.next();
  const bulk = second === undefined ? interactive : parseIpqos(second);
  if (bulk === undefined) ctx.fail(`Bad IPQoS value: ${second}`);
  if (ctx.active && ctx.state.ipqosInteractive === undefined) {
    ctx.state.ipqosInteractive = interactive;
    ctx.state.ipqosBulk = bulk;
  }
}

function canonicalDomains(ctx: LineContext): void {
  const alreadySet = ctx.state.canonicalDomains.length !== 0;
  let count = 0;
  for (let arg = ctx.next(); arg !== undefined; arg = ctx.next()) {
    if (arg === '') ctx.fail(`keyword ${ctx.keyword} empty argument`);
    if (arg.toLowerCase() === 'none' && (count > 0 || ctx.remaining() > 0)) {
      ctx.fail(`keyword ${ctx.keyword} "none" argument must appear alone.`);
    }
    count++;
    const problem = domainProblem(arg);
    if (problem !== undefined) ctx.fail(problem);
    if (!ctx.active || alreadySet) continue;
    if (ctx.state.canonicalDomains.length >= MAX_CANON_DOMAINS) ctx.fail('too many hostname suffixes.');
    // valid_domain() lower-cases the name and drops one trailing dot.
    ctx.state.canonicalDomains.push(asciiLower(arg).replace(/\.$/, ''));
  }
}

function domainProblem(name: string): string | undefined {
  if (name === '') return 'empty domain name';
  if (!/^[A-Za-z0-9]/.test(name)) return `domain name "${name}" starts with invalid character`;
  const lower = asciiLower(name);
  for (let i = 0; i < lower.length; i++) {
    if (lower[i] === '.' && lower[i - 1] === '.') return `domain name "${lower.slice(0, i + 1)}" contains consecutive separators`;
    if (!/[a-z0-9._-]/.test(lower[i]!)) return `domain name "${lower.slice(0, i + 1)}" contains invalid characters`;
  }
  return isValidDomain(name) ? undefined : `domain name "${name}" contains invalid characters`;
}

function permittedCnames(ctx: LineContext): void {
  const alreadySet = ctx.state.permittedCnames.length !== 0;
  let count = 0;
  for (let arg = ctx.next(); arg !== undefined; arg = ctx.next()) {
    let source: string;
    let target: string;
    if (arg.toLowerCase() === 'none') {
      if (count > 0 || ctx.remaining() > 0) ctx.fail(`keyword ${ctx.keyword} "none" argument must appear alone.`);
      source = arg;
      target = '';
    } else if (arg === '*') {
      source = arg;
      target = arg;
    } else {
      const lower = asciiLower(arg);
      const colon = lower.indexOf(':');
      if (colon < 0 || colon === lower.length - 1) ctx.fail(`Invalid permitted CNAME "${lower}"`);
      source = lower.slice(0, colon);
      target = lower.slice(colon + 1);
    }
    count++;
    if (!ctx.active || alreadySet) continue;
    if (ctx.state.permittedCnames.length >= MAX_CANON_DOMAINS) ctx.fail('too many permitted CNAMEs.');
    ctx.state.permittedCnames.push({ sourceList: source, targetList: target });
  }
}

function streamLocalBindMask(ctx: LineContext): void {
  const arg = ctx.next();
  if (arg === undefined || arg === '') ctx.fail('Missing StreamLocalBindMask argument.');
  const m = /^\s*([+-]?[0-7]+)/.exec(arg);
  const value = m === null ? NaN : parseInt(m[1]!, 8);
  if (Number.isNaN(value) || value < 0 || value > 0o777) ctx.fail('Bad mask.');
  // OpenSSH stores this unconditionally: the last StreamLocalBindMask read wins, in any block.
  ctx.state.streamLocalBindMask = value;
}

const DIGESTS = ['MD5', 'SHA1', 'SHA256', 'SHA384', 'SHA512'];

function fingerprintHash(ctx: LineContext): void {
  const arg = requireArgument(ctx);
  const name = DIGESTS.find((d) => d === arg.toUpperCase());
  if (name === undefined) ctx.fail(`Invalid hash algorithm "${arg}".`);
  setString(ctx, 'fingerprintHash', name);
}

function addKeysToAgent(ctx: LineContext): void {
  const arg = ctx.next();
  const arg2 = ctx.next();
  let value = parseChoice(arg, YES_NO_ASK_CONFIRM) ?? -1;
  let lifespan = 0;
  if (value === 3 && arg2 !== undefined) {
    const t = parseTime(arg2);
    if (t === undefined) ctx.fail('invalid time value.');
    lifespan = t;
  } else if (value === -1 && arg2 === undefined) {
    const t = parseTime(arg);
    if (t === undefined) ctx.fail('unsupported option');
    lifespan = t;
    value = 1;
  } else if (value === -1 || arg2 !== undefined) {
    ctx.fail('unsupported option');
  }
  if (ctx.active && ctx.state.addKeysToAgent === undefined) {
    ctx.state.addKeysToAgent = value;
    ctx.state.addKeysToAgentLifespan = lifespan;
  }
}

function gssapiKexAlgorithms(ctx: LineContext): void {
  const arg = requireArgument(ctx);
  const names = arg.split(',');
  if (names.some((n) => !(GSSAPI_KEX_SUPPORTED as readonly string[]).includes(n))) {
    ctx.fail(`Bad GSSAPI KexAlgorithms '${arg}'.`);
  }
  setString(ctx, 'gssapiKexAlgorithms', arg);
}

function option(handle: KeywordHandler): KeywordSpec {
  return { kind: 'option', handle };
}

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
    'useroaming', 'usersh', 'useprivilegedport', 'useblacklistedkeys'].map((k) => [k, option(ignored())] as const),
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
]);
