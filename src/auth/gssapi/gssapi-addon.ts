/**
 * The native part of gssapi-with-mic (RFC 4462): the GSS-API calls (RFC 2743) over MIT's libgssapi_krb5,
 * which Node lacks and no npm package offers in full. The addon (native/gssapi, Node-API, built by
 * `npm install` when libkrb5-dev is present) is optional: when it is not built, or the library cannot be
 * loaded, gssapiAvailable() is false with a reason and the method is simply not offered; nothing else in
 * Tether depends on it.
 *
 * The two calls that may contact the KDC (init and accept) run on libuv's thread pool and return promises;
 * the rest are local and synchronous.
 */
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { findNativeAddon, requireNativeAddon } from '../../crypto/native-addon.ts';

/** Opaque handles owned by the addon; released by their finalizers, or earlier by the release calls. */
export interface GssNameHandle {
  readonly __gssName: unique symbol;
}
export interface GssCredentialHandle {
  readonly __gssCredential: unique symbol;
}
export interface GssContextHandle {
  readonly __gssContext: unique symbol;
}

export interface GssStepResult {
  /** The token to send to the peer, or null when there is none. */
  readonly token: Buffer | null;
  /** GSS_S_COMPLETE (otherwise GSS_S_CONTINUE_NEEDED: another token is expected). */
  readonly complete: boolean;
  /** RFC 2744 §3.10 flags the context has (GSS_C_INTEG_FLAG …). */
  readonly flags: number;
}

export interface GssAcceptResult extends GssStepResult {
  /** The initiator's principal ("alice@EXAMPLE.ORG"), once complete. */
  readonly sourceName?: string;
  /** The forwarded credential, when the initiator delegated (GSS_C_DELEG_FLAG). */
  readonly delegatedCredential?: GssCredentialHandle;
}

export interface GssapiAddon {
  importName(name: string, kind: 'hostbased' | 'user' | 'principal'): GssNameHandle;
  displayName(name: GssNameHandle): string;
  releaseName(name: GssNameHandle): void;
  acquireCredential(name: GssNameHandle | null, usage: 'accept' | 'initiate'): GssCredentialHandle;
  releaseCredential(credential: GssCredentialHandle): void;
  /** Writes the credential into a ccache ("FILE:/tmp/krb5cc_1000_x"). */
  storeCredential(credential: GssCredentialHandle, ccache: string): void;
  createContext(): GssContextHandle;
  deleteContext(context: GssContextHandle): void;
  initSecContext(
    context: GssContextHandle,
    target: GssNameHandle,
    token: Buffer | null,
    flags: number,
    credential?: GssCredentialHandle | null,
  ): Promise<GssStepResult>;
  acceptSecContext(context: GssContextHandle, token: Buffer, credential?: GssCredentialHandle | null): Promise<GssAcceptResult>;
  getMic(context: GssContextHandle, message: Buffer): Buffer;
  /** Throws (GSS_S_BAD_SIG …) unless the MIC is good. */
  verifyMic(context: GssContextHandle, message: Buffer, mic: Buffer): void;
  /** The mechanisms the library supports: each OID's content octets. */
  indicateMechs(): Buffer[];
  /** krb5_kuserok: may this principal log in as this local account (~/.k5login, else aname-to-lname)? */
  kuserok(principal: string, localUser: string): boolean;
  /** krb5_aname_to_localname: the local account the principal maps to, if any. */
  localName(principal: string): string | null;
  readonly flags: { DELEG: number; MUTUAL: number; REPLAY: number; SEQUENCE: number; CONF: number; INTEG: number };
}

/** RFC 2744 §3.10: the context flags (the addon's `flags` has the same values). */
export const GSS_C_DELEG_FLAG = 1;
export const GSS_C_MUTUAL_FLAG = 2;
export const GSS_C_INTEG_FLAG = 32;

