/**
 * One held session inside the holder (docs/PROTOCOL.sessions §1): its program, the logs of its output
 * (read continuously, whether or not anyone is attached), the screen of its terminal, the input counter,
 * the current resume token, expiry, and the one attachment it may have at a time.
 */
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { proofMatches, RESUME_TOKEN_LENGTH } from '../../auth/resume-credential.ts';
import type { BorrowedReads } from '../../transport/socket-reads.ts';
import { OUTPUT_READ_SIZE } from '../program-pipes.ts';
import { startPipeProcess } from '../pipe-process.ts';
import { startPtyProcess } from '../pty-process.ts';
import { deliverSignal, type ProcessExit, type SessionProcess, type SessionProgram } from '../session-process.ts';
import type { HeldSessionFiles, HeldSessionSummary } from '../holder-api.ts';
import { OutputLog } from './output-log.ts';
import { HeldScreen } from './screen.ts';

/** What a session tells its attachment (holder side) as things happen. */
export interface SessionObserver {
  /** New output in either log, or the program exited. */
  changed(): void;
  /** More input reached the program: the accepted count up to and including that write. */
  inputWritten(inputOffset: number): void;
  /** The session is gone for good (expired or removed); the observer is told once, then forgotten. */
  removed(reason: 'expired' | 'removed'): void;
  /**
   * The oldest offset of `stream` this attachment still needs: neither sent to its server yet nor (once
   * its client acknowledges) acknowledged. The log must not overwrite it.
   */
  needed(stream: 'output' | 'error'): number;
  /** The highest offsets its client acknowledged, if it ever did. */
  acknowledged(): { output: number; error: number } | undefined;
}

export interface HeldSessionOptions {
  id: string;
  name: string;
  command: string;
  program: SessionProgram;
  greeting: Buffer;
  logSize: number;
  idleTimeoutSeconds: number;
  /** The session's own files (holder-api.ts), removed with it. */
  files?: HeldSessionFiles;
  /** Called once the session is over and should leave the holder's tables. */
  onRemoved: (session: HeldSession) => void;
}

/**
 * Room kept free in front of the oldest needed byte: the program's output is read in chunks of up to this
 * much (our pipes' reads, or a terminal's), so a read that starts within bounds never overwrites it.
 */
const READ_HEADROOM = Math.max(64 * 1024, OUTPUT_READ_SIZE);

/** After a hangup, how long the program's group has to exit before it gets SIGKILL and the session is dropped. */
const HANGUP_GRACE_MS = 5_000;

/** One of the program's output streams as the session drives it: read into a log, paused while that is full. */
interface ProgramStream {
  pause(): void;
  resume(): void;
  /** Resolves at its end (or failure): everything it delivered has been recorded. */
  readonly ended: Promise<void>;
}

function readableStream(readable: Readable, record: (chunk: Buffer) => void): ProgramStream {
  readable.on('error', () => {});
  readable.on('data', record);
  return { pause: () => readable.pause(), resume: () => readable.resume(), ended: finished(readable).catch(() => {}) };
}

/** Output read into a reused buffer (program-pipes.ts): `record` copies whatever it cannot append at once. */
function borrowedStream(output: BorrowedReads, record: (chunk: Buffer) => void): ProgramStream {
  const ended = new Promise<void>((resolve) =>
    output.start((bytes) => {
      record(bytes);
      return true;
    }, resolve),
  );
  return { pause: () => output.pause(), resume: () => output.resume(), ended };
}

export class HeldSession {
  readonly id: string;
  readonly name: string;
  readonly command: string;
  readonly files: HeldSessionFiles | undefined;
  readonly createdAt = Date.now();
  lastActivityAt = Date.now();
  readonly process: SessionProcess;
  readonly output: OutputLog;
  readonly error: OutputLog | null;
  readonly screen: HeldScreen | null;
  /** Bytes of input accepted for the program, in order; all of them reach it unless it dies first. */
  inputOffset = 0;
  inputClosed = false;
  exitStatus: ProcessExit | undefined;
  private token: Buffer | undefined;
  private observer: SessionObserver | undefined;
  private readonly idleTimeoutMs: number;
  private expiryTimer: NodeJS.Timeout | undefined;
  private removed = false;
  private hungUp = false;
  private readonly onRemoved: (session: HeldSession) => void;
  /** What the last attachment's client acknowledged: a detached session without a terminal keeps it. */
  private lastAcknowledged: { output: number; error: number } | undefined;
  private readonly pausedStreams = new Set<'output' | 'error'>();
  private readonly streams: { output: ProgramStream; error: ProgramStream | null };
  /**
   * Output read from the program that the log has no room for yet: appending it would overwrite bytes an
   * attachment still needs (a read can be larger than the room kept free, and a log as small as 4 KiB is
   * allowed). The stream is paused while any waits, so this holds at most about one read per stream.
   */
  private readonly waiting: Record<'output' | 'error', Buffer[]> = { output: [], error: [] };
  /** The program's exit, once its output streams have ended; it counts once the waiting output is in the logs. */
  private exitedWith: ProcessExit | undefined;

