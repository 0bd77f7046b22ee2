/**
 * Client side of user authentication (RFC 4252): the ssh-userauth service, with each method an object of its
 * own (client-methods/: none, gssapi-with-mic, publickey, password, keyboard-interactive), the mirror of the server's
 * ServerAuthMethod. The engine here owns what they share, following OpenSSH's sshconnect2.c: the first
 * "none" (or a held session's resume credential in its place), banners, the choice of the next method in our
 * preference order among those the server still lists, partial success, and the final verdict.
 */
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { SSH_MSG } from '../wire/message-numbers.ts';
import { ProtocolError } from '../wire/errors.ts';
import type { PublicKey } from '../keys/types.ts';
import type { Certificate } from '../keys/certificate.ts';
import type { Transport } from '../transport/transport.ts';
import { PacketInbox } from '../transport/inbox.ts';
import type { AuthReply, ClientAuthContext, ClientAuthMethod } from './client-methods/method.ts';
import { NoneClientMethod, ResumeClientMethod } from './client-methods/none.ts';
import { PublickeyClientMethod } from './client-methods/publickey.ts';
import { PasswordClientMethod } from './client-methods/password.ts';
import { KeyboardInteractiveClientMethod } from './client-methods/keyboard-interactive.ts';
import { GssapiClientMethod, type GssapiClientOptions } from './client-methods/gssapi.ts';
import { GSSAPI_WITH_MIC } from './gssapi/gssapi-messages.ts';

export { offerAlgorithmFor } from './client-methods/publickey.ts';
export type { GssapiClientOptions } from './client-methods/gssapi.ts';
export type { AuthReply, ClientAttempt, ClientAuthContext, ClientAuthMethod } from './client-methods/method.ts';

/** ssh's default PreferredAuthentications (sshconnect2.c authmethods, as built with GSSAPI). */
export const DEFAULT_AUTH_METHODS = [GSSAPI_WITH_MIC, 'publickey', 'keyboard-interactive', 'password'];

/**
 * The methods this client implements, by name, each made for one authentication from the options; names
 * the server or PreferredAuthentications gives that are not here are passed over.
 */
const CLIENT_METHODS: ReadonlyMap<string, (options: ClientAuthOptions) => ClientAuthMethod | undefined> = new Map<
  string,
  (options: ClientAuthOptions) => ClientAuthMethod | undefined
>([
  // GSSAPIAuthentication yes (with the GSS-API addon built: GssapiClientMethod.usable).
  [GSSAPI_WITH_MIC, (options) => (options.gssapi ? new GssapiClientMethod(options.gssapi) : undefined)],
  ['publickey', (options) => new PublickeyClientMethod(options)],
  ['keyboard-interactive', (options) => new KeyboardInteractiveClientMethod(options)],
  ['password', (options) => new PasswordClientMethod(options)],
]);

/** A key the client can offer; signing may be deferred (passphrase prompt, agent round trip). */
export interface AuthKey {
  /** The key that signs; for a certificate, the certified key. */
  readonly publicKey: PublicKey;
  /** When set, this certificate is offered instead of the bare key (PROTOCOL.certkeys). */
  readonly certificate?: Certificate;
  /** Where the key came from, for messages: a file path or "agent". */
  readonly label: string;
  sign(data: Buffer, algorithm: string): Promise<Buffer>;
}

export interface KeyboardInteractivePrompt {
  prompt: string;
  echo: boolean;
}

/** A held session's credential (docs/PROTOCOL.sessions §6): tried before any other method. */
export interface ResumeAuth {
  sessionId: string;
  /** The last token the server sent; never sent itself, only a proof of it bound to this connection. */
  token: Buffer;
  /** Called once the server has answered the attempt, either way: the token is then spent. */
  onAnswered?: () => void;
}

