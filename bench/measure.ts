/**
 * Measuring one run: a client process timed from spawn to exit with its data moved through real pipes (`head`
 * feeding it, `wc -c` draining it: the parent never touches the bytes), the kernel's figures for processes
 * (/proc: VmHWM, PSS, CPU time), and the statistics every row is built from. Every wait is bounded and every
 * process started here is stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const MiB = 1024 * 1024;

// ---- what the kernel says about a process ---------------------------------------------------------------

/** A "Name:  N kB" field of /proc/PID/status in KiB, or undefined once the process is gone (or a zombie). */
export function statusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Proportional set size in KiB (/proc/PID/smaps_rollup): shared pages divided among their sharers. */
export function pssKiB(pid: number): number {
  try {
    const match = /^Pss:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** The process's command name (/proc/PID/comm), or undefined once it is gone. */
export function commandName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds of the process itself, all threads (/proc/PID/stat fields 14 and 15, in ticks). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12. USER_HZ is 100 on Linux.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resets VmHWM to the current RSS (proc(5), /proc/PID/clear_refs "5"), so a peak covers one run only. */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

// ---- statistics -------------------------------------------------------------------------------------------

export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export function summarize(values: number[]): Summary {
  if (values.length === 0) throw new Error('no measurements to summarize');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, runs: sorted.length };
}

/**
 * The order of `rounds` rounds over `variants`: forwards, then backwards, and so on (A B B A for two, A B C D
 * D C B A for four), so a drift in the machine's load weighs on every variant alike.
 */
export function abbaOrder<T>(variants: readonly T[], rounds: number): T[] {
  const order: T[] = [];
  for (let round = 0; round < rounds; round++) order.push(...(round % 2 === 0 ? variants : [...variants].reverse()));
  return order;
}

// ---- running a client ---------------------------------------------------------------------------------------

export interface Command {
  program: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface ClientRunOptions {
  /** Bytes fed to the client's stdin through a pipe from `head -c N /dev/zero`; stdin is /dev/null without. */
  uploadBytes?: number;
  /** The client's stdout goes through a pipe to `wc -c`, whose count is the result's stdout. */
  countOutput?: boolean;
  timeoutMs: number;
  /** Called every SAMPLE_MS while the client runs (servers' memory is watched from here). */
  onSample?: () => void;
}

export interface ClientRun {
  seconds: number;
  /** The client's VmHWM, last seen before it exited (KiB). */
  clientPeakKiB: number;
  /** The client's stdout, or what `wc -c` counted of it. */
  stdout: string;
}

/** The client failed or was killed at its time limit. */
export class ClientRunError extends Error {
  override readonly name = 'ClientRunError';
}

const SAMPLE_MS = 100;

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('close', (code) => resolve(code)));
}

function collect(stream: NodeJS.ReadableStream | null, limit = 64 * 1024): () => string {
  let text = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => (text = (text + chunk).slice(-limit)));
  return () => text;
}

