// sshd_config keywords about listening, connections and forwarding targets, each with sshd's own syntax:
// Port, ListenAddress, RekeyLimit, MaxStartups, PerSourceMaxStartups, PerSourceNetBlockSize, IPQoS,
// PermitOpen and PermitListen (servconf.c process_server_config_line_depth), and OpenSSH 9.8's
// PerSourcePenalties and PerSourcePenaltyExemptList.
import { splitHostPort, timeValue, type DirectiveContext } from './directive-kit.ts';
import type { PerSourcePenalties } from './per-source-penalties.ts';
import { addrMatchList } from '../../match/addresses.ts';
import { parseIpqos, parseNonNegativeInt, parsePort, parseScaled, parseTime } from '../values.ts';

const MAX_PORTS = 256;

export function port(ctx: DirectiveContext): void {
  const { opts } = ctx;
  if (opts.portsFromCommandLine) {
    ctx.args.length = 0;
    return;
  }
  const ports = (opts.ports ??= []);
  if (ports.length >= MAX_PORTS) throw ctx.fatal('too many ports.');
  const value = parsePort(ctx.requireArg('missing port number.'));
  if (value <= 0) throw ctx.fatal('Badly formatted port number.');
  ports.push(value);
}

export function listenAddress(ctx: DirectiveContext): void {
  const arg = ctx.requireArg('missing address');
  let host: string;
  let portNumber = 0;
  const firstColon = arg.indexOf(':');
  if (!arg.includes('[') && firstColon >= 0 && arg.indexOf(':', firstColon + 1) >= 0) {
    host = arg; // a bare IPv6 address: no brackets, two or more colons
  } else {
    // hpdelim: "[v6]:port", "host:port" or "host"; a '/' separator is refused here.
    const split = splitHostPort(arg);
    if (split === undefined) throw ctx.fatal('bad address:port usage');
    host = split.host;
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    if (split.port !== null) {
      const p = parsePort(split.port);
      if (p <= 0) throw ctx.fatal('bad port number');
      portNumber = p;
    }
  }
  const extra = ctx.next();
  if (extra !== undefined) {
    if (extra !== 'rdomain' || ctx.next() === undefined) throw ctx.fatal('bad ListenAddress syntax');
    ctx.errors.push('Routing domains are not supported on this platform');
    throw ctx.fatal('bad routing domain');
  }
  (ctx.opts.queuedListenAddresses ??= []).push({ host, port: portNumber, rdomain: null });
}

export function rekeyLimit(ctx: DirectiveContext): void {
  const arg = ctx.requireArg(`${ctx.keyword} missing argument.`);
  let bytes = 0;
  if (arg !== 'default') {
    const scaled = parseScaled(arg);
    if ('error' in scaled) throw ctx.fatal(`Bad ${ctx.keyword} number '${arg}': ${scaled.error}`);
    if (scaled.value !== 0 && scaled.value < 16) throw ctx.fatal(`${ctx.keyword} too small`);
    bytes = scaled.value;
  }
  // The byte limit and the interval are separate options in sshd, each first-value-wins (-1 = unset).
  const current = (ctx.opts.rekeyLimit ??= { bytes: -1, intervalSeconds: -1 });
  if (ctx.active && current.bytes === -1) current.bytes = bytes;
  if (ctx.args.length === 0) return;
  if (ctx.args[0] === 'none') {
    ctx.next();
    return;
  }
  const interval = ctx.next() as string;
  if (interval === '') throw ctx.fatal('missing time value.');
  const seconds = timeValue(ctx, interval);
  if (ctx.active && current.intervalSeconds === -1) current.intervalSeconds = seconds;
}

export function maxStartups(ctx: DirectiveContext): void {
  const arg = ctx.requireArg(`${ctx.keyword} missing argument.`);
  // sscanf("%d:%d:%d"): the count of leading integers decides the form; the last MaxStartups wins.
  const m = /^\s*([+-]?\d+)(?::\s*([+-]?\d+)(?::\s*([+-]?\d+))?)?/.exec(arg);
  const n = m ? (m[3] !== undefined ? 3 : m[2] !== undefined ? 2 : 1) : 0;
  const invalid = () => ctx.fatal(`Invalid ${ctx.keyword} spec.`);
  if (!m || n === 2) throw invalid();
  const begin = Number(m[1]);
  const rate = n === 3 ? Number(m[2]) : (ctx.opts.maxStartups?.rate ?? 30);
  const full = n === 3 ? Number(m[3]) : begin;
  if (n === 3 && (begin > full || rate > 100 || rate < 1)) throw invalid();
  if (full <= 0 || begin <= 0) throw invalid();
  ctx.opts.maxStartups = { begin, rate, full };
}

export function perSourceNetBlockSize(ctx: DirectiveContext): void {
  const arg = ctx.requireArg(`${ctx.keyword} missing argument.`);
  const m = /^\s*([+-]?\d+)(?::\s*([+-]?\d+))?/.exec(arg);
  const v4 = m ? Number(m[1]) : -1;
  const v6 = m && m[2] !== undefined ? Number(m[2]) : 0;
  if (!m || v4 < 0 || v4 > 32 || v6 < 0 || v6 > 128) throw ctx.fatal(`Invalid ${ctx.keyword} spec.`);
  if (ctx.active) ctx.opts.perSourceNetBlockSize = { ipv4: v4, ipv6: v6 };
}

