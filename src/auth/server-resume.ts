/**
 * The "resume@tether-ssh.org" method on the server (docs/PROTOCOL.sessions §6): the client proves it holds
 * the resume token of one of the user's held sessions, by an HMAC bound to this connection's session
 * identifier. The check, and the spending of the token, belong to whoever keeps the tokens (the user's
 * session holder); this method only decodes the request and asks. It is not listed in USERAUTH_FAILURE
 * (§6), and every failure is logged and counted against MaxAuthTries by the engine like any other.
 */
import type { Reader } from '../wire/reader.ts';
import { decodeResumeAuth, RESUME_AUTH_METHOD } from './resume-credential.ts';
import type { AuthAttemptContext, MethodResult, ServerAuthMethod } from './server-auth.ts';

/**
 * Checks `proof` against the current token of session `sessionId` of `user` and spends the token when it
 * matches; false for an unknown session, another user's, or a proof that does not match. Never rejects.
 */
export type SpendResumeToken = (user: string, sessionId: string, proof: Buffer, connectionSessionId: Buffer) => Promise<boolean>;

/** Printable ASCII only, for the log line: the id is the client's. */
function printable(text: string): string {
  return text.replace(/[^\x21-\x7e]/g, '?').slice(0, 64);
}

export class ResumeMethod implements ServerAuthMethod {
  readonly name = RESUME_AUTH_METHOD;
  readonly unlisted = true;
  private readonly spend: SpendResumeToken;

  constructor(spend: SpendResumeToken) {
    this.spend = spend;
  }

  async attempt(body: Reader, context: AuthAttemptContext): Promise<MethodResult> {
    const { sessionId, proof } = decodeResumeAuth(body);
    body.end('resume request');
    const detail = `session ${printable(sessionId)}`;
    // An invalid user still costs the same round trip to nobody: there is no holder to ask.
    if (!context.valid) return { outcome: 'failure', detail };
    let spent = false;
    try {
      spent = await this.spend(context.user, sessionId, proof, context.sessionId);
    } catch {
      spent = false;
    }
    return spent ? { outcome: 'success', detail } : { outcome: 'failure', detail };
  }
}
