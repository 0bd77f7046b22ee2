// sshd_config keywords about who may log in, how, and with what environment, each with sshd's own syntax:
// Allow/Deny Users/Groups, AuthenticationMethods, AuthorizedKeysFile and the command keywords, Subsystem,
// AcceptEnv, SetEnv, PermitUserEnvironment, PubkeyAuthOptions, LogVerbose and ChannelTimeout.
import type { DirectiveContext } from './directive-kit.ts';
import { matchUserEntry } from '../../match/addresses.ts';
import { expandTilde } from './values.ts';
import { parseTime } from '../values.ts';

const MAX_SUBSYSTEMS = 256;
const AUTH_METHODS = ['none', 'publickey', 'gssapi-with-mic', 'gssapi-keyex', 'password', 'keyboard-interactive', 'hostbased'];

export function allowDenyUsers(ctx: DirectiveContext): void {
  const option = ctx.option as 'allowUsers' | 'denyUsers';
  for (let arg = ctx.next(); arg !== undefined; arg = ctx.next()) {
    if (arg === '' || matchUserEntry(null, null, null, arg) === -1) throw ctx.fatal(`invalid ${ctx.keyword} pattern: "${arg}"`);
    if (ctx.active) (ctx.opts[option] ??= []).push(arg);
  }
}

export function allowDenyGroups(ctx: DirectiveContext): void {
  const option = ctx.option as 'allowGroups' | 'denyGroups';
  for (let arg = ctx.next(); arg !== undefined; arg = ctx.next()) {
    if (arg === '') throw ctx.fatal(`empty ${ctx.keyword} pattern`);
    if (ctx.active) (ctx.opts[option] ??= []).push(arg);
  }
}

export function authenticationMethods(ctx: DirectiveContext): void {
  const { opts, keyword } = ctx;
  const fresh = (opts.authenticationMethods ?? []).length === 0;
  let sawAny = false;
  let parsedAny = false;
  for (let arg = ctx.next(); arg !== undefined; arg = ctx.next()) {
    if (arg === 'any') {
      if ((opts.authenticationMethods ?? []).length > 0) throw ctx.fatal(`"any" must appear alone in ${keyword}`);
      sawAny = true;
    } else if (sawAny) {
      throw ctx.fatal(`"any" must appear alone in ${keyword}`);
    } else {
      const problem = methodListProblem(arg);
      if (problem !== null) {
        ctx.errors.push(problem);
        throw ctx.fatal(`invalid ${keyword} method list.`);
      }
    }
    parsedAny = true;
    if (fresh && ctx.active) (opts.authenticationMethods ??= []).push(arg);
  }
  if (!parsedAny) throw ctx.fatal(`no ${keyword} specified`);
}

/** auth2_methods_valid without the "enabled" check: every method of the list must exist. */
export function methodListProblem(list: string): string | null {
  if (list === '') return 'empty authentication method list';
  for (const entry of list.split(',')) {
    const method = entry.split(':')[0] as string;
    if (!AUTH_METHODS.includes(method)) return `Unknown authentication method "${method}" in list`;
  }
  return null;
}

export function authorizedKeysFile(ctx: DirectiveContext): void {
  const fresh = (ctx.opts.authorizedKeysFiles ?? []).length === 0;
  for (let arg = ctx.next(); arg !== undefined; arg = ctx.next()) {
    if (arg === '') ctx.problem(`keyword ${ctx.keyword} empty argument`);
    if (ctx.active && fresh) (ctx.opts.authorizedKeysFiles ??= []).push(expandTilde(arg));
  }
}

export function authorizedPrincipalsFile(ctx: DirectiveContext): void {
  ctx.setFirst(ctx.option, expandTilde(ctx.requireArg(`${ctx.keyword} missing argument.`)));
}

/** AuthorizedKeysCommand and AuthorizedPrincipalsCommand: the raw rest of the line, an absolute path or none. */
export function authorizedCommand(ctx: DirectiveContext): void {
  const { rest } = ctx;
  if (!rest.startsWith('/') && rest.toLowerCase() !== 'none') throw ctx.fatal(`${ctx.keyword} must be an absolute path`);
  // sshd tests AuthorizedKeysCommand's slot for both keywords, so a later principals command replaces an
  // earlier one and any is ignored once AuthorizedKeysCommand is set; reproduced for identical -T.
  if (ctx.active && ctx.opts.authorizedKeysCommand === undefined) ctx.o[ctx.option] = rest;
  ctx.args.length = 0;
}

