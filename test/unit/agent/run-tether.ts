/**
 * Process helpers for the agent, add and copy-id tests: run the tether CLI of this tree (or an OpenSSH
 * program) as a real child process with a bounded wait, and start/stop long-running agents by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stopProcess } from '../../helpers/processes.ts';

/** The CLI entry beside this file, in the same form (.ts when running from source, .js when compiled). */
export const TETHER_ENTRY = fileURLToPath(new URL(`./tether-entry.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url));

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
  /** Run in a new session without a controlling terminal, so prompts read stdin / SSH_ASKPASS. */
  detached?: boolean;
}

/** Runs `program args…` to completion (killed by PID after timeoutMs), capturing its output. */
export function run(program: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], detached: options.detached ?? true });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => {
      if (child.exitCode === null) process.kill(child.pid!, 'SIGKILL');
      reject(new Error(`${program} ${args.join(' ')} did not finish in ${options.timeoutMs ?? 30_000} ms\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr: stderr.replace(/\r\n/g, '\n') });
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(options.input ?? '');
  });
}

/** Runs our CLI: `tether args…`. */
export function runTether(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return run(process.execPath, [TETHER_ENTRY, ...args], options);
}

export interface RunningAgent {
  pid: number;
  socket: string;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a long-running agent (`command args…`) that will listen on `socket`, waiting (bounded) until the
 * socket exists; stop() sends SIGTERM by PID, then SIGKILL if it lingers.
 */
export async function startAgentProcess(command: string, args: string[], socket: string, env: NodeJS.ProcessEnv = process.env): Promise<RunningAgent> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (output += text));
  const deadline = Date.now() + 15_000;
  while (!existsSync(socket)) {
    if (child.exitCode !== null) throw new Error(`${command} exited at start: ${output}`);
    if (Date.now() > deadline) {
      process.kill(child.pid!, 'SIGKILL');
      throw new Error(`${command} did not create ${socket} within 15 s: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    pid: child.pid!,
    socket,
    process: child,
    output: () => output,
    async stop() {
      await stopProcess(child);
    },
  };
}

/** Waits (bounded) until `condition` holds. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
