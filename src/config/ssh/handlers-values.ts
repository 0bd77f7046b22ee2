/**
 * ssh_config keywords with their own syntax, part two: environment, ControlPersist, tunnels, IPQoS,
 * canonicalisation, StreamLocalBindMask, FingerprintHash, AddKeysToAgent and GSSAPIKexAlgorithms.
 */
import { GSSAPI_KEX_SUPPORTED } from './algorithms.ts';
import { isValidDomain } from './destination.ts';
import { listArguments, requireArgument, setString, type LineContext } from './handler-kit.ts';
import { asciiLower } from './lexer.ts';
import { matchPattern } from './patterns.ts';
import { YES_NO_ASK_CONFIRM, parseChoice, parseTunnelDevice } from './values.ts';
import { parseDigest, parseIpqos, parseOctalMask, parseTime } from '../values.ts';

const MAX_CANON_DOMAINS = 32;

export function sendEnv(ctx: LineContext): void {
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

export function setEnv(ctx: LineContext): void {
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

export function controlPersist(ctx: LineContext): void {
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

export function tunnelDevice(ctx: LineContext): void {
  const arg = requireArgument(ctx);
  const ids = parseTunnelDevice(arg);
  if (ids === undefined) ctx.fail('Bad tun device.');
  if (ctx.active && ctx.state.tunnelLocal === undefined) {
    ctx.state.tunnelLocal = ids.local;
    ctx.state.tunnelRemote = ids.remote;
  }
}

export function ipqos(ctx: LineContext): void {
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

export function canonicalDomains(ctx: LineContext): void {
  const alreadySet = ctx.state.canonicalDomains.length !== 0;
  for (const arg of listArguments(ctx)) {
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

export function permittedCnames(ctx: LineContext): void {
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

export function streamLocalBindMask(ctx: LineContext): void {
  const arg = ctx.next();
  if (arg === undefined || arg === '') ctx.fail('Missing StreamLocalBindMask argument.');
  const value = parseOctalMask(arg);
  if (value === undefined) ctx.fail('Bad mask.');
  // OpenSSH stores this unconditionally: the last StreamLocalBindMask read wins, in any block.
  ctx.state.streamLocalBindMask = value;
}

export function fingerprintHash(ctx: LineContext): void {
  const arg = requireArgument(ctx);
  const name = parseDigest(arg);
  if (name === undefined) ctx.fail(`Invalid hash algorithm "${arg}".`);
  setString(ctx, 'fingerprintHash', name);
}

export function addKeysToAgent(ctx: LineContext): void {
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

export function gssapiKexAlgorithms(ctx: LineContext): void {
  const arg = requireArgument(ctx);
  const names = arg.split(',');
  if (names.some((n) => !(GSSAPI_KEX_SUPPORTED as readonly string[]).includes(n))) {
    ctx.fail(`Bad GSSAPI KexAlgorithms '${arg}'.`);
  }
  setString(ctx, 'gssapiKexAlgorithms', arg);
}