  constructor(options: HeldSessionOptions) {
    this.id = options.id;
    this.name = options.name;
    this.command = options.command;
    this.files = options.files;
    this.onRemoved = options.onRemoved;
    this.idleTimeoutMs = options.idleTimeoutSeconds * 1000;
    // The holder already runs as the user: whatever runAs the server computed does not apply here.
    const program: SessionProgram = { ...options.program, runAs: undefined };
    this.process = program.terminal ? startPtyProcess(program) : startPipeProcess(program);
    this.output = new OutputLog(options.logSize);
    this.error = this.process.terminal ? null : new OutputLog(options.logSize);
    this.screen = program.terminal ? new HeldScreen(program.terminal.columns, program.terminal.rows) : null;

    this.process.input.on('error', () => {});
    const output = this.output;
    this.streams = {
      output: this.process.borrowedOutput
        ? borrowedStream(this.process.borrowedOutput, (chunk) => this.recordOutput(output, chunk, true))
        : readableStream(this.process.output, (chunk) => this.recordOutput(output, chunk, false)),
      error: null,
    };
    if (this.process.errorOutput && this.error) {
      const error = this.error;
      this.streams.error = readableStream(this.process.errorOutput, (chunk) => this.recordOutput(error, chunk, false));
    }
    // First in the log: the program's output is read from the next tick on.
    if (options.greeting.length > 0) this.recordOutput(this.output, options.greeting, false);
    // Exited, and every byte it wrote is in the logs (a terminal's exit can come before its last output
    // has been taken from the stream, while the stream is paused for a slow attachment).
    const drained = [this.streams.output.ended, this.streams.error?.ended];
    void Promise.all([this.process.exit, ...drained]).then(([exit]) => {
      this.exitedWith = exit;
      this.finishIfDrained();
    });
    this.startExpiry();
  }

  get terminal(): boolean {
    return this.process.terminal;
  }

  /** Hung up and on its way out: no longer offered for attaching or listed. */
  get ending(): boolean {
    return this.hungUp || this.removed;
  }

  /** SIGKILL to what is left of the program's group (the holder is going away). */
  kill(): void {
    if (this.exitStatus === undefined) deliverSignal(this.process.pid, 'KILL');
  }

  get attached(): boolean {
    return this.observer !== undefined;
  }

  summary(): HeldSessionSummary {
    return {
      id: this.id,
      name: this.name,
      command: this.command,
      createdAt: this.createdAt,
      lastActivityAt: this.lastActivityAt,
      attached: this.attached,
      terminal: this.terminal,
      exited: this.exitStatus !== undefined,
      ...(this.files ? { files: this.files } : {}),
    };
  }

  /** `borrowed`: the chunk's buffer is read into again next time, so what must wait for room is copied. */
  private recordOutput(log: OutputLog, chunk: Buffer, borrowed: boolean): void {
    if (this.removed) return;
    const queue = this.waiting[log === this.output ? 'output' : 'error'];
    queue.push(chunk);
    this.updateFlow();
    const last = queue.length - 1;
    if (borrowed && last >= 0 && queue[last]!.buffer === chunk.buffer) queue[last] = Buffer.from(queue[last]!);
  }

  /** Exited, and every byte it wrote is in the logs: the exit is told (and a hung-up session leaves). */
  private finishIfDrained(): void {
    const exit = this.exitedWith;
    if (exit === undefined || this.exitStatus !== undefined) return;
    if (!this.removed && (this.waiting.output.length > 0 || this.waiting.error.length > 0)) return;
    // Known even once removed: kill() must not signal a process group that is gone (its id may be reused).
    this.exitStatus = exit;
    if (this.removed) return;
    this.observer?.changed();
    if (this.hungUp) this.remove();
  }

  /**
   * The oldest byte of `stream` someone may still need. Attached: what the attachment has not sent or its
   * client not acknowledged, so output is never thrown away under a client that is merely slow (the program
   * waits, as with any SSH session). Detached: for pipes, what the last client acknowledged, so a transfer
   * cut off mid-way resumes without loss; a terminal is read on regardless (its screen stays current and a
   * detached build does not stall), and a long absence shows as output lost.
   */
  private neededOffset(stream: 'output' | 'error'): number | undefined {
    if (this.observer) return this.observer.needed(stream);
    if (this.terminal || !this.lastAcknowledged) return undefined;
    return this.lastAcknowledged[stream];
  }

