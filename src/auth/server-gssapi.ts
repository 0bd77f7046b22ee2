/**
 * The "gssapi-with-mic" method on the server (RFC 4462 §3), with the Kerberos 5 mechanism, as sshd's
 * auth2-gss.c does it: pick the first mechanism of the request we support and answer with it (§3.3), accept
 * the client's context tokens with the host keytab, sending ours back (§3.4), then check the client's MIC
 * over the session identifier and the request (§3.5) and whether the authenticated principal may use the
 * account (krb5_kuserok: ~/.k5login, else aname-to-lname).
 *
 * The established context is kept after a success: it holds the credential the client delegated, which the
 * server stores for the sessions (server/gssapi-credentials.ts).
 */
import { ProtocolError } from '../wire/errors.ts';
import { SSH_MSG } from '../wire/message-numbers.ts';
import type { Reader } from '../wire/reader.ts';
import type { AuthAttemptContext, MethodResult, ServerAuthMethod } from './server-auth.ts';
import { gssapiMicData } from './signed-data.ts';
import { AcceptorContext } from './gssapi/gssapi-context.ts';
import { GSS_C_INTEG_FLAG, GssapiError } from './gssapi/gssapi-addon.ts';
import {
  decodeGssapiErrtok, decodeGssapiMic, decodeGssapiRequestFields, decodeGssapiToken, derOidContent, encodeGssapiErrtok,
  encodeGssapiResponse, encodeGssapiToken, GSSAPI_MSG, GSSAPI_WITH_MIC, KRB5_MECHANISM_OID_CONTENT,
} from './gssapi/gssapi-messages.ts';

/**
 * Most context tokens a client may send before the context is established. Kerberos needs one (the AP-REQ;
 * the AP-REP of mutual authentication goes back with the completion), SPNEGO-like mechanisms a few.
 */
export const MAX_GSSAPI_ROUNDS = 8;

export interface GssapiServerPolicy {
  /** GSSAPIStrictAcceptorCheck yes: "host@<this host's name>", whose keytab key must accept; null: any key. */
  acceptorName: string | null;
  /** May `principal` log in as local account `user` (krb5_kuserok)? */
  userok(principal: string, user: string): boolean;
  /** sshd's logit() lines ("GSSAPI MIC check failed", "Authorized to …"). */
  log(message: string): void;
}

type Exchange =
  | { kind: 'established'; acceptor: AcceptorContext; integrity: boolean }
  | { kind: 'failed'; detail: string }
  | { kind: 'abandoned' };

export class GssapiWithMicMethod implements ServerAuthMethod {
  readonly name = GSSAPI_WITH_MIC;
  private readonly policy: GssapiServerPolicy;
  /** The context of the attempt that succeeded, with any delegated credential. */
  private established: AcceptorContext | undefined;

  constructor(policy: GssapiServerPolicy) {
    this.policy = policy;
  }

  /** The successful context (once): the caller stores its delegated credential and disposes of it. */
  takeEstablished(): AcceptorContext | undefined {
    const established = this.established;
    this.established = undefined;
    return established;
  }

  async attempt(body: Reader, context: AuthAttemptContext): Promise<MethodResult> {
    const mechanisms = decodeGssapiRequestFields(body);
    // auth2-gss.c: OIDs normally come DER-encoded; very old clients sent the bare content octets.
    const chosen = mechanisms.find((oid) => (derOidContent(oid) ?? oid).equals(KRB5_MECHANISM_OID_CONTENT));
    if (mechanisms.length === 0) return { outcome: 'failure', detail: 'no mechanisms' };
    if (!chosen) return { outcome: 'failure', detail: 'no matching mechanism' };
    // sshd answers an invalid user at once: a keytab lookup would only be work for nothing.
    if (!context.valid) return { outcome: 'failure' };

    let acceptor: AcceptorContext;
    try {
      acceptor = new AcceptorContext(this.policy.acceptorName);
    } catch (error) {
      if (!(error instanceof GssapiError)) throw error;
      this.policy.log(`GSSAPI acceptor credentials unavailable: ${printable(error.message)}`);
      return { outcome: 'failure', detail: 'no acceptor credentials' };
    }
    let keep = false;
    try {
      context.send(encodeGssapiResponse(chosen));
      const exchange = await this.exchangeTokens(acceptor, context);
      if (exchange.kind === 'abandoned') return { outcome: 'postponed' };
      if (exchange.kind === 'failed') return { outcome: 'failure', detail: exchange.detail };
      const result = await this.finish(acceptor, exchange.integrity, context);
      if (result.outcome === 'success') {
        this.established?.dispose();
        this.established = acceptor;
        keep = true;
      }
      return result;
    } finally {
      if (!keep) acceptor.dispose();
    }
  }

