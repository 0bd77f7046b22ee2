/**
 * `tether ssh` on a session the server holds (docs/PROTOCOL.sessions): the terminal and stdio wired to a
 * PersistentSession, which reconnects by itself after a drop (capped exponential backoff from 100 ms to 1 s,
 * for SessionResumeTimeout); here are the one status line the user sees while it does, `~.` (which quits at
 * once, even during an outage, and ends the remote session as in OpenSSH), and the exit status.
 */
import { finished } from 'node:stream/promises';
import type { ResumeAuth } from '../auth/client-auth.ts';
import type { SshClient } from '../client/client.ts';
import { SessionDetachedError, SessionResumeError, type PersistentSession, type ReconnectPolicy } from '../client/persistent-session.ts';
import { enterRawMode } from './ssh-terminal.ts';
import { DisconnectError } from '../wire/errors.ts';
import { DISCONNECT_REASON } from '../wire/message-numbers.ts';
import { createStdoutSink } from './stdout-writer.ts';
import { consumeInto } from '../connection/descriptor-writes.ts';
import { feedStdin } from './stdin-feed.ts';

const ERROR = 2;
const INFO = 3;
const VERBOSE = 4;

/** What the CLI needs to keep a held session across drops. */
export interface ResumeSettings {
  /** Session: the name to create or reattach; undefined lets the server choose. */
  name: string | undefined;
  /** SessionResume: reconnect after a drop. */
  enabled: boolean;
  /** SessionResumeTimeout, in seconds. */
  timeoutSeconds: number;
  /** A new connection through the normal connect path (jump hosts, ProxyCommand, failover), `resume` tried first. */
  reconnect: (resume: ResumeAuth | undefined) => Promise<SshClient>;
  /** Whether status lines are shown (LogLevel INFO or more). */
  showStatus: boolean;
}

/** The reconnect policy for the settings: backoff from ~100 ms, capped at 1 s so a returning link is used at once. */
export function reconnectPolicy(settings: ResumeSettings): ReconnectPolicy {
  return { enabled: settings.enabled, initialDelayMs: 100, maxDelayMs: 1000, timeoutMs: settings.timeoutSeconds * 1000 };
}

export interface HeldSessionOptions {
  host: string;
  tty: boolean;
  stdinNull: boolean;
  escapeChar: string | undefined;
  escapeCommandLine?: (line: string) => Promise<string>;
  showStatus: boolean;
  log: (level: number, message: string) => void;
  /** The session resumed on a new connection (forwards move to it). */
  onResumed?: (client: SshClient) => void;
}

/**
 * The status line during an outage: on a terminal one line rewritten in place and cleared on resume; otherwise
 * one line when the outage begins.
 */
class OutageStatus {
  private shown = false;
  private readonly options: HeldSessionOptions;
  private readonly inPlace = process.stderr.isTTY === true;

  constructor(options: HeldSessionOptions) {
    this.options = options;
  }

  reconnecting(attempt: number): void {
    if (!this.options.showStatus) return;
    const text = `Connection to ${this.options.host} lost; reconnecting (attempt ${attempt})...`;
    if (this.inPlace) {
      // Saved cursor, then the status on a line of its own; DECRC puts the cursor back where the program had it.
      process.stderr.write(this.shown ? `\r${text}\x1b[K` : `\x1b7\r\n${text}\x1b[K`);
    } else if (!this.shown) {
      process.stderr.write(`${text}\n`);
    }
    this.shown = true;
  }

  clear(): void {
    if (this.shown && this.inPlace) process.stderr.write('\r\x1b[K\x1b8');
    this.shown = false;
  }
}

/**
 * ssh's words for a connection that ends under a running session (clientloop.c): the peer's EOF is "closed by
 * remote host" there, not the "Connection closed by HOST port N" of a drop before login. Undefined for others.
 */
