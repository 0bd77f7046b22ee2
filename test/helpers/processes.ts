/** Stopping what a test started: by PID, politely first, and never waiting without a bound. */
import type { ChildProcess } from 'node:child_process';

/** Sends SIGTERM to `child` by PID, SIGKILL after `graceMs`; resolves with its exit code (null if signalled). */
export function stopProcess(child: ChildProcess, graceMs = 3000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  process.kill(child.pid!, 'SIGTERM');
  const timer = setTimeout(() => child.exitCode === null && child.signalCode === null && process.kill(child.pid!, 'SIGKILL'), graceMs);
  return exited.finally(() => clearTimeout(timer));
}

/** Whether a process with this PID is still there (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
