/**
 * Server side of user authentication (RFC 4252): the ssh-userauth service, driven by a policy so that the
 * methods themselves are pluggable pieces (publickey, password and keyboard-interactive today;
 * gssapi-with-mic later). The engine owns what every method shares, following OpenSSH's sshd (auth2.c):
 * the banner, one user name per connection, AuthenticationMethods lists with partial success, counting
 * failures against MaxAuthTries, and the small per-user delay that makes a failure take the same time
 * whatever failed.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { DISCONNECT_REASON, SSH_MSG } from '../wire/message-numbers.ts';
import { DisconnectError, ProtocolError } from '../wire/errors.ts';
import type { Transport } from '../transport/transport.ts';
import { PacketInbox } from '../transport/inbox.ts';
import { defaultOptions } from '../keys/authorized-keys.ts';
import { mergeRestrictions } from './session-restrictions.ts';

/** What a successful publickey login imposes on the sessions that follow (authorized_keys options). */
export interface SessionRestrictions {
  permitPty: boolean;
  permitPortForwarding: boolean;
  permitAgentForwarding: boolean;
  permitX11Forwarding: boolean;
  permitUserRc: boolean;
  /** command="…": runs instead of whatever the client asks for. */
  forcedCommand?: string;
  permitOpen: string[];
  permitListen: string[];
  /** environment="NAME=value" entries (used only when PermitUserEnvironment allows them). */
  environment: Array<{ name: string; value: string }>;
}

export const UNRESTRICTED: SessionRestrictions = (() => {
  // A session without key options gets what an authorized_keys line without options permits.
  const { restrict: _restrict, certAuthority: _certAuthority, ...permitted } = defaultOptions();
  return Object.freeze(permitted) as SessionRestrictions;
})();

/** What one method's attempt may use: the request's fields and a way to talk to the client. */
export interface AuthAttemptContext {
  /** The user name without any ":style" suffix. */
  readonly user: string;
  /** The user field exactly as the client sent it ("user:style"): what a publickey signature covers. */
  readonly requestedUser: string;
  readonly service: string;
  readonly sessionId: Buffer;
  /** false when the user does not exist or may not log in: the method must fail, but only after doing the work. */
  readonly valid: boolean;
  /** Sends a method-specific message (USERAUTH_PK_OK, USERAUTH_INFO_REQUEST). */
  send(payload: Buffer): void;
  /** The client's next message, for methods with more than one round (keyboard-interactive). */
  next(): Promise<Buffer>;
  /**
   * Hands a message the method read back to the engine, to be handled as if not yet read: a new
   * USERAUTH_REQUEST that abandons this method's exchange (auth2.c input_userauth_request drops the GSSAPI
   * handlers the same way). The method then returns 'postponed'.
   */
  putBack?(payload: Buffer): void;
}

export type MethodResult =
  /** `detail` goes in the log line ("ED25519 SHA256:…"); `restrictions` apply to the sessions. */
  | { outcome: 'success'; detail?: string; restrictions?: SessionRestrictions }
  | { outcome: 'failure'; detail?: string }
  /** The method answered without deciding (publickey's PK_OK to a query): not a failure, not counted. */
  | { outcome: 'postponed'; detail?: string };

/** One authentication method on the server side. */
export interface ServerAuthMethod {
  readonly name: string;
  /**
   * A credential an earlier full login issued (resume@tether-ssh.org, docs/PROTOCOL.sessions §6): never named
   * in USERAUTH_FAILURE, tried whatever AuthenticationMethods lists, completes authentication on its own,
   * and its failures are always logged.
   */
  readonly unlisted?: boolean;
  /** Handles one USERAUTH_REQUEST for this method; `body` is positioned after the method name. */
  attempt(body: Reader, context: AuthAttemptContext): Promise<MethodResult>;
}

/** What the engine needs to know about the user named in the first request (after Match has applied). */
export interface UserAuthPlan {
  readonly valid: boolean;
  readonly maxAuthTries: number;
  /** AuthenticationMethods: every method of one inner list must succeed, in order. Empty: any one method. */
  readonly requiredMethodLists: readonly (readonly string[])[];
  /** Enabled methods in the order they are listed to the client. */
  readonly methods: readonly ServerAuthMethod[];
  readonly banner?: string;
  /**
   * A last word on a method's success (PermitRootLogin): returning a reason turns the success into a
   * failure, and the reason is logged.
   */
  vetoSuccess?(method: string, restrictions: SessionRestrictions): string | undefined;
}

export type AuthEvent =
  | { kind: 'accepted' | 'partial' | 'failed' | 'postponed'; method: string; user: string; valid: boolean; detail?: string; important: boolean }
  | { kind: 'refused'; method: string; user: string; reason: string }
  | { kind: 'too-many-failures'; user: string; valid: boolean };

export interface ServerAuthPolicy {
  /** Called once, with the user name of the first request. */
  planFor(user: string): Promise<UserAuthPlan>;
  /** Log events. */
  onEvent?(event: AuthEvent): void;
}