export interface ClientAuthOptions {
  username: string;
  /** Method preference (PreferredAuthentications). */
  methods?: string[];
  /** Keys to offer, in order. May be produced lazily (e.g. loading identity files). */
  keys?: () => AsyncIterable<AuthKey> | Iterable<AuthKey>;
  /** Asks for a password; undefined means give up on passwords. Called once per attempt. */
  password?: (attempt: number) => Promise<string | undefined>;
  /** Answers keyboard-interactive prompts; undefined gives up on the method. */
  keyboardInteractive?: (name: string, instruction: string, prompts: KeyboardInteractivePrompt[]) => Promise<string[] | undefined>;
  /** PubkeyAcceptedAlgorithms: the names keys may be offered under, in preference order (default: any). */
  acceptedAlgorithms?: readonly string[];
  /** NumberOfPasswordPrompts. */
  passwordAttempts?: number;
  onBanner?: (text: string) => void;
  debug?: (message: string) => void;
  /** One line the user should see even without -v (an expired Kerberos ticket); ignored when absent. */
  notice?: (message: string) => void;
  /** GSSAPIAuthentication yes: try gssapi-with-mic (RFC 4462) with the user's Kerberos credentials. */
  gssapi?: GssapiClientOptions;
  /** Resume a held session's login without asking again (PROTOCOL.sessions §6); on failure, the usual methods. */
  resume?: ResumeAuth;
}

/** Authentication failed with every method we could try (ssh: "Permission denied (publickey,password)."). */
export class AuthenticationError extends Error {
  override readonly name = 'AuthenticationError';
  readonly methodsLeft: string[];
  constructor(methodsLeft: string[]) {
    super(`Permission denied (${methodsLeft.join(',')}).`);
    this.methodsLeft = methodsLeft;
  }
}

/**
 * Runs the ssh-userauth service to completion. Resolves on success with the packets that arrived after it
 * (they belong to the connection layer); rejects with AuthenticationError or a transport error.
 */
export async function authenticateClient(transport: Transport, options: ClientAuthOptions): Promise<Buffer[]> {
  const inbox = new PacketInbox(transport);
  const debug = options.debug ?? (() => {});

  transport.send(Buffer.from(new Writer().byte(SSH_MSG.SERVICE_REQUEST).string('ssh-userauth').finish()));
  const accept = await inbox.next();
  if (accept[0] !== SSH_MSG.SERVICE_ACCEPT) throw new ProtocolError(`expected SERVICE_ACCEPT, got message ${accept[0]}`);
  debug('SSH2_MSG_SERVICE_ACCEPT received');

  let allowed: string[] = [];
  const context: ClientAuthContext = {
    username: options.username,
    sessionId: transport.sessionId!,
    get allowed() {
      return allowed;
    },
    request: (method, body = new Writer()) => {
      const message = new Writer(256).byte(SSH_MSG.USERAUTH_REQUEST).string(options.username).string('ssh-connection').string(method);
      transport.send(Buffer.from(message.raw(body.finish()).finish()));
    },
    send: (payload) => transport.send(payload),
    nextReply: () => nextReply(inbox, options.onBanner),
    peerExtension: (name) => transport.peerExtensions.get(name),
    debug,
    notice: options.notice ?? (() => {}),
  };

  const methods = new Map<string, ClientAuthMethod>();
  for (const [name, make] of CLIENT_METHODS) {
    const method = make(options);
    if (method) methods.set(name, method);
  }
  const usable = (name: string): boolean => {
    const method = methods.get(name);
    return method !== undefined && (method.usable?.() ?? true);
  };
  const chooser = new MethodChooser(options.methods ?? DEFAULT_AUTH_METHODS, usable, debug);
  // Delayed compression was switched on by the transport when USERAUTH_SUCCESS arrived.
  const succeed = (): Buffer[] => inbox.takeRemaining();
  try {
    // RFC 4252 §5.2: "none" learns which methods may continue; a resume credential goes in its place.
    const probe = options.resume ? new ResumeClientMethod(options.resume) : new NoneClientMethod();
    const { reply } = await probe.attempt(context);
    if (reply.kind === 'success') return succeed();
    if (reply.kind !== 'failure') throw new ProtocolError(`unexpected message ${reply.payload[0]} in authentication`);
    allowed = reply.methods;
    debug(`Authentications that can continue: ${allowed.join(',')}`);

    for (;;) {
      const name = chooser.next(allowed);
      if (!name) throw new AuthenticationError(allowed);
      const attempt = await methods.get(name)!.attempt(context);
      if (!attempt || ('spent' in attempt && attempt.spent)) chooser.disable(name);
      if (!attempt || 'abandoned' in attempt) continue;
      const outcome = attempt.reply;
      if (outcome.kind === 'success') {
        debug(`Authentication succeeded (${name}).`);
        return succeed();
      }
      if (outcome.kind !== 'failure') throw new ProtocolError(`unexpected message ${outcome.payload[0]} in authentication`);
      if (outcome.partial) {
        // RFC 4252 §5.1: this step succeeded but more are required; the keys start a new round
        // (sshconnect2.c input_userauth_failure, pubkey_reset), and the method may be asked for again.
        debug(`Authenticated using "${name}" with partial success.`);
        for (const method of methods.values()) method.partialSuccess?.(name);
      }
      allowed = outcome.methods;
      debug(`Authentications that can continue: ${allowed.join(',')}`);
    }
  } finally {
    // Whatever the outcome, let the methods release what they hold (an agent connection, loaded keys).
    for (const method of methods.values()) method.close?.();
  }
}

