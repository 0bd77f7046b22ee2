/**
 * ssh_config keywords with their own syntax, part one: identities and agents, ProxyCommand/ProxyJump, Port,
 * RekeyLimit, logging, forwardings, PermitRemoteOpen and EscapeChar (readconf.c process_config_line).
 */
import { parseJump } from './destination.ts';
import { FatalProblem } from './errors.ts';
import { expandString } from './expand.ts';
import { forwardsEqual, parseForward, type Forward } from './forward.ts';
import {
  command, listArguments, NONE_TIME, parseTimeArgument, requireArgument, setNumber, setString, type KeywordHandler, type LineContext,
} from './handler-kit.ts';
import type { IdentityEntry } from './options.ts';
import { FLAG, isValidEnvName, parseChoice, parseEscapeChar, parseLogLevel } from './values.ts';
import { parsePort, parseScaled, parseSyslogFacility } from '../values.ts';

const MAX_IDENTITY_FILES = 100;
const MAX_CERTIFICATE_FILES = 100;


function addIdentity(list: IdentityEntry[], path: string, userProvided: boolean): void {
  if (list.some((e) => e.userProvided === userProvided && e.path === path)) return;
  list.push({ path, userProvided });
}

/** IdentityFile and CertificateFile: every line adds (no first-wins), up to readconf.c's limit. */
function fileList(slot: 'identityFiles' | 'certificateFiles', max: number, what: string): KeywordHandler {
  return (ctx: LineContext) => {
    const arg = requireArgument(ctx);
    if (!ctx.active) return;
    if (ctx.state[slot].length >= max) ctx.fail(`Too many ${what} files specified (max ${max}).`);
    addIdentity(ctx.state[slot], arg, ctx.userConfig);
  };
}

export const identityFile = fileList('identityFiles', MAX_IDENTITY_FILES, 'identity');
export const certificateFile = fileList('certificateFiles', MAX_CERTIFICATE_FILES, 'certificate');

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

export function forwardAgent(ctx: LineContext): void {
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

export function identityAgent(ctx: LineContext): void {
  const arg = requireArgument(ctx);
  agentPath(ctx, arg);
  setString(ctx, 'identityAgent', arg);
}

/**
 * ProxyCommand and ProxyJump: whichever applies first wins (a ProxyJump stores ProxyCommand "none").
 * This build carries the 2026 backport in which `ProxyJump none` no longer blocks a later ProxyCommand.
 */
export const proxyCommand = command('proxyCommand');

export function proxyJump(ctx: LineContext): void {
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

export function port(ctx: LineContext): void {
  const arg = requireArgument(ctx);
  const value = parsePort(arg);
  if (value <= 0) ctx.fail(`Bad port '${arg}'.`);
  setNumber(ctx, 'port', value);
}

export function rekeyLimit(ctx: LineContext): void {
  const arg = ctx.next();
  if (arg === undefined || arg === '') ctx.fail('Missing argument.');
  let bytes = 0;
  if (arg !== 'default') {
    const scaled = parseScaled(arg);
    if ('error' in scaled) ctx.fail(`Bad number '${arg}': ${scaled.error}`);
    if (scaled.value !== 0 && scaled.value < 16) ctx.fail('RekeyLimit too small');
    bytes = scaled.value;
  }
  setNumber(ctx, 'rekeyLimit', bytes);
  // An optional second argument is the time limit; `none` leaves it unset.
  if (ctx.remaining() === 0) return;
  const interval = parseTimeArgument(ctx);
  if (interval === NONE_TIME && ctx.lastArgument() === 'none') return;
  setNumber(ctx, 'rekeyInterval', interval);
}

export function logLevel(ctx: LineContext): void {
  const arg = ctx.next();
  const level = parseLogLevel(arg);
  if (level === undefined) ctx.fail(`unsupported log level '${arg ?? '<NONE>'}'`);
  setNumber(ctx, 'logLevel', level);
}

export function syslogFacility(ctx: LineContext): void {
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
export function logVerbose(ctx: LineContext): void {
  for (const arg of listArguments(ctx)) {
    if (ctx.active && ctx.state.logVerbose.length === 0) ctx.state.logVerbose.push(arg);
  }
}

export function forwardHandler(kind: 'local' | 'remote' | 'dynamic'): KeywordHandler {
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

export function permitRemoteOpen(ctx: LineContext): void {
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

export function escapeChar(ctx: LineContext): void {
  const arg = requireArgument(ctx);
  const value = parseEscapeChar(arg);
  if (value === undefined) ctx.fail('Bad escape character.');
  setNumber(ctx, 'escapeChar', value);
}
