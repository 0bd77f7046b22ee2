/**
 * ~/.ssh/rc and /etc/ssh/sshrc, as session.c do_rc_files() runs them in the session's child, after the
 * environment is set up and before the shell or command: `$shell -c '/bin/sh ~/.ssh/rc'` when the user's
 * file exists and may run, else `/bin/sh /etc/ssh/sshrc` when that exists, else (with X11 forwarding)
 * `xauth -q -` fed "remove DISPLAY" and "add DISPLAY PROTO DATA". The rc file gets the X11 "PROTO DATA\n"
 * line on its stdin (nothing without X11) and shares the session's stdout and stderr (its output is the
 * session's, terminal or not).
 *
 * ~/.ssh/rc is skipped for subsystems and under ForceCommand (the administrator's command), and when
 * PermitUserRC, authorized_keys no-user-rc / restrict or a certificate without permit-user-rc deny it;
 * /etc/ssh/sshrc still runs then, subsystems included, as in sshd.
 *
 * Here the session's program is wrapped in a short POSIX sh prologue that does exactly this as the user
 * (the existence checks are the user's own stat(), as in the child) and then execs the program in place,
 * so the program keeps the process id the session knows.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SessionContext, SessionKind } from './session-environment.ts';
import type { SessionProgram } from '../sessions/session-process.ts';
import type { SystemPaths } from './system-paths.ts';

/** _PATH_SSH_USER_RC, relative to the home directory. */
export const USER_RC = '.ssh/rc';
/** _PATH_BSHELL */
const BSHELL = '/bin/sh';

/** The X11 forwarding of the session (x11-req, src/server/x11/): what xauth and rc files get. */
export interface X11Authority {
  /** DISPLAY as xauth names it ("unix:10.0" for X11UseLocalhost yes, else "host:10.0"). */
  display: string;
  /** x11-req's authentication protocol ("MIT-MAGIC-COOKIE-1") and cookie (hex). */
  protocol: string;
  cookie: string;
  /** XAuthLocation; undefined when unset ("none"). */
  xauthLocation?: string;
}

export interface RcFilesRequest {
  home: string;
  /** The user's login shell (pw_shell, /bin/sh when empty). */
  shell: string;
  /** Whether ~/.ssh/rc may run: PermitUserRC, the key's and certificate's permit-user-rc, no subsystem or ForceCommand. */
  userRcAllowed: boolean;
  /** /etc/ssh/sshrc (configurable for tests). */
  systemRc: string;
  x11?: X11Authority;
}

/**
 * Runs as the user, as `sh -c PROLOGUE tether-rc USER_RC USER_RC_COMMAND SYSTEM_RC SHELL XAUTH PROGRAM...`.
 * The X11 lines come in the environment rather than argv (argv is world-readable in /proc) and are
 * removed before anything else runs. rc exit statuses are ignored, as pclose()'s is in sshd.
 */
const PROLOGUE = [
  'rc=$1 rc_command=$2 system_rc=$3 shell=$4 xauth=$5; shift 5',
  'rc_input=$TETHER_RC_INPUT xauth_input=$TETHER_XAUTH_INPUT; unset TETHER_RC_INPUT TETHER_XAUTH_INPUT',
  'if [ -n "$rc" ] && [ -e "$rc" ]; then printf %s "$rc_input" | "$shell" -c "$rc_command"',
  'elif [ -e "$system_rc" ]; then printf %s "$rc_input" | /bin/sh "$system_rc"',
  'elif [ -n "$xauth" ] && [ -n "$xauth_input" ]; then printf %s "$xauth_input" | "$xauth" -q -',
  'fi',
  'exec "$@"',
].join('\n');

/** A path as a shell word: bare when it needs no quoting (sshd never quotes it), else single-quoted. */
function shellWord(path: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}

/**
 * The program with the rc files run before it, or the program unchanged when there is nothing to run
 * (no rc file the server can see and no X11), which is every session on most systems.
 */
export function withRcFiles(program: SessionProgram, request: RcFilesRequest): SessionProgram {
  const userRc = request.userRcAllowed ? join(request.home, USER_RC) : '';
  const x11 = request.x11;
  const xauth = x11?.xauthLocation ?? '';
  // The server runs as root and sees at least what the user sees; the prologue checks again as the user.
  if ((userRc === '' || !existsSync(userRc)) && !existsSync(request.systemRc) && xauth === '') return program;
  const env = { ...program.env };
  if (x11) {
    env.TETHER_RC_INPUT = `${x11.protocol} ${x11.cookie}\n`;
    env.TETHER_XAUTH_INPUT = `remove ${x11.display}\nadd ${x11.display} ${x11.protocol} ${x11.cookie}\n`;
  }
  return {
    ...program,
    file: BSHELL,
    args: ['-c', PROLOGUE, 'tether-rc', userRc, `${BSHELL} ${shellWord(userRc)}`, request.systemRc, request.shell, xauth, program.file, ...program.args],
    env,
  };
}

/**
 * do_rc_files()'s conditions for one session request: `forced` is chooseProgram's "(config)" for
 * ForceCommand (options.adm_forced_command) or "(key-option)" for command=, which does not stop ~/.ssh/rc.
 */
export function rcFilesRequest(context: SessionContext, paths: SystemPaths, request: SessionKind, forced: string | undefined, x11?: X11Authority): RcFilesRequest {
  const { settings, restrictions, account } = context;
  return {
    home: account.home,
    shell: account.shell,
    // ForceCommand internal-sftp (a subsystem in sshd) is covered by the ForceCommand test.
    userRcAllowed: request.kind !== 'subsystem' && forced !== '(config)' && settings.permitUserRC && restrictions.permitUserRc,
    systemRc: paths.systemRc,
    x11,
  };
}
