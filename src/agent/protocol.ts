/**
 * The ssh-agent wire protocol (draft-miller-ssh-agent, which replaced OpenSSH's PROTOCOL.agent): message
 * numbers, flags, constraints, and the length-prefixed framing shared by the agent server and client.
 *
 * Every message on the stream is `uint32 length, byte type, byte[length-1] contents` (§3). Both sides cap a
 * message at MAX_AGENT_MESSAGE (OpenSSH's AGENT_MAX_LEN) so that a peer cannot make us buffer without bound.
 */
import { DecodeError } from '../wire/errors.ts';

/** Message numbers (draft-miller-ssh-agent §5.1). */
export const AGENT_MSG = {
  FAILURE: 5,
  SUCCESS: 6,
  /** Protocol 1 remnant that ssh-add still sends after REMOVE_ALL_IDENTITIES; answered with FAILURE. */
  REMOVE_ALL_RSA_IDENTITIES: 9,
  REQUEST_IDENTITIES: 11,
  IDENTITIES_ANSWER: 12,
  SIGN_REQUEST: 13,
  SIGN_RESPONSE: 14,
  ADD_IDENTITY: 17,
  REMOVE_IDENTITY: 18,
  REMOVE_ALL_IDENTITIES: 19,
  ADD_SMARTCARD_KEY: 20,
  REMOVE_SMARTCARD_KEY: 21,
  LOCK: 22,
  UNLOCK: 23,
  ADD_ID_CONSTRAINED: 25,
  ADD_SMARTCARD_KEY_CONSTRAINED: 26,
  EXTENSION: 27,
  EXTENSION_FAILURE: 28,
} as const;

/** SIGN_REQUEST flags (§5.3). */
export const SIGN_FLAG = {
  RSA_SHA2_256: 2,
  RSA_SHA2_512: 4,
} as const;

/** Key constraint identifiers for ADD_ID_CONSTRAINED (§5.2). */
export const CONSTRAIN = {
  LIFETIME: 1,
  CONFIRM: 2,
  /** OpenSSH's maximum-signatures constraint for XMSS keys (PROTOCOL.agent); we do not support it. */
  MAXSIGN: 3,
  EXTENSION: 255,
} as const;

/** OpenSSH's AGENT_MAX_LEN: the largest message either side accepts (256 KiB). */
export const MAX_AGENT_MESSAGE = 256 * 1024;

/** The extensions this implementation answers (draft-miller-ssh-agent §4.7 "query"). */
export const SUPPORTED_EXTENSIONS = ['query'] as const;

/** The RSA signature algorithm an agent uses for a SIGN_REQUEST's flags; undefined keeps the key's default. */
export function rsaAlgorithmForFlags(flags: number): string | undefined {
  // OpenSSH tests SHA-256 first when both bits are set; we do the same so both agents agree.
  if (flags & SIGN_FLAG.RSA_SHA2_256) return 'rsa-sha2-256';
  if (flags & SIGN_FLAG.RSA_SHA2_512) return 'rsa-sha2-512';
  return undefined;
}

/** The SIGN_REQUEST flags that ask for `algorithm` (0 for everything but the RSA SHA-2 names). */
export function flagsForAlgorithm(algorithm: string): number {
  if (algorithm === 'rsa-sha2-256') return SIGN_FLAG.RSA_SHA2_256;
  if (algorithm === 'rsa-sha2-512') return SIGN_FLAG.RSA_SHA2_512;
  return 0;
}

/** Prefixes a message body (type byte + contents) with its uint32 length (§3). */
export function frameMessage(body: Buffer): Buffer {
  if (body.length > MAX_AGENT_MESSAGE) throw new DecodeError(`agent message of ${body.length} bytes exceeds ${MAX_AGENT_MESSAGE}`);
  const framed = Buffer.allocUnsafe(4 + body.length);
  framed.writeUInt32BE(body.length, 0);
  body.copy(framed, 4);
  return framed;
}

/** The peer announced a message larger than MAX_AGENT_MESSAGE or an empty one; the stream must be dropped. */
export class AgentFramingError extends Error {
  override readonly name = 'AgentFramingError';
}

/**
 * Splits a byte stream into agent messages. Holds at most one partial message (≤ MAX_AGENT_MESSAGE + 4
 * bytes), because the length is checked as soon as its four bytes arrive.
 */
export class MessageDeframer {
  private pending: Buffer[] = [];
  private pendingLength = 0;

  /** Adds received bytes and returns the complete message bodies now available. Throws AgentFramingError. */
  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingLength += chunk.length;
    const messages: Buffer[] = [];
    for (;;) {
      if (this.pendingLength < 4) break;
      const head = this.peek(4);
      const length = head.readUInt32BE(0);
      if (length === 0 || length > MAX_AGENT_MESSAGE) {
        throw new AgentFramingError(`agent message length ${length} outside 1..${MAX_AGENT_MESSAGE}`);
      }
      if (this.pendingLength < 4 + length) break;
      const joined = this.take(4 + length);
      messages.push(joined.subarray(4));
    }
    return messages;
  }

  /** Bytes held for a message not yet complete. */
  get buffered(): number {
    return this.pendingLength;
  }

  private peek(count: number): Buffer {
    if (this.pending[0]!.length < count) this.pending = [Buffer.concat(this.pending)];
    return this.pending[0]!.subarray(0, count);
  }

  private take(count: number): Buffer {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    const taken = Buffer.from(all.subarray(0, count));
    const rest = all.subarray(count);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingLength = rest.length;
    return taken;
  }
}