  /** §3.4: tokens both ways until the context is established, at most MAX_GSSAPI_ROUNDS client tokens. */
  private async exchangeTokens(acceptor: AcceptorContext, context: AuthAttemptContext): Promise<Exchange> {
    for (let round = 0; round < MAX_GSSAPI_ROUNDS; round++) {
      const message = await context.next();
      switch (message[0]) {
        case GSSAPI_MSG.USERAUTH_GSSAPI_TOKEN: {
          const token = decodeGssapiToken(message);
          let result;
          try {
            result = await acceptor.step(token);
          } catch (error) {
            if (!(error instanceof GssapiError)) throw error;
            // §3.9: the mechanism's error token lets the client's GSS-API say what went wrong.
            if (error.token) context.send(encodeGssapiErrtok(error.token));
            return { kind: 'failed', detail: printable(error.message) };
          }
          if (result.token) context.send(encodeGssapiToken(result.token));
          if (result.complete) return { kind: 'established', acceptor, integrity: (result.flags & GSS_C_INTEG_FLAG) !== 0 };
          break;
        }
        case GSSAPI_MSG.USERAUTH_GSSAPI_ERRTOK: {
          // The client's GSS-API failed; its token only says why (auth2-gss.c input_gssapi_errtok).
          const token = decodeGssapiErrtok(message);
          let detail = 'client sent an error token';
          try {
            await acceptor.step(token);
          } catch (error) {
            if (!(error instanceof GssapiError)) throw error;
            detail = printable(error.message);
          }
          return { kind: 'failed', detail };
        }
        default:
          return this.abandonOrFail(message, context, 'USERAUTH_GSSAPI_TOKEN');
      }
    }
    return { kind: 'failed', detail: `context not established after ${MAX_GSSAPI_ROUNDS} tokens` };
  }

  /** §3.5 (or §3.6 for a context without integrity): the MIC, then whether the principal may be this user. */
  private async finish(acceptor: AcceptorContext, integrity: boolean, context: AuthAttemptContext): Promise<MethodResult> {
    const message = await context.next();
    // Log-safe: a principal comes from the client's ticket, a foreign realm's KDC may have named it.
    const principal = printable(acceptor.result?.sourceName ?? '');
    if (message[0] === GSSAPI_MSG.USERAUTH_GSSAPI_MIC && integrity) {
      const mic = decodeGssapiMic(message);
      try {
        acceptor.verifyMic(gssapiMicData({ sessionId: context.sessionId, user: context.requestedUser, service: context.service }), mic);
      } catch (error) {
        if (!(error instanceof GssapiError)) throw error;
        this.policy.log('GSSAPI MIC check failed');
        return { outcome: 'failure', detail: principal };
      }
    } else if (message[0] !== GSSAPI_MSG.USERAUTH_GSSAPI_EXCHANGE_COMPLETE || integrity) {
      // sshd listens for the MIC only when the context has integrity, for EXCHANGE_COMPLETE only when not.
      const outcome = this.abandonOrFail(message, context, integrity ? 'USERAUTH_GSSAPI_MIC' : 'USERAUTH_GSSAPI_EXCHANGE_COMPLETE');
      return outcome.kind === 'abandoned' ? { outcome: 'postponed' } : { outcome: 'failure', detail: principal };
    }
    if (!this.policy.userok(principal, context.user)) return { outcome: 'failure', detail: principal };
    // gss-serv-krb5.c ssh_gssapi_krb5_userok.
    this.policy.log(`Authorized to ${context.user}, krb5 principal ${principal} (krb5_kuserok)`);
    return { outcome: 'success', detail: principal };
  }

  /** A new USERAUTH_REQUEST abandons the exchange; anything else is a protocol error, as in sshd's dispatcher. */
  private abandonOrFail(message: Buffer, context: AuthAttemptContext, expected: string): Exchange {
    if (message[0] === SSH_MSG.USERAUTH_REQUEST && context.putBack) {
      context.putBack(message);
      return { kind: 'abandoned' };
    }
    throw new ProtocolError(`expected ${expected}, got message ${message[0]}`);
  }
}

/** Control characters out of text bound for the log, at most 512 characters of it. */
function printable(text: string): string {
  return text.slice(0, 512).replace(/[\x00-\x1f\x7f]/g, '?');
}