export function perSourceMaxStartups(ctx: DirectiveContext): void {
  const arg = ctx.requireArg(`${ctx.keyword} missing argument.`);
  let value: number | null = null;
  if (arg !== 'none') {
    const v = parseNonNegativeInt(arg);
    if ('error' in v) throw ctx.fatal(`${ctx.keyword} integer value ${v.error}.`);
    value = v.value;
  }
  if (ctx.active) ctx.opts.perSourceMaxStartups = value;
}

/** PerSourcePenalties items that take a time ("crash:90s"), by prefix. */
const PENALTY_TIMES: ReadonlyArray<readonly [string, keyof PerSourcePenalties]> = [
  ['crash:', 'crash'], ['authfail:', 'authfail'], ['noauth:', 'noauth'], ['grace-exceeded:', 'graceExceeded'],
  ['max:', 'max'], ['min:', 'min'],
];
const PENALTY_WORDS: ReadonlyArray<readonly [string, 'overflow' | 'overflow6', 'permissive' | 'deny-all']> = [
  ['overflow:deny-all', 'overflow', 'deny-all'], ['overflow:permissive', 'overflow', 'permissive'],
  ['overflow6:deny-all', 'overflow6', 'deny-all'], ['overflow6:permissive', 'overflow6', 'permissive'],
];

/**
 * PerSourcePenalties (OpenSSH 9.8 servconf.c): "yes" or "no" alone, or items, each its own first-value-wins
 * option; setting any item turns penalties on, even after an earlier "no".
 */
export function perSourcePenalties(ctx: DirectiveContext): void {
  if (ctx.args.length === 0 || (ctx.args.length === 1 && ctx.args[0] === '')) throw ctx.fatal(`no ${ctx.keyword} specified`);
  const current = (ctx.opts.perSourcePenalties ??= {});
  for (let arg = ctx.next(); arg !== undefined; arg = ctx.next()) {
    const lower = arg.toLowerCase();
    if (lower === 'yes' || lower === 'no') {
      if (ctx.args.length > 0) throw ctx.fatal(`keyword ${ctx.keyword} "${arg}" argument must appear alone.`);
      if (ctx.active && current.enabled === undefined) current.enabled = lower === 'yes';
      continue;
    }
    let key: keyof PerSourcePenalties;
    let value: number | string;
    const timed = PENALTY_TIMES.find(([prefix]) => arg!.startsWith(prefix));
    const word = PENALTY_WORDS.find(([text]) => arg === text);
    if (timed) {
      key = timed[1];
      const seconds = parseTime(arg.slice(timed[0].length));
      if (seconds === undefined) throw ctx.fatal(`invalid ${ctx.keyword} time value.`);
      value = seconds;
    } else if (arg.startsWith('max-sources4:') || arg.startsWith('max-sources6:')) {
      key = arg[11] === '4' ? 'maxSources4' : 'maxSources6';
      const count = parseNonNegativeInt(arg.slice(13));
      if ('error' in count) throw ctx.fatal(`${ctx.keyword} value ${count.error}.`);
      value = count.value;
    } else if (word) {
      key = word[1];
      value = word[2];
    } else {
      throw ctx.fatal(`unsupported ${ctx.keyword} keyword ${arg}`);
    }
    if (ctx.active && current[key] === undefined) {
      (current as Record<string, unknown>)[key] = value;
      current.enabled = true;
    }
  }
}

/** PerSourcePenaltyExemptList: an address list (CIDR and wildcards, addrmatch.c); "none" clears it. */
export function perSourcePenaltyExemptList(ctx: DirectiveContext): void {
  const arg = ctx.requireArg('missing argument.');
  if (addrMatchList(null, arg) !== 0) throw ctx.fatal(`keyword ${ctx.keyword} invalid address argument.`);
  ctx.setFirst('perSourcePenaltyExemptList', arg);
}

export function ipQoS(ctx: DirectiveContext): void {
  const first = ctx.requireArg(`${ctx.keyword} missing argument.`);
  const interactive = parseIpqos(first);
  if (interactive === undefined) throw ctx.fatal(`Bad ${ctx.keyword} value: ${first}`);
  const second = ctx.next();
  const bulk = second === undefined ? interactive : parseIpqos(second);
  if (bulk === undefined) throw ctx.fatal(`Bad ${ctx.keyword} value: ${second}`);
  if (ctx.active) ctx.opts.ipQoS = { interactive, bulk };
}

/** PermitOpen and PermitListen: "any", "none", or host:port entries ("*" for any host or port). */
export function permitOpen(ctx: DirectiveContext): void {
  const option = ctx.option as 'permitOpen' | 'permitListen';
  const first = ctx.requireArg(`${ctx.keyword} missing argument.`);
  const fresh = (ctx.opts[option] ?? []).length === 0;
  if (first === 'any' || first === 'none') {
    if (ctx.active && fresh) ctx.opts[option] = [first];
    return;
  }
  for (let arg: string | undefined = first; arg !== undefined && arg !== ''; arg = ctx.next()) {
    let entry = arg;
    let portPart: string | null;
    if (option === 'permitListen' && !arg.includes(':')) {
      entry = `*:${arg}`; // a bare port listens on any address
      portPart = arg;
    } else {
      const split = splitHostPort(arg);
      if (split === undefined) throw ctx.fatal(`${ctx.keyword} missing host`);
      portPart = split.port;
    }
    const value = portPart === null ? -1 : portPart === '*' ? 0 : parsePort(portPart);
    if (portPart !== '*' && value <= 0) throw ctx.fatal(`${ctx.keyword} bad port number`);
    if (ctx.active && fresh) (ctx.opts[option] ??= []).push(entry);
  }
}