export interface AuthenticatedUser {
  user: string;
  /** Methods that succeeded, in order (more than one with AuthenticationMethods). */
  methods: string[];
  restrictions: SessionRestrictions;
  /** Connection-protocol packets that arrived together with the last auth message. */
  earlierPackets: Buffer[];
}

/** The client sent a user name that differs from its first request (sshd disconnects then, so do we). */
export class AuthProtocolError extends ProtocolError {}

/** A secret per process keeps each user's failure delay stable but unpredictable (sshd's user_specific_delay). */
const DELAY_SECRET = randomBytes(32);
const MIN_FAILURE_DELAY_MS = 5;

/** 5–10 ms, fixed per user name. */
export function userSpecificDelayMs(user: string): number {
  const digest = createHmac('sha512', DELAY_SECRET).update(user).digest();
  return MIN_FAILURE_DELAY_MS + (digest.readUInt32BE(0) / 0xffffffff) * MIN_FAILURE_DELAY_MS;
}

/**
 * Waits until at least `delayMs` has passed since `startedAt`, doubling the target first when the attempt
 * already took longer, so how long a failure takes does not tell which check failed.
 */
async function ensureMinimumTimeSince(startedAt: number, delayMs: number): Promise<void> {
  const elapsed = performance.now() - startedAt;
  let target = delayMs;
  while (target < elapsed) target *= 2;
  await sleep(target - elapsed);
}

/** The name of a method as AuthenticationMethods lists it ("keyboard-interactive:pam" → "keyboard-interactive"). */
function baseMethod(entry: string): string {
  const colon = entry.indexOf(':');
  return colon < 0 ? entry : entry.slice(0, colon);
}

/**
 * Runs the ssh-userauth service to completion. Call it right after creating the transport: it takes the
 * transport's packets at once (a client's SERVICE_REQUEST can arrive in the same read as its NEWKEYS, before
 * any `await transport.ready` continuation would run) and waits for the first key exchange itself. Resolves
 * with the authenticated user; rejects when the transport closes or the client breaks the protocol (the
 * transport is then already disconnected with the reason).
 */
export async function authenticateServer(transport: Transport, policy: ServerAuthPolicy): Promise<AuthenticatedUser> {
  const inbox = new PacketInbox(transport);
  try {
    await transport.ready;
    return await runUserauth(transport, policy, inbox);
  } catch (error) {
    // Malformed requests (DecodeError) and protocol violations inside a method end the connection here.
    if (!transport.isClosed) transport.fail(error as Error);
    throw error;
  }
}

