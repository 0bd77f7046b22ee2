/**
 * -f (ForkAfterAuthentication) for `tether ssh`. ssh forks after authentication and forward setup; Node can't
 * fork a running process, so the order is turned around: before connecting, the foreground process starts a
 * copy of itself with a pipe on fd 3 and waits. The copy connects (asking for passwords on the terminal as
 * usual), sets up its forwards, then writes "ready" on the pipe and carries on in the background; the
 * foreground process then exits 0. If the copy fails first, the foreground exits with the copy's status,
 * having passed its error messages through.
 *
 * Like ssh (fork_postauth's stdfd_devnull), the background process stops writing its own messages once
 * ready and ignores SIGHUP from the terminal it was started on; a remote command's output still goes to the
 * original stdout.
 */
import type { ResolvedSshConfig } from '../config/ssh/index.ts';
import { inheritedReadyFd, signalReady, startDetachedCopy } from './detach.ts';

/** Set in the background copy's environment: the fd of the readiness pipe. */
const READY_FD_VARIABLE = 'TETHER_SSH_BACKGROUND_FD';

export type Background = { role: 'parent'; status: number } | { role: 'child'; ready(): void };

export async function goToBackground(config: ResolvedSshConfig): Promise<Background> {
  const fd = inheritedReadyFd(READY_FD_VARIABLE);
  if (fd !== undefined) {
    // The terminal we started on may close; the forwards must outlive it (ssh's daemon() detaches). Without
    // a session our messages went through the foreground's pipe, which is gone now: drop them quietly.
    return { role: 'child', ready: () => signalReady(fd, { ignoreSignals: ['SIGHUP'], silence: config.sessionType === 'none' }) };
  }
  // Without a session nothing is written to stdout, so the copy does not hold it (`$(tether ssh -f -N …)`
  // returns); its messages before readiness come through a pipe.
  return { role: 'parent', status: await startDetachedCopy(READY_FD_VARIABLE, config.sessionType === 'none') };
}
