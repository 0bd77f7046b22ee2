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
import { spawn } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import type { ResolvedSshConfig } from '../config/ssh/index.ts';

/** Set in the background copy's environment: the fd of the readiness pipe. */
const READY_FD_VARIABLE = 'TETHER_SSH_BACKGROUND_FD';

export type Background = { role: 'parent'; status: number } | { role: 'child'; ready(): void };

export async function goToBackground(config: ResolvedSshConfig): Promise<Background> {
  const inherited = process.env[READY_FD_VARIABLE];
  if (inherited !== undefined) {
    delete process.env[READY_FD_VARIABLE];
    const fd = Number(inherited);
    return { role: 'child', ready: () => signalReady(fd, config.sessionType === 'none') };
  }
  return { role: 'parent', status: await startBackgroundCopy(config) };
}

function startBackgroundCopy(config: ResolvedSshConfig): Promise<number> {
  // Without a session nothing is written to stdout, so the copy does not hold it (`$(tether ssh -f -N …)`
  // returns); its messages before readiness come through a pipe.
  const noSession = config.sessionType === 'none';
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['ignore', noSession ? 'ignore' : 'inherit', noSession ? 'pipe' : 'inherit', 'pipe'],
    env: { ...process.env, [READY_FD_VARIABLE]: '3' },
  });
  const readyPipe = child.stdio[3] as NodeJS.ReadableStream;
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  return new Promise((resolve) => {
    let settled = false;
    readyPipe.on('data', () => {
      if (settled) return;
      settled = true;
      child.stderr?.removeAllListeners('data');
      child.stderr?.destroy();
      (readyPipe as NodeJS.ReadableStream & { destroy(): void }).destroy();
      child.unref();
      resolve(0);
    });
    child.once('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      resolve(code ?? (signal ? 255 : 0));
    });
  });
}

function signalReady(fd: number, silence: boolean): void {
  try {
    writeSync(fd, 'ready\n');
    closeSync(fd);
  } catch {
    // The foreground process is gone already; nothing to tell.
  }
  // The terminal we started on may close; the forwards must outlive it (ssh's daemon() detaches).
  process.on('SIGHUP', () => {});
  // Without a session our messages went through the foreground's pipe, which is gone now (ssh points
  // stderr at /dev/null here); drop them quietly.
  if (silence) {
    process.stderr.on('error', () => {});
    process.stderr.write = (() => true) as typeof process.stderr.write;
  }
}
