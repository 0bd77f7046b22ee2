/**
 * The vocabulary of the client's persistent sessions (docs/PROTOCOL.sessions): what a caller passes in, the
 * events a PersistentSession emits, and the typed errors it ends with.
 */
import type { ResumeAuth } from '../auth/client-auth.ts';
import type { SshClient } from './client.ts';
import type { PtyOptions, Session } from './session.ts';

/** The server will not hold the session (it answered "hold@" with CHANNEL_FAILURE, §2). */
export class HoldRefusedError extends Error {
  override readonly name = 'HoldRefusedError';
}

/** Another client took the session over (§7 "detached@"); the reason is the server's. */
export class SessionDetachedError extends Error {
  override readonly name = 'SessionDetachedError';
}

/**
 * The session could not be resumed: it is gone on the server, the time ran out, connecting cannot succeed,
 * resuming is off, or the server never held it (it accepted hold@ and then could not, PROTOCOL.sessions §3).
 */
export class SessionResumeError extends Error {
  override readonly name = 'SessionResumeError';
  readonly reason: 'gone' | 'timeout' | 'fatal' | 'disabled' | 'not-held';
  constructor(message: string, reason: SessionResumeError['reason'], cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.reason = reason;
  }
}

export interface ReconnectPolicy {
  /** Reconnect at all after a drop (SessionResume). Default true. */
  enabled?: boolean;
  /** First wait between attempts; doubles up to maxDelayMs. Defaults 100 ms and 1 s. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** How long to keep trying after a drop (SessionResumeTimeout). Default 10 minutes. */
  timeoutMs?: number;
  /** Errors not worth another attempt. Default: failed authentication and host-key verification. */
  isFatal?: (error: Error) => boolean;
}

export interface PersistentSessionOptions {
  /**
   * Opens an authenticated connection to the session's host; `resume` is the credential to try first
   * (undefined on the first connection, or once the last token was spent). Called again on every reconnect.
   */
  connect: (resume: ResumeAuth | undefined) => Promise<SshClient>;
  reconnect?: ReconnectPolicy;
  /**
   * Called on each resume's channel before "resume@" is sent, for what the new connection must ask again: agent
   * forwarding (auth-agent-req@openssh.com and the handler for the agent channels the server opens), so that
   * the session's SSH_AUTH_SOCK reaches the agent over the connection it now runs on (PROTOCOL.sessions §9).
   */
  prepareResume?: (client: SshClient, session: Session) => void;
  /** Input kept until the server acknowledges it; reading from the writer pauses when full. Default 4 MiB. */
  inputBufferBytes?: number;
}

export interface HoldOptions {
  /** The session's name: an existing one is reattached, "" lets the server choose (§2). */
  name?: string;
  /** The command to run; undefined starts the user's shell. */
  command?: string;
}

export interface OpenPersistentSessionOptions extends PersistentSessionOptions, HoldOptions {
  /** A terminal for the session (default none). */
  pty?: PtyOptions | boolean;
  env?: Record<string, string>;
}

export interface PersistentSessionEvents {
  /** The connection dropped; a reconnect follows unless the policy says otherwise. */
  disconnected: [error: Error];
  reconnecting: [progress: { attempt: number; error: Error }];
  /**
   * Resumed on a new connection (now `session.client`); `outputLost`/`errorLost` are bytes the server's log
   * no longer held.
   */
  resumed: [outcome: { attempt: number; outputLost: number; errorLost: number }];
  detached: [reason: string];
}
