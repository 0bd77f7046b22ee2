/**
 * The client's "gssapi-with-mic" method (RFC 4462 §3) with the Kerberos 5 mechanism, as sshconnect2.c
 * userauth_gssapi and gss-genr.c do it: the mechanism is checked first with a trial context toward
 * host@<server> (so a missing or expired ticket passes over to the next method without a request, the GSS-API
 * reason at debug level), then offered; the context tokens go back and forth (§3.4) and the exchange ends
 * with a MIC over the session identifier and the request (§3.5). The user's credentials are the default
 * ones (KRB5CCNAME); GSSAPIDelegateCredentials forwards the TGT (GSS_C_DELEG_FLAG).
 *
 * The calls that may reach the KDC (gss_init_sec_context) run on the thread pool (gssapi-addon.ts), so the
 * event loop never waits for it.
 */
import { ProtocolError } from '../../wire/errors.ts';
import { InitiatorContext } from '../gssapi/gssapi-context.ts';
import { GSS_C_INTEG_FLAG, GssapiError, GssapiUnavailableError, gssapiAvailable } from '../gssapi/gssapi-addon.ts';
import {
  decodeGssapiError, decodeGssapiErrtok, decodeGssapiResponse, decodeGssapiToken, derOidContent, encodeGssapiErrtok,
  encodeGssapiExchangeComplete, encodeGssapiMic, encodeGssapiRequestFields, encodeGssapiToken, GSSAPI_MSG, GSSAPI_WITH_MIC,
  KRB5_MECHANISM_OID,
} from '../gssapi/gssapi-messages.ts';
import { gssapiMicData } from '../signed-data.ts';
import { gssapiTargetHost, type GssapiTargetOptions } from './gssapi-target.ts';
import type { ClientAttempt, ClientAuthContext, ClientAuthMethod } from './method.ts';

/** Most messages the server may send in one exchange (tokens, errors); Kerberos needs two. */
const MAX_EXCHANGE_MESSAGES = 16;

export interface GssapiClientOptions extends GssapiTargetOptions {
  /** GSSAPIDelegateCredentials. */
  delegate?: boolean;
}

export class GssapiClientMethod implements ClientAuthMethod {
  readonly name = GSSAPI_WITH_MIC;
  private readonly options: GssapiClientOptions;
  /** Kerberos 5 is the one mechanism offered; once tried, the method has nothing more to send. */
  private tried = false;

  constructor(options: GssapiClientOptions) {
    this.options = options;
  }

  /** Loads the addon only now, when a server lists the method. */
  usable(): boolean {
    return gssapiAvailable();
  }

  async attempt(context: ClientAuthContext): Promise<ClientAttempt | undefined> {
    if (this.tried) return undefined;
    this.tried = true;
    const target = `host@${await gssapiTargetHost(this.options)}`;
    if (!(await mechanismUsable(target, context))) return undefined;

    // §3.2: one mechanism per request, as ssh sends them.
    context.request(GSSAPI_WITH_MIC, encodeGssapiRequestFields([KRB5_MECHANISM_OID]));
    let initiator: InitiatorContext;
    try {
      initiator = new InitiatorContext(target, { delegate: this.options.delegate === true });
    } catch (error) {
      if (!(error instanceof GssapiError)) throw error;
      context.debug(failureText(error));
      return { abandoned: true };
    }
    try {
      return await this.exchange(initiator, context);
    } finally {
      initiator.dispose();
    }
  }

