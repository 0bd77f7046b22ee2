/**
 * The contract between the SSH server and a user's session holder (docs/PROTOCOL.sessions §1): what the
 * server may ask of the holder and what an attachment to a held session looks like from the server's side.
 * The holder is a separate process, one per user, running as that user and reached over a Unix socket in a
 * private directory, so sessions outlive the connection that started them and the server process itself.
 */
import type { SessionProcess, SessionProgram } from './session-process.ts';

/**
 * Files of a held session that stand in for a connection's (docs/PROTOCOL.sessions §9): the server makes them
 * and points them at whichever connection is attached; the holder removes them when the session ends. Each is
 * a path directly in /tmp.
 */
export interface HeldSessionFiles {
  /** The session's Kerberos credential cache, KRB5CCNAME in its environment (a copy of the connection's). */
  ccache?: string;
  /** The session's SSH_AUTH_SOCK: a socket the attached connection's forwarded agent listens on, if any. */
  agentSocket?: string;
}

export interface HeldSessionSummary {
  id: string;
  name: string;
  /** The command line as the user would recognise it ("-bash", "top", "make -j4"). */
  command: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** When output or input last moved, milliseconds since the epoch. */
  lastActivityAt: number;
  attached: boolean;
  terminal: boolean;
  exited: boolean;
  files?: HeldSessionFiles;
}

export interface CreateHeldSession {
  /** Asked-for name; empty or absent: the holder picks a unique short one. */
  name?: string;
  /** What to run; `runAs` is ignored (the holder already runs as the user). */
  program: SessionProgram;
  /** Written to the output log before the program's own output (last-login line and motd). */
  greeting?: Buffer;
  /** What `sessions` shows as the command. */
  command: string;
  /** PersistentSessionLogSize: bytes of recent output kept per stream. */
  logSize: number;
  /** PersistentSessionTimeout: seconds a detached session is kept before it is hung up. */
  idleTimeoutSeconds: number;
  /** Files to remove when the session ends (the server has made them). */
  files?: HeldSessionFiles;
}

export interface AttachHeldSession {
  /** The session, by id (a resume) or by name (a reattach). */
  id?: string;
  name?: string;
  /**
   * 'offsets': replay the log from outputFrom / errorFrom (a resume; clamped to what the log still holds).
   * 'screen': for a terminal, the current screen and scrollback redrawn, then live output; without one,
   * everything the log holds.
   */
  replay: 'offsets' | 'screen';
  outputFrom?: number;
  errorFrom?: number;
  /** Told to the client attached now, if any, when this attachment displaces it. */
  reason?: string;
}

/** A server's connection to one user's holder. */
export interface SessionHolder {
  create(request: CreateHeldSession): Promise<HeldAttachment>;
  /** Undefined when the user has no such session. */
  attach(request: AttachHeldSession): Promise<HeldAttachment | undefined>;
  list(): Promise<HeldSessionSummary[]>;
  /**
   * Checks a resume proof (src/auth/resume-credential.ts) against the session's current token and spends the
   * token on success, so each is good for one login. False for an unknown session or a proof that does not match.
   */
  spendToken(sessionId: string, proof: Buffer, connectionSessionId: Buffer, user: string): Promise<boolean>;
  /** Closes this server's connection to the holder; the holder and its sessions go on. */
  close(): void;
}

/** Output of one stream the holder's log overwrote before this attachment sent it. */
export interface OutputGap {
  stream: 'output' | 'error';
  /** The attachment's offset, and the offset the bytes that follow start at. */
  from: number;
  to: number;
}

/** How this attachment ended, as the SSH side needs to know it. */
export type AttachmentEnd =
  | { kind: 'exited' }                         // the program exited and all its output was delivered
  | { kind: 'displaced'; reason: string }      // another attachment took the session
  | { kind: 'expired' }                        // the holder reaped the session
  | { kind: 'holder-lost' };                   // the holder's socket closed (the holder died)

/**
 * One attachment to a held session. It is a SessionProcess, so a session channel drives it like any other
 * program, plus what resuming needs. `output` and `errorOutput` yield the replay first, then live output;
 * writes to `input` reach the program in order; `hangUp()` ends the session for good (the client closed
 * the channel); `detach()` leaves it running for a later resume (the connection went away).
 */
export interface HeldAttachment extends SessionProcess {
  readonly summary: HeldSessionSummary;
  /** A fresh resume token, issued for this attachment (docs/PROTOCOL.sessions §3). */
  readonly token: Buffer;
  /** Bytes of input the program had when this attachment began. */
  readonly inputOffset: number;
  readonly inputClosed: boolean;
  /** Offsets of the first byte `output` / `errorOutput` will yield after any screen redraw. */
  readonly outputOffset: number;
  readonly errorOffset: number;
  /** The redraw sent before live output on a 'screen' replay, not counted in the offsets; empty otherwise. */
  readonly redraw: Buffer;
  /** True when this attachment found an existing session rather than creating one. */
  readonly reattached: boolean;
  /**
   * Bytes the client should acknowledge output within (session@, docs/PROTOCOL.sessions §3): less than the
   * default for a small log, which holds the program up until acknowledged. Optional for stand-ins in tests.
   */
  readonly outputAckSpacing?: number;
  /** Input offset each time it advances (the program took more input), for ack@tether-ssh.org. */
  onInputAck(listener: (inputOffset: number) => void): void;
  /**
   * The client acknowledged output. The holder keeps what is not acknowledged: while attached it holds the
   * program up rather than overwrite it, and for a session without a terminal also while detached.
   */
  acknowledgeOutput(outputReceived: number, errorReceived: number): void;
  /**
   * Output was lost under this attachment: the log overwrote bytes it had not sent. The holder holds the
   * program up to prevent it, so this takes a log smaller than one read of the program's output (64 KiB).
   * `output`/`errorOutput` then continue from `gap.to`. Optional so that stand-ins in tests need not have it.
   */
  onOutputLost?(listener: (gap: OutputGap) => void): void;
  /** Settles once when this attachment stops delivering: why. */
  readonly ended: Promise<AttachmentEnd>;
  /**
   * Tells the holder whether `exit` had resolved here: only then may it forget an exited session (its
   * output and status delivered); otherwise it keeps it for a later resume until it expires.
   */
  detach(): void;
}
