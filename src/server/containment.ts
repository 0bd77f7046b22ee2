/**
 * Keeping one connection's failure inside that connection, in a server where every connection shares one
 * process. The real defences are local (the transport and the connection layer catch what a packet's
 * handling throws; socket and timer callbacks that act for a connection are wrapped by Connection.contain);
 * this is the last resort behind them, for an exception nobody caught.
 *
 * Every connection runs in an async scope (AsyncLocalStorage), so a socket, timer or child process it
 * started carries the connection with it, and an uncaught exception or unhandled rejection can be attributed.
 * The policy the server's command line installs:
 *  - attributed to a connection: log it with the connection's id, end that connection with a DISCONNECT,
 *    keep serving everyone else. The failed callback belonged to that connection, so the state it may have
 *    left half-updated is that connection's, and it is discarded with it. (sshd: that connection's process
 *    dies; the listener and every other connection carry on.)
 *  - an unhandled rejection attributed to nothing: logged, and the server carries on. A rejected promise
 *    unwound no caller half-way; nothing shared was left inconsistent by the throw itself.
 *  - an uncaught exception attributed to nothing: the listener's own code failed (accepting, reloading,
 *    signals), whose state can no longer be trusted. It is logged and the process exits with 255, as sshd's
 *    listener dies on fatal(), for a supervisor to restart it. No connection's input reaches such code without
 *    passing through a connection's scope first.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerLogger } from './logger.ts';

/** What the guard needs of a connection. */
export interface ContainedConnection {
  readonly id: number;
  /** "user alice from 10.0.0.5 port 51234" (or the address alone before authentication). */
  describe(): string;
  /** Ends the connection with a DISCONNECT because of `error` (once; later calls do nothing). */
  abort(error: Error): void;
}

const scope = new AsyncLocalStorage<ContainedConnection>();

/** Runs `fn` (and everything it starts, however asynchronously) as part of `connection`. */
export function runAsConnection<T>(connection: ContainedConnection, fn: () => T): T {
  return scope.run(connection, fn);
}

/** The connection the code now running acts for, if any. */
export function currentConnection(): ContainedConnection | undefined {
  return scope.getStore();
}

/** Where the guard listens and how it ends the process (a test passes its own). */
export interface GuardHost {
  on(event: 'uncaughtException' | 'unhandledRejection', listener: (error: unknown) => void): unknown;
  off(event: 'uncaughtException' | 'unhandledRejection', listener: (error: unknown) => void): unknown;
  exit(code: number): void;
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** The first lines of a stack, on one log line, for the DEBUG log. */
function stackOf(error: Error): string {
  return (error.stack ?? '').split('\n').slice(1, 6).map((line) => line.trim()).join(' | ');
}

/**
 * Installs the policy above on `host` (the process); returns a function that removes it. Messages carry no
 * input from the peer beyond what the error's own message holds.
 */
export function installLastResortGuard(logger: ServerLogger, host: GuardHost = process as unknown as GuardHost): () => void {
  const handle = (kind: 'exception' | 'rejection') => (value: unknown) => {
    const error = asError(value);
    const connection = currentConnection();
    if (connection) {
      logger.error(`error: connection #${connection.id} (${connection.describe()}): uncaught ${kind}: ${error.message}; closing that connection`);
      logger.debug(`uncaught ${kind} in connection #${connection.id}: ${stackOf(error)}`);
      try {
        connection.abort(error);
      } catch {
        // Ending it is best effort: its transport may be the part that failed.
      }
      return;
    }
    if (kind === 'rejection') {
      logger.error(`error: unhandled rejection outside any connection: ${error.message}`);
      logger.debug(`unhandled rejection: ${stackOf(error)}`);
      return;
    }
    logger.error(`fatal: uncaught exception outside any connection: ${error.message}`);
    logger.error(`fatal: ${stackOf(error)}`);
    host.exit(255);
  };
  const onException = handle('exception');
  const onRejection = handle('rejection');
  host.on('uncaughtException', onException);
  host.on('unhandledRejection', onRejection);
  return () => {
    host.off('uncaughtException', onException);
    host.off('unhandledRejection', onRejection);
  };
}
