/**
 * Client side of user authentication (RFC 4252), with the methods none, publickey (RFC 4252 §7, RFC 8332
 * for RSA SHA-2 signatures), password (§8) and keyboard-interactive (RFC 4256). The order and the handling of
 * partial success follow OpenSSH: methods are tried in our preference order among those the server still
 * lists, each at most as often as it allows.
 */
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { DISCONNECT_REASON, SSH_MSG } from '../wire/message-numbers.ts';
import { ProtocolError } from '../wire/errors.ts';
import type { PublicKey } from '../keys/types.ts';
import type { Transport } from '../transport/transport.ts';
import { PacketInbox } from '../transport/inbox.ts';
import { printable } from '../transport/version.ts';

export const DEFAULT_AUTH_METHODS = ['publickey', 'keyboard-interactive', 'password'];

/** A key the client can offer; signing may be deferred (passphrase prompt, agent round trip). */
export interface AuthKey {
  readonly publicKey: PublicKey;
  /** Where the key came from, for messages: a file path or "agent". */
  readonly label: string;
  sign(data: Buffer, algorithm: string): Promise<Buffer>;
}

export interface KeyboardInteractivePrompt {
  prompt: string;
  echo: boolean;
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
  /** NumberOfPasswordPrompts. */
  passwordAttempts?: number;
  onBanner?: (text: string) => void;
  debug?: (message: string) => void;
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

interface AuthReply {
  kind: 'success' | 'failure' | 'other';
  methods: string[];
  partial: boolean;
  payload: Buffer;
}

/**
 * Runs the ssh-userauth service to completion. Resolves on success with the packets that arrived after it
 * (they belong to the connection layer); rejects with AuthenticationError or a transport error.
 */
export async function authenticateClient(transport: Transport, options: ClientAuthOptions): Promise<Buffer[]> {
  const inbox = new PacketInbox(transport);
  const debug = options.debug ?? (() => {});
  const sessionId = transport.sessionId!;

  transport.send(Buffer.from(new Writer().byte(SSH_MSG.SERVICE_REQUEST).string('ssh-userauth').finish()));
  const accept = await inbox.next();
  if (accept[0] !== SSH_MSG.SERVICE_ACCEPT) throw new ProtocolError(`expected SERVICE_ACCEPT, got message ${accept[0]}`);
  debug('SSH2_MSG_SERVICE_ACCEPT received');

  /** Reads the next auth answer, showing banners along the way (RFC 4252 §5.4). */
  const nextReply = async (): Promise<AuthReply> => {
    for (;;) {
      const payload = await inbox.next();
      const type = payload[0];
      if (type === SSH_MSG.USERAUTH_BANNER) {
        const text = new Reader(payload, 1).text(64 * 1024);
        options.onBanner?.(text);
        continue;
      }
      if (type === SSH_MSG.USERAUTH_SUCCESS) return { kind: 'success', methods: [], partial: false, payload };
      if (type === SSH_MSG.USERAUTH_FAILURE) {
        const reader = new Reader(payload, 1);
        return { kind: 'failure', methods: reader.nameList(), partial: reader.boolean(), payload };
      }
      return { kind: 'other', methods: [], partial: false, payload };
    }
  };

  const request = (method: string, body: Writer = new Writer()): void => {
    const message = new Writer(256).byte(SSH_MSG.USERAUTH_REQUEST).string(options.username).string('ssh-connection').string(method);
    transport.send(Buffer.from(message.raw(body.finish()).finish()));
  };

  const preferred = options.methods ?? DEFAULT_AUTH_METHODS;
  const exhausted = new Set<string>();
  let keyIterator: AsyncIterator<AuthKey> | Iterator<AuthKey> | undefined;
  let passwordAttempt = 0;
  let kbdFailures = 0;

  // Delayed compression was switched on by the transport when USERAUTH_SUCCESS arrived.
  const succeed = (): Buffer[] => inbox.takeRemaining();

  let allowed: string[] = [];
  try {
    // RFC 4252 §5.2: "none" learns which methods may continue.
    request('none');
    const reply = await nextReply();
    if (reply.kind === 'success') return succeed();
    if (reply.kind !== 'failure') throw new ProtocolError(`unexpected message ${reply.payload[0]} in authentication`);
    allowed = reply.methods;

    for (;;) {
      debug(`Authentications that can continue: ${allowed.join(',')}`);
      const method = preferred.find((name) => allowed.includes(name) && !exhausted.has(name));
      if (!method) throw new AuthenticationError(allowed);
      debug(`Next authentication method: ${method}`);
      let outcome: AuthReply | undefined;

      if (method === 'publickey') {
        keyIterator ??= iteratorOf(options.keys?.() ?? []);
        outcome = await tryNextKey();
      } else if (method === 'password') {
        outcome = await tryPassword();
      } else if (method === 'keyboard-interactive') {
        outcome = await tryKeyboardInteractive();
      } else {
        exhausted.add(method);
      }

      if (!outcome) continue;
      if (outcome.kind === 'success') {
        debug(`Authentication succeeded (${method}).`);
        return succeed();
      }
      if (outcome.kind !== 'failure') throw new ProtocolError(`unexpected message ${outcome.payload[0]} in authentication`);
      if (outcome.partial) {
        // RFC 4252 §5.1: this method succeeded but more are required.
        debug(`Authenticated using "${method}" with partial success.`);
        exhausted.add(method);
        if (method === 'publickey') keyIterator = undefined;
      }
      allowed = outcome.methods;
    }
  } finally {
    // Whatever the outcome, let the key source release what it holds (an agent connection, loaded keys).
    void keyIterator?.return?.();
  }

  /** Offers keys one at a time until one is accepted or the keys run out. */
  async function tryNextKey(): Promise<AuthReply | undefined> {
    for (;;) {
      const step = await keyIterator!.next();
      if (step.done) {
        exhausted.add('publickey');
        return undefined;
      }
      const key = step.value;
      const algorithm = signatureAlgorithmFor(key.publicKey, transport);
      debug(`Offering public key: ${key.label} ${key.publicKey.type}`);
      // RFC 4252 §7: ask first without a signature, so a passphrase is only requested for a key the
      // server would accept.
      request('publickey', new Writer().boolean(false).string(algorithm).string(key.publicKey.blob));
      const answer = await nextReply();
      if (answer.kind === 'failure') {
        allowed = answer.methods;
        if (!allowed.includes('publickey')) return answer;
        continue;
      }
      if (answer.kind === 'success') return answer;
      if (answer.payload[0] !== SSH_MSG.USERAUTH_PK_OK) throw new ProtocolError(`unexpected message ${answer.payload[0]} in publickey authentication`);
      debug(`Server accepts key: ${key.label} ${key.publicKey.type}`);
      const signedData = new Writer(512)
        .string(sessionId)
        .byte(SSH_MSG.USERAUTH_REQUEST)
        .string(options.username)
        .string('ssh-connection')
        .string('publickey')
        .boolean(true)
        .string(algorithm)
        .string(key.publicKey.blob)
        .finish();
      let signature: Buffer;
      try {
        signature = await key.sign(Buffer.from(signedData), algorithm);
      } catch (error) {
        debug(`signing with ${key.label} failed: ${(error as Error).message}`);
        continue;
      }
      request('publickey', new Writer().boolean(true).string(algorithm).string(key.publicKey.blob).string(signature));
      const result = await nextReply();
      if (result.kind === 'failure' && !result.partial && result.methods.includes('publickey')) {
        allowed = result.methods;
        continue;
      }
      return result;
    }
  }

  async function tryPassword(): Promise<AuthReply | undefined> {
    const attempts = options.passwordAttempts ?? 3;
    if (!options.password || passwordAttempt >= attempts) {
      exhausted.add('password');
      return undefined;
    }
    const password = await options.password(passwordAttempt++);
    if (password === undefined) {
      exhausted.add('password');
      return undefined;
    }
    request('password', new Writer().boolean(false).string(password));
    const answer = await nextReply();
    if (answer.kind === 'other' && answer.payload[0] === SSH_MSG.USERAUTH_PASSWD_CHANGEREQ) {
      // Changing an expired password is not supported; treat it as a failed attempt.
      exhausted.add('password');
      return { kind: 'failure', methods: allowed, partial: false, payload: answer.payload };
    }
    if (answer.kind === 'failure' && !answer.partial) debug('Permission denied, please try again.');
    return answer;
  }

  async function tryKeyboardInteractive(): Promise<AuthReply | undefined> {
    if (!options.keyboardInteractive) {
      exhausted.add('keyboard-interactive');
      return undefined;
    }
    // RFC 4256 §3.1: language tag and submethods, both empty.
    request('keyboard-interactive', new Writer().string('').string(''));
    let rounds = 0;
    for (;;) {
      const answer = await nextReply();
      if (answer.kind !== 'other') {
        if (answer.kind === 'failure' && !answer.partial && ++kbdFailures >= (options.passwordAttempts ?? 3)) {
          exhausted.add('keyboard-interactive');
        }
        return answer;
      }
      if (answer.payload[0] !== SSH_MSG.USERAUTH_INFO_REQUEST) {
        throw new ProtocolError(`unexpected message ${answer.payload[0]} in keyboard-interactive`);
      }
      if (++rounds > 64) throw new ProtocolError('too many keyboard-interactive rounds', DISCONNECT_REASON.PROTOCOL_ERROR);
      const reader = new Reader(answer.payload, 1);
      const name = printable(reader.text(1024), 1024);
      const instruction = printable(reader.text(8192), 8192);
      reader.text(256); // language tag, deprecated
      const count = reader.uint32();
      if (count > 64) throw new ProtocolError('too many keyboard-interactive prompts');
      const prompts: KeyboardInteractivePrompt[] = [];
      for (let i = 0; i < count; i++) prompts.push({ prompt: printable(reader.text(1024), 1024), echo: reader.boolean() });
      const responses = count === 0 ? [] : await options.keyboardInteractive!(name, instruction, prompts);
      if (responses === undefined) {
        exhausted.add('keyboard-interactive');
        // Answering with no responses ends this round politely; the server replies with FAILURE.
        transport.send(Buffer.from(new Writer().byte(SSH_MSG.USERAUTH_INFO_RESPONSE).uint32(0).finish()));
        continue;
      }
      const response = new Writer().byte(SSH_MSG.USERAUTH_INFO_RESPONSE).uint32(responses.length);
      for (const text of responses) response.string(text);
      transport.send(Buffer.from(response.finish()));
    }
  }
}


function iteratorOf<T>(source: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> | Iterator<T> {
  return Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (source as Iterable<T>)[Symbol.iterator]();
}

/**
 * RSA keys sign with SHA-2 when the server announced it accepts that (RFC 8332 §3.3, RFC 8308 server-sig-algs),
 * and with ssh-rsa otherwise, as OpenSSH does.
 */
function signatureAlgorithmFor(key: PublicKey, transport: Transport): string {
  if (key.type !== 'ssh-rsa') return key.signatureAlgorithms[0]!;
  const announced = transport.peerExtensions.get('server-sig-algs')?.toString('latin1').split(',') ?? [];
  return ['rsa-sha2-512', 'rsa-sha2-256'].find((alg) => announced.includes(alg)) ?? 'ssh-rsa';
}
