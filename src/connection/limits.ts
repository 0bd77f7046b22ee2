/**
 * How much one connection may hold at a time in the connection protocol (RFC 4254), so that a peer's input
 * never becomes an unbounded resource of the process: channels, channel opens still being processed, and
 * global-request replies still owed. The server maps these to sshd_config keywords (MaxChannels,
 * MaxPendingOpens, MaxPendingGlobalRequests); the client keeps the defaults.
 */

export interface ConnectionLimits {
  /** Channels open or being opened, in both directions; more is refused as a resource shortage. */
  maxChannels: number;
  /**
   * Channel opens from the peer accepted for processing but not yet answered (a direct-tcpip whose connect
   * is still pending); more is refused as a resource shortage.
   */
  maxPendingOpens: number;
  /**
   * Want-reply global requests from the peer not yet answered; with this many outstanding, input stops
   * until one is answered (replies must leave in order, RFC 4254 §4, so they cannot be refused out of turn).
   */
  maxPendingGlobalRequests: number;
}

export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = {
  maxChannels: 4096,
  maxPendingOpens: 256,
  maxPendingGlobalRequests: 64,
};

/** Which limit a peer ran into (the Connection's 'limit' event); `type` names the refused channel type. */
export type LimitEvent =
  | { limit: 'channels'; max: number; type: string }
  | { limit: 'pending-opens'; max: number; type: string }
  | { limit: 'pending-global-requests'; max: number; name: string };

/**
 * A fault in our own handling of this connection's traffic (an exception in a socket, timer or child-process
 * callback): the connection ends with a DISCONNECT, nothing else does. `cause` is the original error.
 */
export class ConnectionFault extends Error {
  override readonly name = 'ConnectionFault';
  readonly original: Error;
  constructor(original: Error) {
    super(`internal error: ${original.message}`, { cause: original });
    this.original = original;
  }
}
