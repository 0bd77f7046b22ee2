/**
 * The userauth method "resume@tether-ssh.org" (docs/PROTOCOL.sessions §6): a proof of the session's resume
 * token bound to this connection, so the token itself never crosses the wire again and a captured proof is
 * worthless on any other connection. Encoded here once for both roles.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';

export const RESUME_AUTH_METHOD = 'resume@tether-ssh.org';
const PROOF_LENGTH = 32;
/** Longest session id either side accepts; tokens are 32 random bytes. */
export const MAX_SESSION_ID_LENGTH = 64;
export const RESUME_TOKEN_LENGTH = 32;

/** HMAC-SHA256(token, string H || string user || string session id). */
export function resumeProof(token: Buffer, connectionSessionId: Buffer, user: string, sessionId: string): Buffer {
  const data = new Writer(128).string(connectionSessionId).string(user).string(sessionId).finish();
  return createHmac('sha256', token).update(data).digest();
}

/** Constant-time check of a proof against the token the holder keeps. */
export function proofMatches(token: Buffer, proof: Buffer, connectionSessionId: Buffer, user: string, sessionId: string): boolean {
  const expected = resumeProof(token, connectionSessionId, user, sessionId);
  return proof.length === expected.length && timingSafeEqual(proof, expected);
}

/** The method-specific fields of the USERAUTH_REQUEST. */
export function encodeResumeAuth(sessionId: string, proof: Buffer): Buffer {
  return new Writer(128).string(sessionId).string(proof).finish();
}

/** Decodes the fields after the method name; `reader` is positioned there. */
export function decodeResumeAuth(reader: Reader): { sessionId: string; proof: Buffer } {
  return { sessionId: reader.text(MAX_SESSION_ID_LENGTH), proof: Buffer.from(reader.string(PROOF_LENGTH)) };
}