  private async exchange(initiator: InitiatorContext, context: ClientAuthContext): Promise<ClientAttempt> {
    let responded = false;
    for (let messages = 0; ; messages++) {
      const answer = await context.nextReply();
      if (answer.kind !== 'other') return { reply: answer };
      if (messages >= MAX_EXCHANGE_MESSAGES) throw new ProtocolError('too many gssapi-with-mic messages');
      const { payload } = answer;
      switch (payload[0]) {
        case GSSAPI_MSG.USERAUTH_GSSAPI_RESPONSE: {
          // §3.3: the mechanism the server chose, which must be the one we offered.
          if (responded) throw new ProtocolError('unexpected USERAUTH_GSSAPI_RESPONSE');
          responded = true;
          const mechanism = decodeGssapiResponse(payload);
          if (!derOidContent(mechanism)) {
            context.debug('Badly encoded mechanism OID received');
            return { abandoned: true };
          }
          if (!mechanism.equals(KRB5_MECHANISM_OID)) throw new ProtocolError('Server returned different OID than expected');
          if (!(await this.step(initiator, null, context))) {
            context.debug('Trying to start again');
            return { abandoned: true };
          }
          break;
        }
        case GSSAPI_MSG.USERAUTH_GSSAPI_TOKEN:
          // §3.4: the server's reply token (Kerberos: the AP-REP of mutual authentication).
          if (!responded) throw new ProtocolError('USERAUTH_GSSAPI_TOKEN before USERAUTH_GSSAPI_RESPONSE');
          if (!(await this.step(initiator, decodeGssapiToken(payload), context))) return { abandoned: true };
          break;
        case GSSAPI_MSG.USERAUTH_GSSAPI_ERROR:
          // §3.8: the server's status, for the user; its FAILURE follows.
          context.debug(`Server GSSAPI Error:\n${decodeGssapiError(payload).message}`);
          break;
        case GSSAPI_MSG.USERAUTH_GSSAPI_ERRTOK: {
          // §3.9: the mechanism may say what went wrong; the server's FAILURE follows.
          const token = decodeGssapiErrtok(payload);
          try {
            await initiator.step(token);
          } catch (error) {
            if (!(error instanceof GssapiError)) throw error;
            context.debug(failureText(error));
          }
          break;
        }
        default:
          throw new ProtocolError(`unexpected message ${payload[0]} in gssapi-with-mic`);
      }
    }
  }

  /**
   * One gss_init_sec_context step and what it has us send (sshconnect2.c process_gssapi_token): its token,
   * and once the context is complete the MIC (§3.5), or EXCHANGE_COMPLETE for a context without integrity
   * (§3.6). False when the GSS-API failed: the exchange is over on our side.
   */
  private async step(initiator: InitiatorContext, token: Buffer | null, context: ClientAuthContext): Promise<boolean> {
    if (this.options.delegate) context.debug('Delegating credentials');
    let result;
    try {
      result = await initiator.step(token);
    } catch (error) {
      if (!(error instanceof GssapiError)) throw error;
      context.debug(failureText(error));
      // §3.9: the mechanism's error token, if it made one, goes to the server.
      if (error.token && error.token.length > 0) context.send(encodeGssapiErrtok(error.token));
      return false;
    }
    if (result.token && result.token.length > 0) context.send(encodeGssapiToken(result.token));
    if (!result.complete) return true;
    if ((result.flags & GSS_C_INTEG_FLAG) === 0) {
      context.send(encodeGssapiExchangeComplete());
      return true;
    }
    let mic: Buffer;
    try {
      mic = initiator.getMic(gssapiMicData({ sessionId: context.sessionId, user: context.username, service: 'ssh-connection' }));
    } catch (error) {
      if (!(error instanceof GssapiError)) throw error;
      context.debug(failureText(error));
      return false;
    }
    context.send(encodeGssapiMic(mic));
    return true;
  }
}

/**
 * gss-genr.c ssh_gssapi_check_mechanism: a first context step toward the target, thrown away, tells whether
 * the mechanism can work at all (a ticket for the realm, the KDC reachable, a key for the service) before
 * the server is asked; on failure ssh says why at debug level and the method is passed over.
 */
async function mechanismUsable(target: string, context: ClientAuthContext): Promise<boolean> {
  let trial: InitiatorContext | undefined;
  try {
    trial = new InitiatorContext(target);
    await trial.step(null);
    return true;
  } catch (error) {
    if (error instanceof GssapiUnavailableError) {
      context.debug(error.message);
      return false;
    }
    if (!(error instanceof GssapiError)) throw error;
    const text = failureText(error);
    context.debug(text);
    // ssh says nothing here below -v; a user whose single sign-on silently stopped working deserves a line.
    if (/expired/i.test(text)) context.notice('Kerberos ticket expired (kinit renews it); trying the next authentication method.');
    return false;
  } finally {
    trial?.dispose();
  }
}

/**
 * How ssh words a GSS-API failure (gss-genr.c ssh_gssapi_last_error): the major status text, then the
 * mechanism's minor status text, each on a line of its own, e.g. "Unspecified GSS failure.  Minor code may
 * provide more information\nNo Kerberos credentials available (default cache: FILE:/tmp/krb5cc_1000)\n".
 */
export function failureText(error: GssapiError): string {
  return `${error.majorText}\n${error.minorText}\n`;
}