function killIfRunning(child: ChildProcess | undefined): void {
  if (child?.pid && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
}

/**
 * Runs one client to completion and times it. The pipes are handed to the client before the event loop runs
 * again and the parent's ends are closed at once, so no byte passes through (or is lost to) this process.
 */
export async function runClient(command: Command, options: ClientRunOptions): Promise<ClientRun> {
  let consumer: ChildProcess | undefined;
  let producer: ChildProcess | undefined;
  const started = performance.now();
  if (options.countOutput) consumer = spawn('wc', ['-c'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const stdin = options.uploadBytes === undefined ? 'ignore' : 'pipe';
  const client = spawn(command.program, command.args, { stdio: [stdin, consumer ? consumer.stdin! : 'pipe', 'pipe'], env: command.env });
  consumer?.stdin!.destroy();
  if (options.uploadBytes !== undefined) {
    producer = spawn('head', ['-c', String(options.uploadBytes), '/dev/zero'], { stdio: ['ignore', client.stdin!, 'ignore'] });
    client.stdin!.destroy();
  }
  const stdout = collect(consumer ? consumer.stdout : client.stdout);
  const stderr = collect(client.stderr, 4000);
  let peak = 0;
  let timedOut = false;
  const sampler = setInterval(() => {
    peak = Math.max(peak, client.pid ? (statusKiB(client.pid, 'VmHWM') ?? 0) : 0);
    options.onSample?.();
  }, SAMPLE_MS);
  const timer = setTimeout(() => {
    timedOut = true;
    [client, producer, consumer].forEach(killIfRunning);
  }, options.timeoutMs);
  try {
    const spawnFailed = new Promise<never>((_, reject) => client.once('error', (error) => reject(new ClientRunError(`${command.program}: ${error.message}`))));
    const [status] = await Promise.race([Promise.all([exited(client), consumer && exited(consumer), producer && exited(producer)]), spawnFailed]);
    const seconds = (performance.now() - started) / 1000;
    if (timedOut) throw new ClientRunError(`${command.program} did not finish within ${options.timeoutMs} ms: ${stderr().trim()}`);
    if (status !== 0) throw new ClientRunError(`${command.program} ${command.args.slice(-1)[0]} exited ${status}: ${stderr().trim()}`);
    return { seconds, clientPeakKiB: peak, stdout: stdout().trim() };
  } finally {
    clearInterval(sampler);
    clearTimeout(timer);
    [client, producer, consumer].forEach(killIfRunning);
  }
}

/** Throws unless `text` (what `wc -c` printed) is exactly `bytes`: a short transfer must not look fast. */
export function expectCount(text: string, bytes: number, what: string): void {
  if (Number(text) !== bytes) throw new ClientRunError(`${what}: ${text || 'nothing'} bytes arrived, ${bytes} sent`);
}

/** Time limit for moving `bytes`: generous (a loaded machine), still bounded. */
export function transferTimeoutMs(bytes: number): number {
  return 60_000 + (bytes / (5 * MiB)) * 1000;
}

// ---- helper processes ------------------------------------------------------------------------------------

export interface Helper {
  child: ChildProcess;
  /** The next JSON line the helper prints (bounded by `timeoutMs`). */
  nextMessage<T>(timeoutMs: number): Promise<T>;
  /** Ends its stdin (its signal to finish) and waits for it; SIGKILL by PID after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** bench/NAME.ts (from sources) or dist/bench/NAME.js (built), whichever this module is. */
export function benchScript(name: string): string {
  const here = fileURLToPath(import.meta.url);
  return join(dirname(here), `${name}.${here.endsWith('.ts') ? 'ts' : 'js'}`);
}

/**
 * Starts bench/NAME.ts (from sources) or dist/bench/NAME.js (built), whichever this module is, as its own
 * process: the helpers talk in JSON lines on stdout and finish when their stdin ends.
 */
export function startHelper(name: string, args: string[] = []): Helper {
  const script = benchScript(name);
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let waiting: (() => void) | undefined;
  let buffered = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (text: string) => {
    buffered += text;
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      lines.push(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
    waiting?.();
  });
  const stderr = collect(child.stderr, 4000);
  child.stdin!.on('error', () => {});
  child.once('close', () => waiting?.());
  return {
    child,
    async nextMessage<T>(timeoutMs: number): Promise<T> {
      for (const deadline = Date.now() + timeoutMs; lines.length === 0; ) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`bench helper ${name} exited (${child.exitCode ?? child.signalCode}): ${stderr().trim()}`);
        if (Date.now() > deadline) throw new Error(`bench helper ${name} said nothing within ${timeoutMs} ms: ${stderr().trim()}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(1000, Math.max(1, deadline - Date.now())));
          waiting = () => (clearTimeout(timer), resolve());
        });
        waiting = undefined;
      }
      return JSON.parse(lines.shift()!) as T;
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const closed = exited(child);
      child.stdin!.end();
      const timer = setTimeout(() => killIfRunning(child), graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
}