/** Reads the next auth answer, showing banners along the way (RFC 4252 §5.4). */
async function nextReply(inbox: PacketInbox, onBanner: ((text: string) => void) | undefined): Promise<AuthReply> {
  for (;;) {
    const payload = await inbox.next();
    const type = payload[0];
    if (type === SSH_MSG.USERAUTH_BANNER) {
      // A banner may fill the packet (sshd sends the whole Banner file); the packet bounds it.
      const text = new Reader(payload, 1).text(payload.length);
      onBanner?.(text);
      continue;
    }
    if (type === SSH_MSG.USERAUTH_SUCCESS) return { kind: 'success', methods: [], partial: false, payload };
    if (type === SSH_MSG.USERAUTH_FAILURE) {
      const reader = new Reader(payload, 1);
      return { kind: 'failure', methods: reader.nameList(), partial: reader.boolean(), payload };
    }
    return { kind: 'other', methods: [], partial: false, payload };
  }
}

/**
 * The next method to try (sshconnect2.c authmethod_get): a list different from the last one starts over at
 * the head of our preference order; the same list keeps the current method for as long as it has something
 * to try. A method with nothing more to send stays disabled for the rest of the authentication.
 */
export class MethodChooser {
  private readonly preferred: readonly string[];
  private readonly implemented: (name: string) => boolean;
  private readonly debug: (message: string) => void;
  private readonly disabled = new Set<string>();
  private supported: string | undefined;
  private preferredIndex = 0;
  private current: string | undefined;

  constructor(preferred: readonly string[], implemented: (name: string) => boolean, debug: (message: string) => void) {
    this.preferred = preferred;
    this.implemented = implemented;
    this.debug = debug;
  }

  disable(name: string): void {
    this.disabled.add(name);
  }

  next(list: readonly string[]): string | undefined {
    const joined = list.join(',');
    if (joined !== this.supported) {
      this.supported = joined;
      this.preferredIndex = 0;
      this.current = undefined;
    } else if (this.current !== undefined && !this.disabled.has(this.current)) {
      return this.current;
    }
    while (this.preferredIndex < this.preferred.length) {
      const name = this.preferred[this.preferredIndex++]!;
      if (list.includes(name) && !this.disabled.has(name) && this.implemented(name)) {
        this.debug(`Next authentication method: ${name}`);
        return (this.current = name);
      }
    }
    this.debug('No more authentication methods to try.');
    return (this.current = undefined);
  }
}
