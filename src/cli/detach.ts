/**
 * Going into the background after a point the process itself decides (ssh's fork_postauth and
 * control_persist_detach). Node cannot fork a running process, so the order is turned around: the foreground
 * process starts a copy of itself with a pipe on fd 3 and waits; the copy does the work that must succeed
 * first, writes "ready" on the pipe and carries on. The foreground then goes on (resolving 0), or, when the
 * copy exits first, resolves with the copy's status, having passed its error messages through.
 */
import { closeSync, writeSync } from 'node:fs';

/** node:child_process loads when a command is run, not with every `tether ssh` (issue 17: start-up time). */
const childProcess = () => process.getBuiltinModule('node:child_process');

/**
 * In the copy: the fd of its readiness pipe, named by `variable` in the environment; undefined in the
 * foreground process. The variable is taken out of the environment so nothing started later sees it.
 */
export function inheritedReadyFd(variable: string): number | undefined {
  const inherited = process.env[variable];
  if (inherited === undefined) return undefined;
  delete process.env[variable];
  return Number(inherited);
}

/**
 * Starts the copy (same Node, same arguments) with `variable` naming its readiness pipe, and waits.
 * `quiet`: the copy does not hold our stdout, and its messages until ready come through a pipe (so nothing
 * it writes later reaches a stderr a caller may be reading to its end); otherwise it shares stdout and
 * stderr.
 */
export function startDetachedCopy(variable: string, quiet: boolean): Promise<number> {
  const child = childProcess().spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['ignore', quiet ? 'ignore' : 'inherit', quiet ? 'pipe' : 'inherit', 'pipe'],
    env: { ...process.env, [variable]: '3' },
  });
  const readyPipe = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  return new Promise((resolve) => {
    let settled = false;
    readyPipe.on('data', () => {
      if (settled) return;
      settled = true;
      child.stderr?.removeAllListeners('data');
      child.stderr?.destroy();
      readyPipe.destroy();
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

export interface ReadyOptions {
  /** Terminal signals to ignore from now on: the copy stays in the terminal's process group (no setsid). */
  ignoreSignals: readonly NodeJS.Signals[];
  /**
   * Drop our own messages from now on: they went through the foreground's pipe, which is gone (ssh points
   * stderr at /dev/null here).
   */
  silence: boolean;
}

/** In the copy: tells the foreground process to go on, then detaches from its terminal as `options` say. */
export function signalReady(fd: number, options: ReadyOptions): void {
  try {
    writeSync(fd, 'ready\n');
    closeSync(fd);
  } catch {
    // The foreground process is gone already; nothing to tell.
  }
  for (const signal of options.ignoreSignals) process.on(signal, () => {});
  if (options.silence) {
    process.stderr.on('error', () => {});
    process.stderr.write = (() => true) as typeof process.stderr.write;
  }
}
