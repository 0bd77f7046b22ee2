/**
 * Typed errors shared by every layer. Each carries enough context to say which side and which step failed,
 * and none ever carries key material or passwords in its message.
 */

/** Input that does not decode: truncated, oversized or ill-formed data from a peer or a file. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

/** A protocol rule was broken by the peer (RFC 4253 §11.1 disconnect reason PROTOCOL_ERROR and friends). */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  /** The SSH_DISCONNECT_* reason code to send, RFC 4253 §11.1. */
  readonly reason: number;
  constructor(message: string, reason = 2) {
    super(message);
    this.reason = reason;
  }
}

/** The peer sent SSH_MSG_DISCONNECT, or we sent one; `reason` is the RFC 4253 §11.1 code. */
export class DisconnectError extends Error {
  override readonly name = 'DisconnectError';
  readonly reason: number;
  /** true when the peer sent the disconnect, false when we did. */
  readonly byPeer: boolean;
  constructor(message: string, reason: number, byPeer: boolean) {
    super(message);
    this.reason = reason;
    this.byPeer = byPeer;
  }
}
