/**
 * The reconnect loop of a held session (docs/PROTOCOL.sessions §4): attempts with capped exponential backoff
 * (ReconnectPolicy) until one succeeds, the policy's time runs out, an attempt fails in a way another attempt
 * cannot mend, or the caller stops it (ssh's `~.`). Every wait is bounded by the policy's deadline.
 */
import { AuthenticationError } from '../auth/client-auth.ts';
import { HostKeyVerificationError } from './host-key-policy.ts';
import { SessionResumeError, type ReconnectPolicy } from './persistent-session-options.ts';

const defaultFatal = (error: Error): boolean => error instanceof AuthenticationError || error instanceof HostKeyVerificationError;

/** The policy with its defaults: 100 ms doubling to 1 s, for 10 minutes. */
export function fullPolicy(policy: ReconnectPolicy | undefined): Required<ReconnectPolicy> {
  return {
    enabled: policy?.enabled ?? true,
    initialDelayMs: policy?.initialDelayMs ?? 100,
    maxDelayMs: policy?.maxDelayMs ?? 1000,
    timeoutMs: policy?.timeoutMs ?? 10 * 60 * 1000,
    isFatal: policy?.isFatal ?? defaultFatal,
  };
}

export interface ReconnectAttempts<T> {
  /** One attempt; it must give up by `deadline` (performance.now()). A SessionResumeError ends the loop. */
  attempt(deadline: number): Promise<T>;
  /** Told before each attempt, with the error the previous one (or the drop) ended with. */
  onAttempt(attempt: number, lastError: Error): void;
  /** Stops the loop: the wait in progress ends at once and no further attempt is made. */
  signal: AbortSignal;
}

export type ReconnectOutcome<T> = { value: T; attempt: number } | { error: SessionResumeError } | { stopped: true };

export async function reconnectWithBackoff<T>(policy: Required<ReconnectPolicy>, cause: Error, attempts: ReconnectAttempts<T>): Promise<ReconnectOutcome<T>> {
  const { signal } = attempts;
  const deadline = performance.now() + policy.timeoutMs;
  let delay = policy.initialDelayMs;
  let lastError = cause;
  for (let attempt = 1; !signal.aborted; attempt++) {
    attempts.onAttempt(attempt, lastError);
    try {
      return { value: await attempts.attempt(deadline), attempt };
    } catch (error) {
      if (signal.aborted) break;
      if (error instanceof SessionResumeError) return { error };
      if (policy.isFatal(error as Error)) return { error: new SessionResumeError((error as Error).message, 'fatal', error) };
      lastError = error as Error;
    }
    const remaining = deadline - performance.now();
    if (remaining <= 0) return { error: new SessionResumeError(`could not resume after ${attempt} attempts`, 'timeout', lastError) };
    await abortableSleep(Math.min(delay, remaining), signal);
    delay = Math.min(delay * 2, policy.maxDelayMs);
  }
  return { stopped: true };
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Rejects once `deadline` (performance.now()) passes; a value that arrives late is handed to `discard`. */
export function beforeDeadline<T>(promise: Promise<T>, deadline: number, discard: (late: T) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new Error('reconnect attempt timed out'));
    }, Math.max(0, deadline - performance.now()));
    promise.then(
      (value) => {
        clearTimeout(timer);
        if (timedOut) discard(value);
        else resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error as Error);
      },
    );
  });
}
