/**
 * The first request of every authentication: "none" (RFC 4252 §5.2), which learns the methods that can
 * continue, or in its place a held session's resume credential (resume@tether-ssh.org, docs/PROTOCOL.sessions
 * §6), whose FAILURE lists the methods just the same (the server never lists resume@ itself). Neither is
 * chosen through PreferredAuthentications afterwards (sshconnect2.c lists "none" without an enabling option).
 */
import { Writer } from '../../wire/writer.ts';
import { RESUME_AUTH_METHOD, encodeResumeAuth, resumeProof } from '../resume-credential.ts';
import type { ResumeAuth } from '../client-auth.ts';
import type { ClientAuthContext, ClientAuthMethod, ClientVerdict } from './method.ts';

export class NoneClientMethod implements ClientAuthMethod {
  readonly name = 'none';

  async attempt(context: ClientAuthContext): Promise<ClientVerdict> {
    context.request('none');
    return { reply: await context.nextReply(), spent: true };
  }
}

export class ResumeClientMethod implements ClientAuthMethod {
  readonly name = RESUME_AUTH_METHOD;
  private readonly resume: ResumeAuth;

  constructor(resume: ResumeAuth) {
    this.resume = resume;
  }

  async attempt(context: ClientAuthContext): Promise<ClientVerdict> {
    const { token, sessionId } = this.resume;
    // Only a proof of the token bound to this connection goes on the wire, never the token (§6).
    const proof = resumeProof(token, context.sessionId, context.username, sessionId);
    context.request(RESUME_AUTH_METHOD, new Writer(128).raw(encodeResumeAuth(sessionId, proof)));
    const reply = await context.nextReply();
    // Answered either way: the token is spent.
    this.resume.onAnswered?.();
    if (reply.kind === 'success') context.debug(`Authentication succeeded (${RESUME_AUTH_METHOD}).`);
    else if (reply.kind === 'failure') context.debug(`${RESUME_AUTH_METHOD} refused; trying the usual methods`);
    return { reply, spent: true };
  }
}
