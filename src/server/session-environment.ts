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
import {
  checkChrootDirectory, ChrootDirectoryError, expandChrootDirectory, internalSftpArguments, isInternalSftp, runningFromSources, sftpOnlyRefusal,
  sftpServerCommand,
} from '../sftp/server/internal-sftp.ts';

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
  return subsystem.commandLine;
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
  /**
   * internal-sftp: its stderr is its log (it runs with -e), which sshd writes to its own log rather than
   * sending to the client, since the in-process sftp-server logs through sshd.
   */
  logsToServer?: boolean;
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
    command = settings.forceCommand;
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
  const sftp = internalSftp(context, request, command, forced !== undefined);
  if (sftp) {
    // The child runs the same code as this server: from the sources when this does.
    if (runningFromSources()) env.TETHER_SOURCE = '1';
    else if (process.env.TETHER_SOURCE) env.TETHER_SOURCE = process.env.TETHER_SOURCE;
    return { program: { ...sftp, env, cwd, runAs, terminal: options.terminal }, forced, requested, logsToServer: true };
  }
  const args = command === undefined ? ['-l'] : ['-c', command];
  return {
    program: { file: account.shell, args, env, cwd, runAs, terminal: options.terminal },
    forced,
    requested,
  };
}

/**
 * internal-sftp (session.c): a subsystem whose command is internal-sftp, or a forced one; a forced
 * internal-sftp on a shell or exec request gets sshd's "sftp connections only" refusal. Under
 * ChrootDirectory (applied, as by sshd, only when the server can switch users) the root must pass sshd's
 * checks, and any other session is refused: Tether confines SFTP paths itself and cannot chroot a program.
 */
function internalSftp(context: SessionContext, request: SessionKind, command: string | undefined, forced: boolean): { file: string; args: string[] } | undefined {
  const { settings, account } = context;
  const chroot = settings.chrootDirectory !== null && context.switchUser ? expandChrootDirectory(settings.chrootDirectory, account) : null;
  // A subsystem's own command or a forced one; "internal-sftp" typed as a command is only a command.
  const sftp = isInternalSftp(command) && request.kind === 'subsystem';
  if (chroot === null && forced && isInternalSftp(command) && !sftp) return sftpOnlyRefusal();
  if (chroot !== null) {
    if (!sftp) {
      throw new SessionRequestError(`ChrootDirectory ${chroot} for ${account.name}: refusing a session that is not internal-sftp (Tether cannot chroot a shell or command)`);
    }
    try {
      checkChrootDirectory(chroot);
    } catch (error) {
      if (error instanceof ChrootDirectoryError) throw new SessionRequestError(error.message);
      throw error;
    }
  }
  return sftp && command !== undefined ? sftpServerCommand(internalSftpArguments(command), chroot) : undefined;
}