/** RFC 2744 §3.9.1: the calling and routine error fields of a major status, and the routine errors we name. */
export const GSS_ROUTINE_ERROR_MASK = 0xff << 16;
export const GSS_S_BAD_SIG = 6 << 16;
export const GSS_S_NO_CRED = 7 << 16;
export const GSS_S_DEFECTIVE_TOKEN = 9 << 16;
export const GSS_S_CREDENTIALS_EXPIRED = 11 << 16;
export const GSS_S_FAILURE = 13 << 16;

/** A GSS-API call failed; the text is gss_display_status's for the major and the mechanism's minor status. */
export class GssapiError extends Error {
  override readonly name = 'GssapiError';
  readonly operation: string;
  readonly major: number;
  readonly minor: number;
  readonly majorText: string;
  readonly minorText: string;
  /** An error token the peer should see (RFC 4462 §3.9), when the mechanism produced one. */
  readonly token: Buffer | undefined;

  constructor(fields: { operation: string; major: number; minor: number; majorText: string; minorText: string; token?: Buffer }) {
    super(`${fields.operation}: ${fields.majorText}${fields.minorText ? `: ${fields.minorText}` : ''}`);
    this.operation = fields.operation;
    this.major = fields.major;
    this.minor = fields.minor;
    this.majorText = fields.majorText;
    this.minorText = fields.minorText;
    this.token = fields.token;
  }

  /** The routine error (GSS_S_NO_CRED, GSS_S_BAD_SIG …) without the calling-error and supplementary bits. */
  get routineError(): number {
    return (this.major & GSS_ROUTINE_ERROR_MASK) >>> 0;
  }
}

/** The addon is not built or cannot be loaded: GSSAPI authentication is unavailable. */
export class GssapiUnavailableError extends Error {
  override readonly name = 'GssapiUnavailableError';
}

/** The addon's errors (code ERR_GSSAPI) as GssapiError; anything else unchanged. */
export function toGssapiError(error: unknown): unknown {
  if (!(error instanceof Error) || (error as { code?: unknown }).code !== 'ERR_GSSAPI') return error;
  const fields = error as Error & { operation?: string; major?: number; minor?: number; majorText?: string; minorText?: string; token?: Buffer };
  return new GssapiError({
    operation: fields.operation ?? 'gssapi',
    major: fields.major ?? 0,
    minor: fields.minor ?? 0,
    majorText: fields.majorText ?? error.message,
    minorText: fields.minorText ?? '',
    ...(fields.token ? { token: fields.token } : {}),
  });
}

type LoadState = { addon: GssapiAddon } | { reason: string };
let state: LoadState | undefined;

/** Walks up from `start` to the package root (src/auth/gssapi when run from sources, dist/src/… when built). */
export function findAddon(start: string): string | undefined {
  return findNativeAddon('gssapi', 'gssapi.node', start);
}

/** Loads the addon found from `start`, or says why it cannot be. */
export function loadAddon(start: string): LoadState {
  const path = findAddon(start);
  if (!path) return { reason: 'native/gssapi is not built (it needs libkrb5-dev when npm install runs)' };
  try {
    return { addon: requireNativeAddon<GssapiAddon>(path) };
  } catch (error) {
    return { reason: `native/gssapi cannot be loaded: ${(error as Error).message}` };
  }
}

function load(): LoadState {
  state ??= loadAddon(dirname(fileURLToPath(import.meta.url)));
  return state;
}

export function gssapiAvailable(): boolean {
  return 'addon' in load();
}

/** Why GSSAPI is unavailable, or undefined when it is available. */
export function gssapiUnavailableReason(): string | undefined {
  const loaded = load();
  return 'reason' in loaded ? loaded.reason : undefined;
}

/** The addon; throws GssapiUnavailableError when it is not built. Its errors are the raw ERR_GSSAPI Errors:
 * use the wrappers in gssapi-context.ts, which convert them to GssapiError. */
export function gssapi(): GssapiAddon {
  const loaded = load();
  if ('reason' in loaded) throw new GssapiUnavailableError(`GSSAPI authentication is unavailable: ${loaded.reason}`);
  return loaded.addon;
}
