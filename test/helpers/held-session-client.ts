/**
 * Driving `tether ssh` on a held session (docs/PROTOCOL.sessions) in tests: a running client whose output is
 * collected as it arrives, bounded waits, and the numbered lines the resume tests print and type (each number
 * must come back exactly once, in order).
 */
import type { ChildProcess } from 'node:child_process';
import { startTether } from './tether.ts';
import { waitFor } from './services.ts';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RunningClient {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts `tether ssh args…` from the sources, collecting stdout (latin1, byte for byte) and stderr. */
export function runSshClient(args: string[], env: NodeJS.ProcessEnv = {}): RunningClient {
  const child = startTether(['ssh', ...args], { env: { TETHER_SOURCE: '1', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('latin1')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin!.on('error', () => {});
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

export { waitFor };

/** The client's exit code; it is killed (by PID) if it has not exited within `timeoutMs`. */
export async function exitWithin(running: RunningClient, timeoutMs: number): Promise<number | null> {
  const timer = setTimeout(() => running.child.kill('SIGKILL'), timeoutMs);
  try {
    return await running.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** The numbers of `tag N` lines in `text`, in order (a PTY turns \n into \r\n). */
export function numbers(text: string, tag: string): number[] {
  return [...text.matchAll(new RegExp(`^${tag} (\\d+)\\r?$`, 'gm'))].map((m) => Number(m[1]));
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** A printing program: a numbered line every 10 ms, then END. */
export const PRINTER = (count: number) => `i=1; while [ $i -le ${count} ]; do echo line $i; i=$((i+1)); sleep 0.01; done; echo END`;

/**
 * Types `input N` lines into the client every 10 ms once `ready` holds (up to `limit`, or until stop()), then
 * EOF (^D at the start of a line on a terminal). Resolves with how many were typed.
 */
export function typeNumberedLines(running: RunningClient, options: { tty: boolean; ready: () => boolean; limit: number }): { typed: Promise<number>; stop: () => void } {
  let typing = true;
  const typed = (async () => {
    let count = 0;
    await waitFor('the remote command', options.ready, 20_000, running.stderr);
    while (typing && count < options.limit) {
      running.child.stdin!.write(`input ${++count}\n`);
      await sleep(10);
    }
    if (options.tty) running.child.stdin!.write('\x04');
    else running.child.stdin!.end();
    return count;
  })();
  return { typed, stop: () => (typing = false) };
}
