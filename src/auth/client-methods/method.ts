/**
 * The contract between the client's ssh-userauth engine (client-auth.ts) and one authentication method, the
 * mirror of ServerAuthMethod on the server side (server-auth.ts). A method sends its USERAUTH_REQUEST (and
 * whatever messages its exchange needs) through the context and reads the server's answers from it; the
 * engine owns the choice of method (PreferredAuthentications among what the server lists), banners, partial
 * success and the final verdict, as sshconnect2.c's userauth() does.
 */
import type { Writer } from '../../wire/writer.ts';

/** The server's answer to a request, banners already shown (RFC 4252 §5.1, §5.4). */
export interface AuthReply {
  /** 'other': a method-specific message (USERAUTH_PK_OK, USERAUTH_INFO_REQUEST, …), left to the method. */
  kind: 'success' | 'failure' | 'other';
  /** USERAUTH_FAILURE: the methods that can continue. */
  methods: string[];
  /** USERAUTH_FAILURE: partial success (RFC 4252 §5.1). */
  partial: boolean;
  payload: Buffer;
}

/** What one method's attempt may use. */
export interface ClientAuthContext {
  readonly username: string;
  /** The connection's session identifier H (RFC 4253 §7.2): what signatures and MICs are bound to. */
  readonly sessionId: Buffer;
  /** The methods the server listed in its last USERAUTH_FAILURE. */
  readonly allowed: readonly string[];
  /** Sends USERAUTH_REQUEST for `method` with the method-specific fields in `body` (RFC 4252 §5). */
  request(method: string, body?: Writer): void;
  /** Sends another message of the method's exchange (USERAUTH_INFO_RESPONSE, a GSS-API token). */
  send(payload: Buffer): void;
  /** The server's next answer, banners shown along the way. */
  nextReply(): Promise<AuthReply>;
  /** An extension the server announced in SSH_MSG_EXT_INFO (RFC 8308), e.g. server-sig-algs. */
  peerExtension(name: string): Buffer | undefined;
  debug(message: string): void;
  /** A line shown at the default log level (LogLevel INFO). */
  notice(message: string): void;
}

/** How a method's attempt ended. */
export type ClientAttempt =
  | {
      /** The server's verdict: USERAUTH_SUCCESS or USERAUTH_FAILURE. */
      reply: AuthReply;
      /** The method has nothing more to send after this answer, whatever the server lists next. */
      spent?: boolean;
    }
  /**
   * The exchange broke off on our side before a verdict (a GSS-API error mid-exchange): the engine chooses
   * again from the same list, and the next request ends the server's half of the exchange (sshconnect2.c
   * input_gssapi_response: "Trying to start again").
   */
  | { abandoned: true };

/** An attempt that ended with the server's verdict. */
export type ClientVerdict = Extract<ClientAttempt, { reply: AuthReply }>;

/** One authentication method on the client side. */
export interface ClientAuthMethod {
  /** The method name on the wire and in PreferredAuthentications. */
  readonly name: string;
  /**
   * False when this build cannot use the method (no GSS-API library): it is then passed over without a word,
   * as by an ssh built without it. Asked only when the server lists the method.
   */
  usable?(): boolean;
  /**
   * Sends this method's next request and resolves with the server's verdict, or with undefined when the
   * method has nothing (more) to send: it is then disabled for this authentication (sshconnect2.c
   * userauth: "we did not send a packet, disable method").
   */
  attempt(context: ClientAuthContext): Promise<ClientAttempt | undefined>;
  /** Some method (`method`, maybe this one) succeeded as one step of several (RFC 4252 §5.1). */
  partialSuccess?(method: string): void;
  /** Authentication is over, whatever the outcome: release what the method holds (an agent connection). */
  close?(): void;
}