async function runUserauth(transport: Transport, policy: ServerAuthPolicy, inbox: PacketInbox): Promise<AuthenticatedUser> {
  const sessionId = transport.sessionId!;
  const emit = (event: AuthEvent): void => policy.onEvent?.(event);

  // RFC 4253 §10: the client asks for ssh-userauth first.
  for (;;) {
    const payload = await inbox.next();
    if (payload[0] !== SSH_MSG.SERVICE_REQUEST) {
      if (payload[0]! >= SSH_MSG.GLOBAL_REQUEST) {
        transport.sendUnimplemented();
        continue;
      }
      throw fail(transport, new ProtocolError(`expected SERVICE_REQUEST, got message ${payload[0]}`));
    }
    const reader = new Reader(payload, 1);
    const service = reader.text(64);
    if (service !== 'ssh-userauth') {
      throw fail(transport, new ProtocolError(`bad service request ${service.slice(0, 64)}`, DISCONNECT_REASON.SERVICE_NOT_AVAILABLE));
    }
    transport.send(Buffer.from(new Writer(32).byte(SSH_MSG.SERVICE_ACCEPT).string('ssh-userauth').finish()));
    break;
  }

  let plan: UserAuthPlan | undefined;
  let firstUser = '';
  let firstService = '';
  let failures = 0;
  let attempts = 0;
  let restrictions: SessionRestrictions = UNRESTRICTED;
  const succeeded: string[] = [];
  let remainingLists: string[][] = [];

  const sendFailure = (partial: boolean): void => {
    const names = methodsThatCanContinue();
    transport.send(Buffer.from(new Writer(128).byte(SSH_MSG.USERAUTH_FAILURE).nameList(names).boolean(partial).finish()));
  };

  function methodsThatCanContinue(): string[] {
    const enabled = plan!.methods.filter((m) => !m.unlisted).map((m) => m.name);
    if (remainingLists.length === 0) return enabled;
    const heads = new Set(remainingLists.map((list) => baseMethod(list[0]!)));
    return enabled.filter((name) => heads.has(name));
  }

  const methodAllowed = (method: ServerAuthMethod): boolean => method.unlisted === true || methodsThatCanContinue().includes(method.name);

  /** Records a method's success against the AuthenticationMethods lists; true when one is complete. */
  const completeMethod = (name: string): boolean => {
    if (remainingLists.length === 0 || plan!.methods.some((m) => m.unlisted && m.name === name)) return true;
    let complete = false;
    remainingLists = remainingLists.map((list) => {
      const index = list.findIndex((entry) => baseMethod(entry) === name);
      if (index < 0) return list;
      const rest = list.filter((_, i) => i !== index);
      if (rest.length === 0) complete = true;
      return rest;
    });
    return complete;
  };

  let putBack: Buffer | undefined;
  for (;;) {
    const payload = putBack ?? (await inbox.next());
    putBack = undefined;
    const type = payload[0]!;
    if (type !== SSH_MSG.USERAUTH_REQUEST) {
      if (type >= SSH_MSG.GLOBAL_REQUEST) {
        transport.sendUnimplemented();
        continue;
      }
      throw fail(transport, new ProtocolError(`unexpected message ${type} during user authentication`));
    }
    const startedAt = performance.now();
    const reader = new Reader(payload, 1);
    const requestedUser = reader.text(1024);
    // auth2.c: "user:style" names the user before the colon; the style (a BSD auth type) is not used here.
    const colon = requestedUser.indexOf(':');
    const user = colon < 0 ? requestedUser : requestedUser.slice(0, colon);
    const service = reader.text(64);
    const methodName = reader.text(64);

    if (plan === undefined) {
      firstUser = user;
      firstService = service;
      plan = await policy.planFor(user);
      remainingLists = plan.requiredMethodLists.map((list) => [...list]);
      // sshd sends the banner once, before the first answer (RFC 4252 §5.4).
      if (plan.banner) {
        transport.send(Buffer.from(new Writer(plan.banner.length + 16).byte(SSH_MSG.USERAUTH_BANNER).string(plan.banner).string('').finish()));
      }
    } else if (user !== firstUser || service !== firstService) {
      throw fail(transport, new AuthProtocolError('Change of username or service not allowed'));
    }
    attempts++;

    let result: MethodResult = { outcome: 'failure' };
    const method = plan.methods.find((m) => m.name === methodName);
    if (methodName !== 'none' && method && methodAllowed(method) && failures < plan.maxAuthTries && service === 'ssh-connection') {
      result = await method.attempt(reader, {
        user,
        requestedUser,
        service,
        sessionId,
        valid: plan.valid,
        send: (message) => transport.send(message),
        next: () => inbox.next(),
        putBack: (message) => {
          putBack = message;
        },
      });
    }
    if (result.outcome === 'success' && !plan.valid) result = { outcome: 'failure', detail: result.detail };
    if (result.outcome === 'success') {
      const veto = plan.vetoSuccess?.(methodName, result.restrictions ?? UNRESTRICTED);
      if (veto !== undefined) {
        emit({ kind: 'refused', method: methodName, user, reason: veto });
        result = { outcome: 'failure', detail: result.detail };
      }
    }
    if (result.outcome === 'success' && result.restrictions) {
      // Each step's restrictions narrow the earlier steps' (auth2-pubkey.c auth_activate_options).
      const merged = mergeRestrictions(restrictions, result.restrictions);
      if (typeof merged === 'string') {
        emit({ kind: 'refused', method: methodName, user, reason: `Inconsistent authentication options: ${merged}` });
        result = { outcome: 'failure', detail: result.detail };
      } else {
        restrictions = merged;
      }
    }
    if (result.outcome !== 'success' && methodName !== 'none') await ensureMinimumTimeSince(startedAt, userSpecificDelayMs(user));

    if (result.outcome === 'postponed') {
      emit({ kind: 'postponed', method: methodName, user, valid: plan.valid, detail: result.detail, important: false });
      continue;
    }
    if (result.outcome === 'success') {
      succeeded.push(methodName);
      if (completeMethod(methodName)) {
        emit({ kind: 'accepted', method: methodName, user, valid: true, detail: result.detail, important: true });
        // Sending USERAUTH_SUCCESS also starts delayed compression in the transport.
        transport.send(Buffer.from([SSH_MSG.USERAUTH_SUCCESS]));
        return { user, methods: succeeded, restrictions, earlierPackets: inbox.takeRemaining() };
      }
      // RFC 4252 §5.1: this method is done but another is still required.
      emit({ kind: 'partial', method: methodName, user, valid: true, detail: result.detail, important: true });
      sendFailure(true);
      continue;
    }
    // The very first "none" is how clients ask which methods exist; it is not a failure (auth2.c).
    if (attempts > 1 || methodName !== 'none') failures++;
    const important = !plan.valid || methodName === 'password' || method?.unlisted === true || failures >= plan.maxAuthTries / 2;
    if (methodName !== 'none' || attempts > 1) {
      emit({ kind: 'failed', method: methodName, user, valid: plan.valid, detail: result.detail, important });
    }
    if (failures >= plan.maxAuthTries) {
      emit({ kind: 'too-many-failures', user, valid: plan.valid });
      throw fail(transport, new ProtocolError('Too many authentication failures', DISCONNECT_REASON.PROTOCOL_ERROR));
    }
    sendFailure(false);
  }
}

/** Disconnects with `error`'s reason and returns it for the caller to throw. */
function fail(transport: Transport, error: ProtocolError): Error {
  transport.fail(error);
  return new DisconnectError(error.message, error.reason, false);
}
