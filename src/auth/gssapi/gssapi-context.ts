/**
 * GSS-API security contexts for the two roles of gssapi-with-mic (RFC 4462 §3.4): the client's initiator
 * and the server's acceptor, over the addon's handles, with its errors as GssapiError. Each step is one
 * token in, at most one token out; the caller carries the tokens in SSH_MSG_USERAUTH_GSSAPI_TOKEN and bounds
 * the rounds. dispose() deletes the context (and it is deleted anyway when garbage-collected).
 */
import { gssapi, toGssapiError, type GssAcceptResult, type GssContextHandle, type GssCredentialHandle, type GssNameHandle, type GssStepResult } from './gssapi-addon.ts';

export interface InitiatorOptions {
  /** GSSAPIDelegateCredentials: forward the TGT (GSS_C_DELEG_FLAG). */
  delegate?: boolean;
}

/** The client side: gss_init_sec_context toward `host@<hostname>` (GSS_C_NT_HOSTBASED_SERVICE). */
export class InitiatorContext {
  readonly #context: GssContextHandle;
  readonly #target: GssNameHandle;
  readonly #flags: number;
  #established = false;

  /** `target` is a host-based service name, "host@server.example.org" (RFC 4462 §3.2 hands the GSS-API
   * "host@" and the server's name, as OpenSSH does). Throws GssapiError when the name cannot be imported. */
  constructor(target: string, options: InitiatorOptions = {}) {
    const addon = gssapi();
    try {
      this.#target = addon.importName(target, 'hostbased');
    } catch (error) {
      throw toGssapiError(error);
    }
    this.#context = addon.createContext();
    // sshconnect2.c / gss-genr.c ssh_gssapi_init_ctx: mutual authentication and integrity, plus delegation.
    this.#flags = addon.flags.MUTUAL | addon.flags.INTEG | (options.delegate ? addon.flags.DELEG : 0);
  }

  get established(): boolean {
    return this.#established;
  }

  /** The next step: null for the first call, then each token the server sent. */
  async step(token: Buffer | null): Promise<GssStepResult> {
    try {
      const result = await gssapi().initSecContext(this.#context, this.#target, token, this.#flags);
      if (result.complete) this.#established = true;
      return result;
    } catch (error) {
      throw toGssapiError(error);
    }
  }

  getMic(message: Buffer): Buffer {
    try {
      return gssapi().getMic(this.#context, message);
    } catch (error) {
      throw toGssapiError(error);
    }
  }

  dispose(): void {
    const addon = gssapi();
    addon.deleteContext(this.#context);
    addon.releaseName(this.#target);
  }
}

/** The server side: gss_accept_sec_context with the host keytab's credentials. */
export class AcceptorContext {
  readonly #context: GssContextHandle;
  readonly #credential: GssCredentialHandle | null;
  #result: GssAcceptResult | undefined;

  /**
   * With `acceptorName` (GSSAPIStrictAcceptorCheck yes: "host@<this host's name>") only that principal's
   * keys accept; with null any key in the keytab does. Throws GssapiError when there is no such key.
   */
  constructor(acceptorName: string | null) {
    const addon = gssapi();
    this.#context = addon.createContext();
    if (acceptorName === null) {
      this.#credential = null;
      return;
    }
    let name: GssNameHandle | undefined;
    try {
      name = addon.importName(acceptorName, 'hostbased');
      this.#credential = addon.acquireCredential(name, 'accept');
    } catch (error) {
      addon.deleteContext(this.#context);
      throw toGssapiError(error);
    } finally {
      if (name) addon.releaseName(name);
    }
  }

  /** The established context's outcome (source principal, flags, delegated credential). */
  get result(): GssAcceptResult | undefined {
    return this.#result?.complete ? this.#result : undefined;
  }

  async step(token: Buffer): Promise<GssAcceptResult> {
    try {
      this.#result = await gssapi().acceptSecContext(this.#context, token, this.#credential);
      return this.#result;
    } catch (error) {
      throw toGssapiError(error);
    }
  }

  /** Throws GssapiError (GSS_S_BAD_SIG …) unless `mic` is this context's MIC over `message`. */
  verifyMic(message: Buffer, mic: Buffer): void {
    try {
      gssapi().verifyMic(this.#context, message, mic);
    } catch (error) {
      throw toGssapiError(error);
    }
  }

  /** Writes the delegated credential, if any, to `ccache` ("FILE:/tmp/krb5cc_…"); false when there is none. */
  storeDelegatedCredential(ccache: string): boolean {
    const delegated = this.result?.delegatedCredential;
    if (!delegated) return false;
    try {
      gssapi().storeCredential(delegated, ccache);
      return true;
    } catch (error) {
      throw toGssapiError(error);
    }
  }

  /** Deletes the context and releases the credentials (the delegated one too: store it first). */
  dispose(): void {
    const addon = gssapi();
    addon.deleteContext(this.#context);
    if (this.#credential) addon.releaseCredential(this.#credential);
    const delegated = this.#result?.delegatedCredential;
    if (delegated) addon.releaseCredential(delegated);
  }
}