export function sessionDropMessage(error: Error, host: string): string | undefined {
  if (error instanceof DisconnectError && error.byPeer && error.reason === DISCONNECT_REASON.CONNECTION_LOST) {
    return `Connection to ${host} closed by remote host.`;
  }
  return undefined;
}

/** Runs the held session to its end; returns ssh's exit status (the remote one, else 255). */
export async function runHeldSession(held: PersistentSession, options: HeldSessionOptions): Promise<number> {
  const { tty, log } = options;
  const restoreTerminal = tty ? enterRawMode() : () => {};
  const onResize = () => held.windowChange({ columns: process.stdout.columns ?? 80, rows: process.stdout.rows ?? 24 });
  if (tty) process.stdout.on('resize', onResize);
  const status = new OutageStatus(options);
  let quit = false;

  held.on('reconnecting', ({ attempt }) => status.reconnecting(attempt));
  held.on('resumed', ({ outputLost, errorLost }) => {
    status.clear();
    log(VERBOSE, `Resumed session ${held.name ?? ''}.`);
    options.onResumed?.(held.client);
    const lost = outputLost + errorLost;
    if (lost > 0) log(ERROR, `${lost} bytes of output were lost while disconnected.`);
  });

  const stopInput = feedSession(held, tty, options, () => {
    quit = true;
    status.clear();
  });
  // The same asynchronous, back-pressured stdout as the plain path (stdout-writer.ts). A reader that went away
  // (EPIPE) gets no more: the rest is discarded so the session still ends with the command's status.
  const stdout = createStdoutSink();
  stdout.stream.on('error', () => {
    held.stdout.unpipe();
    held.stdout.resume();
  });
  if (!consumeInto(held, stdout.stream)) held.stdout.pipe(stdout.stream, { end: false });
  held.stderr.pipe(process.stderr, { end: false });
  // The session can be over before these pipes were set up (a short command ends within the exec reply's
  // round trip): `exit` then does not wait for them, so the end of each stream is awaited here.
  const outputTaken = Promise.all([held.stdout, held.stderr].map((stream) => finished(stream, { writable: false }).catch(() => {})));

  let exit: Awaited<PersistentSession['exit']> | undefined;
  let failure: Error | undefined;
  try {
    exit = await held.exit;
  } catch (error) {
    failure = error as Error;
  }
  await outputTaken;
  if (tty) process.stdout.off('resize', onResize);
  status.clear();
  restoreTerminal();
  // The process ends with _exit(2) (exit.ts): every byte must have left first.
  await stdout.flushed();
  stopInput();
  held.client.end();
  if (failure instanceof SessionDetachedError) {
    log(ERROR, `Session ${held.name ?? ''} detached: ${failure.message}`);
    return 255;
  }
  if (failure instanceof SessionResumeError) {
    if (failure.reason === 'gone') log(ERROR, `Session ${held.name ?? ''} could not be resumed: ${failure.message}`);
    else if (failure.reason !== 'disabled') log(ERROR, `Could not resume session ${held.name ?? ''}: ${failure.message}`);
    // The drop itself is then reported as ssh reports a lost connection.
    const cause = failure.cause instanceof Error ? failure.cause : failure;
    const dropped = sessionDropMessage(cause, options.host);
    if (dropped === undefined) throw cause;
    log(ERROR, dropped);
    return 255;
  }
  if (failure) throw failure;
  if (tty && !quit) log(INFO, `Connection to ${options.host} closed.`);
  return exit?.code ?? 255;
}

/** The held session's input (stdin-feed.ts). `quitting` runs before `~.` closes the session. */
function feedSession(held: PersistentSession, tty: boolean, options: HeldSessionOptions, quitting: () => void): () => void {
  return feedStdin(tty, options, {
    stream: held.stdin,
    takeBorrowed: (reads) => held.readInputFrom(reads),
    quitting,
    // ssh's `~.`: the channel is closed first (PROTOCOL.sessions §8), so the session ends rather than waits.
    disconnect: () => held.close(),
  });
}