export function commandUser(ctx: DirectiveContext): void {
  ctx.setFirst(ctx.option, ctx.requireArg(`missing ${ctx.keyword} argument.`));
}

export function subsystem(ctx: DirectiveContext): void {
  const subsystems = (ctx.opts.subsystems ??= []);
  if (subsystems.length >= MAX_SUBSYSTEMS) throw ctx.fatal('too many subsystems defined.');
  const name = ctx.requireArg(`${ctx.keyword} missing argument.`);
  if (!ctx.active) {
    ctx.next();
    return;
  }
  if (subsystems.some((s) => s.name === name)) throw ctx.fatal(`Subsystem '${name}' already defined.`);
  const command = ctx.requireArg('Missing subsystem command.');
  const commandLine = [command, ...ctx.args.splice(0)].join(' ');
  subsystems.push({ name, command, commandLine });
}

export function acceptEnv(ctx: DirectiveContext): void {
  for (let arg = ctx.next(); arg !== undefined; arg = ctx.next()) {
    if (arg === '' || arg.includes('=')) throw ctx.fatal('Invalid environment name.');
    if (ctx.active) (ctx.opts.acceptEnv ??= []).push(arg);
  }
}

export function setEnv(ctx: DirectiveContext): void {
  const fresh = (ctx.opts.setEnv ?? []).length === 0;
  for (let arg = ctx.next(); arg !== undefined; arg = ctx.next()) {
    if (arg === '' || !arg.includes('=')) throw ctx.fatal('Invalid environment.');
    if (!ctx.active || !fresh) continue;
    const name = arg.slice(0, arg.indexOf('='));
    const list = (ctx.opts.setEnv ??= []);
    if (list.some((e) => e.slice(0, e.indexOf('=')) === name)) continue; // first definition wins
    list.push(arg);
  }
}

export function permitUserEnvironment(ctx: DirectiveContext): void {
  const arg = ctx.requireArg(`${ctx.keyword} missing argument.`);
  // Only exact "yes"/"no"; anything else is a pattern list of variable names to accept.
  const allow = arg === 'yes' || arg === 'no' ? null : arg;
  if (ctx.active && ctx.opts.permitUserEnvironment === undefined) {
    ctx.opts.permitUserEnvironment = arg !== 'no';
    if (allow !== null) ctx.opts.permitUserEnvironmentAllowlist = allow;
  }
}

export function pubkeyAuthOptions(ctx: DirectiveContext): void {
  const value = { touchRequired: false, verifyRequired: false };
  for (let arg = ctx.next(); arg !== undefined; arg = ctx.next()) {
    const lower = arg.toLowerCase();
    if (lower === 'none') continue;
    if (lower === 'touch-required') value.touchRequired = true;
    else if (lower === 'verify-required') value.verifyRequired = true;
    else ctx.problem(`unsupported ${ctx.keyword} option ${arg}`);
  }
  ctx.setFirst(ctx.option, value);
}

/** LogVerbose and ChannelTimeout: lists where "none" must stand alone and the first line that applies wins. */
export function noneOrList(ctx: DirectiveContext): void {
  const key = ctx.option === 'logVerbose' ? 'logVerbose' : 'channelTimeouts';
  const fresh = (ctx.opts[key] ?? []).length === 0;
  let i = 0;
  for (let arg = ctx.next(); arg !== undefined; arg = ctx.next()) {
    if (ctx.option === 'logVerbose' && arg === '') ctx.problem(`keyword ${ctx.keyword} empty argument`);
    if (arg.toLowerCase() === 'none') {
      if (i > 0 || ctx.args.length > 0) ctx.problem(`keyword ${ctx.keyword} "none" argument must appear alone.`);
    } else if (ctx.option === 'channelTimeout' && !validChannelTimeout(arg)) {
      throw ctx.fatal(`invalid channel timeout ${arg}`);
    }
    i++;
    if (fresh && ctx.active) (ctx.opts[key] ??= []).push(arg);
  }
}

function validChannelTimeout(arg: string): boolean {
  const eq = arg.indexOf('=');
  return eq > 0 && parseTime(arg.slice(eq + 1)) !== undefined;
}