  /**
   * Moves waiting output into the logs as far as they have room in front of the bytes still needed, and
   * pauses reading a stream of the program while its log has no room left (or output waits).
   */
  updateFlow(): void {
    if (this.removed) return;
    let appended = false;
    for (const [stream, log, readable] of [
      ['output', this.output, this.streams.output],
      ['error', this.error, this.streams.error],
    ] as const) {
      if (!log || !readable) continue;
      const needed = this.neededOffset(stream);
      const queue = this.waiting[stream];
      while (queue.length > 0) {
        const room = needed === undefined ? Infinity : log.capacity - (log.end - needed);
        if (room <= 0) break;
        const chunk = queue[0]!;
        let part = chunk;
        if (chunk.length <= room) queue.shift();
        else {
          part = chunk.subarray(0, room);
          queue[0] = chunk.subarray(room);
        }
        log.append(part);
        if (log === this.output) this.screen?.write(part);
        appended = true;
      }
      const full =
        queue.length > 0 || (needed !== undefined && log.end - needed >= log.capacity - Math.min(READ_HEADROOM, log.capacity >> 1));
      if (full && !this.pausedStreams.has(stream)) {
        this.pausedStreams.add(stream);
        readable.pause();
      } else if (!full && this.pausedStreams.has(stream)) {
        this.pausedStreams.delete(stream);
        readable.resume();
      }
    }
    if (appended) {
      this.lastActivityAt = Date.now();
      this.observer?.changed();
    }
    this.finishIfDrained();
  }

  /**
   * Makes `observer` the session's only attachment and issues a fresh token (the previous one is no longer
   * good). Returns the observer it displaced, if any, for the caller to tell why.
   */
  attach(observer: SessionObserver): { token: Buffer; displaced: SessionObserver | undefined } {
    const displaced = this.observer;
    if (displaced) this.lastAcknowledged = displaced.acknowledged() ?? this.lastAcknowledged;
    this.observer = observer;
    this.token = randomBytes(RESUME_TOKEN_LENGTH);
    this.stopExpiry();
    this.updateFlow();
    return { token: this.token, displaced };
  }

  /** The attachment went away (its server detached, or the socket closed): the session waits, then expires. */
  detach(observer: SessionObserver, collected: boolean): void {
    if (this.observer !== observer) return;
    this.lastAcknowledged = observer.acknowledged() ?? this.lastAcknowledged;
    this.observer = undefined;
    this.updateFlow();
    // An attachment that delivered the exit and everything before it leaves nothing to come back for.
    if (collected && this.exitStatus !== undefined) {
      this.remove();
      return;
    }
    this.startExpiry();
  }

  /** The checked token is spent on success: good for one login (docs/PROTOCOL.sessions §6). */
  spendToken(proof: Buffer, connectionSessionId: Buffer, user: string): boolean {
    const token = this.token;
    if (!token || this.removed || !proofMatches(token, proof, connectionSessionId, user, this.id)) return false;
    this.token = undefined;
    return true;
  }

  /** False (stop sending) when the program's input is backed up; `drained` is called once it takes more. */
  writeInput(data: Buffer, drained: () => void): boolean {
    if (this.inputClosed || this.removed || data.length === 0) return true;
    this.inputOffset += data.length;
    const offset = this.inputOffset;
    this.lastActivityAt = Date.now();
    const more = this.process.input.write(data, (error) => {
      if (!error) this.observer?.inputWritten(offset);
    });
    if (!more) this.process.input.once('drain', drained);
    return more;
  }

  /** Input EOF: stdin closes after all the input before it (pipes; a terminal has no EOF to give). */
  closeInput(): void {
    if (this.inputClosed) return;
    this.inputClosed = true;
    if (!this.terminal) this.process.input.end();
  }

  resize(columns: number, rows: number): void {
    this.process.resize(columns, rows);
    if (columns > 0 && rows > 0) this.screen?.resize(columns, rows);
  }

  /** Ends the session for good: SIGHUP to the program's group; it leaves the holder once it has exited. */
  hangUp(): void {
    if (this.removed) return;
    if (this.exitStatus !== undefined) {
      this.remove();
      return;
    }
    if (this.hungUp) return;
    this.hungUp = true;
    this.process.hangUp();
    // A program that ignores SIGHUP must not keep the session's slot (or the holder) forever.
    setTimeout(() => {
      if (this.removed) return;
      deliverSignal(this.process.pid, 'KILL');
      this.remove();
    }, HANGUP_GRACE_MS).unref();
  }

  private startExpiry(): void {
    this.stopExpiry();
    // PersistentSessionTimeout 0: kept until resumed or ended (as 0 disables sshd's other timeouts).
    if (this.idleTimeoutMs <= 0) return;
    this.expiryTimer = setTimeout(() => this.expire(), Math.min(this.idleTimeoutMs, 2 ** 31 - 1));
  }

  private stopExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
  }

  private expire(): void {
    if (this.removed || this.observer) return;
    if (this.exitStatus === undefined) this.process.hangUp();
    this.remove('expired');
  }

  /** Leaves the holder's tables: the observer (if any) is told, timers stop, the screen is freed. */
  remove(reason: 'expired' | 'removed' = 'removed'): void {
    if (this.removed) return;
    this.removed = true;
    this.token = undefined;
    this.stopExpiry();
    const observer = this.observer;
    this.observer = undefined;
    observer?.removed(reason);
    // Nothing is kept any more: a program still draining its output is not held up by us.
    this.streams.output.resume();
    this.streams.error?.resume();
    this.screen?.dispose();
    // The credential cache and agent socket that stood in for a connection's go with the session.
    for (const path of Object.values(this.files ?? {})) {
      try {
        unlinkSync(path);
      } catch {
        // Gone already (the user's kdestroy), or no longer ours to remove.
      }
    }
    this.onRemoved(this);
  }
}
