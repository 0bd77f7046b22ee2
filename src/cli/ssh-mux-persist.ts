/**
 * ControlPersist and ControlMaster ask for `tether ssh`. ssh forks once the master is connected
 * (ssh.c control_persist_detach): the child keeps the connection in the background, the parent becomes a
 * mux client for its own session. Node cannot fork a running process, so the copy is started first, with
 * a pipe on fd 3: it connects (asking for passwords on the terminal as usual), listens on the ControlPath,
 * says "ready" and stays; this process then joins it through the socket like any mux client.
 *
 * ask/autoask confirm each mux request through SSH_ASKPASS, as readpass.c ask_permission does.
 */
import { inheritedReadyFd, signalReady, startDetachedCopy } from './detach.ts';
import type { ClientSettings } from './ssh-settings.ts';

/** node:child_process loads when a command is run, not with every `tether ssh` (issue 17: start-up time). */
const childProcess = () => process.getBuiltinModule('node:child_process');

/** Set in the background copy's environment: the fd of its readiness pipe. */
const PERSIST_FD_VARIABLE = 'TETHER_SSH_CONTROL_PERSIST_FD';
/** ssh's default askpass program (pathnames.h _PATH_SSH_ASKPASS_DEFAULT). */
const DEFAULT_ASKPASS = '/usr/bin/ssh-askpass';
/** What a terminal sends its foreground process group. */
const TERMINAL_SIGNALS = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTSTP'] as const;

export interface PersistRole {
  /** The control socket listens: let the foreground process go on, and detach from it. */
  ready(): void;
}

let backgroundRole: PersistRole | undefined;

/**
 * 'background-master' in the copy started for ControlPersist; 'start-persistent' when this process would
 * start one if no master answers; undefined otherwise.
 */
export function persistRole(settings: ClientSettings, path: string | undefined): 'background-master' | 'start-persistent' | undefined {
  const fd = inheritedReadyFd(PERSIST_FD_VARIABLE);
  if (fd !== undefined) {
    // ssh's daemon() puts the master in a session of its own; here it stays in the terminal's process group,
    // so the terminal's signals are ignored instead.
    backgroundRole = { ready: () => signalReady(fd, { ignoreSignals: TERMINAL_SIGNALS, silence: true }) };
    return 'background-master';
  }
  const config = settings.resolved;
  if (!path || config.controlPersist === false || config.controlMaster === 'no') return undefined;
  return 'start-persistent';
}

/** The readiness hook of the background copy, for serveControlSocket. */
export function backgroundMaster(): PersistRole | undefined {
  return backgroundRole;
}

/**
 * Starts the background master and waits until it listens. Resolves 0 then, or with the copy's exit status
 * when it failed first (its messages were passed through).
 */
export function startPersistentMaster(): Promise<number> {
  return startDetachedCopy(PERSIST_FD_VARIABLE, true);
}

/**
 * readpass.c ask_permission: SSH_ASKPASS (with SSH_ASKPASS_PROMPT=confirm) asks; an empty answer or "yes"
 * allows. Without a display to ask on (and no SSH_ASKPASS_REQUIRE=force), the answer is no.
 */
export async function askPermission(question: string): Promise<boolean> {
  const require = process.env.SSH_ASKPASS_REQUIRE?.toLowerCase();
  const display = Boolean(process.env.DISPLAY);
  if (require === 'never' || (!display && require !== 'force')) return false;
  const program = process.env.SSH_ASKPASS || DEFAULT_ASKPASS;
  const result = childProcess().spawnSync(program, [question], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, SSH_ASKPASS_PROMPT: 'confirm' },
    timeout: 300_000,
  });
  if (result.status !== 0 || result.error) return false;
  const answer = result.stdout.replace(/\r?\n$/, '');
  return answer === '' || answer.toLowerCase() === 'yes';
}
