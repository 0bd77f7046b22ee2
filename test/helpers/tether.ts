/**
 * Runs the `tether` CLI as a child process, the way a user would, with a time limit and cleanup by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';

/** The repository root: the nearest ancestor with package.json (tests run from src or from dist/). */
export const REPO_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
})();

export const TETHER_BIN = join(REPO_ROOT, 'bin', 'tether.js');

export interface RunOptions {
  input?: string | Buffer | Readable;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Receives stdout as it arrives instead of buffering it (for large transfers). */
  onStdout?: (chunk: Buffer) => void;
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
}

export function startTether(args: string[], options: RunOptions = {}): ChildProcess {
  return spawn(process.execPath, [TETHER_BIN, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs `tether args…` to completion; kills it (by PID) after `timeoutMs`. */
export function runTether(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return runProgram(process.execPath, [TETHER_BIN, ...args], options);
}

export function runProgram(program: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const child = spawn(program, args, { env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  let stderr = '';
  let timedOut = false;
  child.stdout!.on('data', (chunk: Buffer) => (options.onStdout ? options.onStdout(chunk) : stdout.push(chunk)));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin!.on('error', () => {});
  const input = options.input;
  if (input === undefined) child.stdin!.end();
  else if (typeof input === 'string' || Buffer.isBuffer(input)) child.stdin!.end(input);
  else input.pipe(child.stdin!);
  const timer = setTimeout(() => {
    timedOut = true;
    if (child.pid) process.kill(child.pid, 'SIGKILL');
  }, options.timeoutMs ?? 30_000);
  return new Promise((resolve) => {
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout: Buffer.concat(stdout), stderr, timedOut });
    });
  });
}

/** Starts `tether args…` in the background, draining stdout and collecting stderr for the test to read. */
export function startTetherCollecting(args: string[], options: RunOptions = {}): { child: ChildProcess; stderr: () => string } {
  const child = startTether(args, options);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.resume();
  return { child, stderr: () => stderr };
}
