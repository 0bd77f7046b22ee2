/**
 * The thing that owns a session's program: a process on a pseudo-terminal or on plain pipes. It knows
 * nothing of SSH: a session channel (session-channel.ts) drives it through this small interface, which is
 * what lets a later session holder keep processes alive across connections (see ROADMAP: sessions that
 * outlive connections) by handing the same SessionProcess to a new channel.
 */
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { ConsumableSource } from '../connection/channel.ts';
import type { BorrowedReads } from '../transport/socket-reads.ts';

export interface ProcessExit {
  /** Exit status when the program exited normally. */
  code: number | null;
  /** Signal name without "SIG" when it was killed by one (RFC 4254 §6.10 exit-signal). */
  signal: string | null;
  coreDumped: boolean;
}

export interface SessionProcess {
  readonly pid: number;
  /** True when the program runs on a pseudo-terminal (stdout and stderr are then one stream). */
  readonly terminal: boolean;
  /** The terminal's device path (/dev/pts/N), when there is one. */
  readonly ttyName: string | undefined;
  /** The program's standard output (on a terminal: everything the terminal shows). */
  readonly output: Readable;
  /**
   * The same output read into a reused buffer, where the platform allows (pipes we made, program-pipes.ts): for
   * a consumer that sends each read on at once. A program's output is read one way only: `output` or this.
   */
  readonly borrowedOutput?: BorrowedReads;
  /** Standard error; null on a terminal. */
  readonly errorOutput: Readable | null;
  /** The program's standard input (on a terminal: what is typed). Ending it closes stdin on pipes. */
  readonly input: Writable;
  /**
   * Has `source`'s data written on to the program as it arrives, from the packet it came in, where the
   * platform allows (a held session's socket to its holder); false, and nothing done, where it does not: pipe
   * into `input` then. Ending `input` stays the caller's.
   */
  consumeInput?(source: ConsumableSource): boolean;
  /** Resolves once the program has exited and everything it wrote has been read from `output`. */
  readonly exit: Promise<ProcessExit>;
  /** RFC 4254 §6.7 window-change; ignored without a terminal. */
  resize(columns: number, rows: number): void;
  /** Delivers a signal named without "SIG" (RFC 4254 §6.9); false when the name is not one we deliver. */
  signal(name: string): boolean;
  /**
   * The connection or channel is gone: SIGHUP to the program's whole process group, as a terminal hangup
   * delivers it, and its pipes or terminal closed, so writers get EPIPE rather than having their output read
   * and thrown away. Nothing is read from the program afterwards.
   */
  hangUp(): void;
}

/** The account a root server switches to before running the program (initgroups included). */
export interface RunAs {
  uid: number;
  gid: number;
}

export interface TerminalRequest {
  term: string;
  columns: number;
  rows: number;
  /** Encoded RFC 4254 §8 terminal modes. */
  modes: Buffer;
}

/** What to run, where, and as whom. */
export interface SessionProgram {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  runAs?: RunAs;
  terminal?: TerminalRequest;
}

/** The signals RFC 4254 §6.10 names, which a client may send and which exit-signal may report. */
export const DELIVERABLE_SIGNALS = new Set(['ABRT', 'ALRM', 'FPE', 'HUP', 'ILL', 'INT', 'KILL', 'PIPE', 'QUIT', 'SEGV', 'TERM', 'USR1', 'USR2']);

/** "SIGTERM" or 15 → "TERM". */
export function signalName(signal: string | number): string {
  if (typeof signal === 'string') return signal.replace(/^SIG/, '');
  const entry = Object.entries(constants.signals).find(([, number]) => number === signal);
  return entry ? entry[0].replace(/^SIG/, '') : `SIG${signal}`;
}

/**
 * Delivers `name` to the process group that `pid` leads (every session program leads one: setsid on pipes,
 * the pty's session otherwise), as sshd's killpg(2) does (session.c session_signal_req), so a pipeline's
 * members get it too; false for names outside RFC 4254's list or a group already gone.
 */
export function deliverSignal(pid: number, name: string): boolean {
  if (!DELIVERABLE_SIGNALS.has(name) || pid <= 0) return false;
  try {
    process.kill(-pid, `SIG${name}` as NodeJS.Signals);
    return true;
  } catch {
    // The leader may have left its group before setsid took effect (or never led one): the process itself.
    try {
      process.kill(pid, `SIG${name}` as NodeJS.Signals);
      return true;
    } catch {
      return false;
    }
  }
}

/** A session program could not be started at all (fork, pipe or pty creation failed: EMFILE, EAGAIN…). */
export class SessionSpawnError extends Error {
  override readonly name = 'SessionSpawnError';
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
}

/**
 * The argument vector that runs `file args` as another account: setpriv(1) from util-linux sets the real
 * and effective uid and gid and the supplementary groups (initgroups), which node's spawn cannot do.
 */
export function commandAs(runAs: RunAs | undefined, file: string, args: string[]): { file: string; args: string[] } {
  if (!runAs) return { file, args };
  return {
    file: '/usr/bin/setpriv',
    args: [`--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, '--init-groups', '--', file, ...args],
  };
}
