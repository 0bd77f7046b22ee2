/**
 * What a session runs and with which environment, as sshd's do_exec / do_setup_env decide it: the user's
 * shell with `-c command` (or as a login shell), ForceCommand or authorized_keys command= taking over with the
 * client's request kept in SSH_ORIGINAL_COMMAND, AcceptEnv-filtered client variables, SetEnv, and
 * authorized_keys environment= only when PermitUserEnvironment allows it.
 */
import { existsSync } from 'node:fs';
import { matchPattern, matchPatternList } from '../match/addresses.ts';
import type { EffectiveSshdSettings } from '../config/sshd/index.ts';
import type { SessionRestrictions } from '../auth/server-auth.ts';
import type { UserAccount } from './accounts.ts';
import type { RunAs, SessionProgram, TerminalRequest } from '../sessions/session-process.ts';
import type { SystemPaths } from './system-paths.ts';

/** Everything about the logged-in connection a session needs. */
export interface SessionContext {
  account: UserAccount;
  settings: EffectiveSshdSettings;
  restrictions: SessionRestrictions;
  peer: { address: string; port: number };
  local: { address: string; port: number };
  /** Switch to the account before running programs (the server runs as root). */
  switchUser: boolean;
  /** IPQoS: marks the connection interactive (a session on a terminal) or bulk (session.c do_exec_*). */
  markInteractive?: (interactive: boolean) => void;
  /** /etc/ssh/sshrc, /etc/motd and the login records (DEFAULT_SYSTEM_PATHS when absent). */
  paths?: SystemPaths;
}

/** sshd's _PATH_STDPATH as Debian builds it, and the superuser's. */
const USER_PATH = '/usr/local/bin:/usr/bin:/bin:/usr/games';
const ROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const INTERNAL_SFTP = 'internal-sftp';
const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

/** AcceptEnv: whether the client may set `name`. */
export function acceptsEnv(settings: EffectiveSshdSettings, name: string): boolean {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return false;
  return settings.acceptEnv.some((entry) => entry.split(/\s+/).some((pattern) => matchPattern(name, pattern)));
}

export type SessionKind = { kind: 'shell' } | { kind: 'exec'; command: string } | { kind: 'subsystem'; name: string };

/** The command line a request runs, before forced commands; undefined for a login shell. Throws for unknown subsystems. */
function requestedCommand(settings: EffectiveSshdSettings, request: SessionKind): string | undefined {
  if (request.kind === 'shell') return undefined;
  if (request.kind === 'exec') return request.command;
  const subsystem = settings.subsystems.find((s) => s.name === request.name);
  if (!subsystem) throw new SessionRequestError(`subsystem request for ${request.name} failed, subsystem not found`);
  return subsystem.command === INTERNAL_SFTP ? SFTP_SERVER : subsystem.commandLine;
}

export class SessionRequestError extends Error {
  override readonly name = 'SessionRequestError';
}

export interface ProgramChoice {
  program: SessionProgram;
  /** "(config)" or "(key-option)" when a forced command replaced the request, for the log. */
  forced?: string;
  /** What the client asked for, for the log ("" for a shell). */
  requested: string;
}

/** Builds the program for a session request. */
export function chooseProgram(
  context: SessionContext,
  request: SessionKind,
  options: {
    clientEnv: ReadonlyArray<readonly [string, string]>;
    terminal?: TerminalRequest;
    /** Set by the server for this connection (SSH_AUTH_SOCK); after sshd's own variables, before the user's. */
    serverEnv?: ReadonlyMap<string, string>;
    /** The session's forwarded X11 display (x11-req), set after TERM as do_setup_env sets it. */
    display?: string;
  },
): ProgramChoice {
  const { account, settings, restrictions } = context;
  let command = requestedCommand(settings, request);
  const requested = command ?? '';
  let originalCommand: string | undefined;
  let forced: string | undefined;
  // ForceCommand wins over command= (sshd do_exec).
  if (settings.forceCommand !== null) {
    originalCommand = command;
    command = settings.forceCommand === INTERNAL_SFTP ? SFTP_SERVER : settings.forceCommand;
    forced = '(config)';
  } else if (restrictions.forcedCommand !== undefined) {
    originalCommand = command;
    command = restrictions.forcedCommand;
    forced = '(key-option)';
  }

  const env: Record<string, string> = {};
  for (const [name, value] of options.clientEnv) env[name] = value;
  Object.assign(env, {
    USER: account.name,
    LOGNAME: account.name,
    HOME: account.home,
    PATH: account.uid === 0 ? ROOT_PATH : USER_PATH,
    MAIL: `/var/mail/${account.name}`,
    SHELL: account.shell,
  });
  for (const entry of settings.setEnv) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  if (process.env.TZ) env.TZ = process.env.TZ;
  env.SSH_CLIENT = `${context.peer.address} ${context.peer.port} ${context.local.port}`;
  env.SSH_CONNECTION = `${context.peer.address} ${context.peer.port} ${context.local.address} ${context.local.port}`;
  if (options.terminal) env.TERM = options.terminal.term || 'dumb';
  if (options.display !== undefined) env.DISPLAY = options.display;
  if (originalCommand !== undefined) env.SSH_ORIGINAL_COMMAND = originalCommand;
  for (const [name, value] of options.serverEnv ?? []) env[name] = value;
  if (settings.permitUserEnvironment) {
    const allowlist = settings.permitUserEnvironmentAllowlist;
    for (const { name, value } of restrictions.environment) {
      if (allowlist === null || matchPatternList(name, allowlist) === 1) env[name] = value;
    }
  }

  const cwd = existsSync(account.home) ? account.home : '/';
  const runAs: RunAs | undefined = context.switchUser ? { uid: account.uid, gid: account.gid } : undefined;
  const args = command === undefined ? ['-l'] : ['-c', command];
  return {
    program: { file: account.shell, args, env, cwd, runAs, terminal: options.terminal },
    forced,
    requested,
  };
}
