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
import { certificateAlgorithm, plainAlgorithmOf, type Certificate } from '../keys/certificate.ts';
import type { Transport } from '../transport/transport.ts';
import { PacketInbox } from '../transport/inbox.ts';
import { printable } from '../transport/version.ts';
import { KeyQueue } from './key-queue.ts';

export const DEFAULT_AUTH_METHODS = ['publickey', 'keyboard-interactive', 'password'];

/** The methods this client implements; others the server or PreferredAuthentications names are passed over. */
const METHODS = new Set(DEFAULT_AUTH_METHODS);

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
        // A banner may fill the packet (sshd sends the whole Banner file); the packet bounds it.
        const text = new Reader(payload, 1).text(payload.length);
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
  /** Methods that have nothing more to send (sshconnect2.c userauth: "we did not send a packet, disable method"). */
  const disabled = new Set<string>();
  const keys = new KeyQueue(() => options.keys?.() ?? []);
  /** The key the last publickey request was about, so a partial success knows which one was taken. */
  let lastKey: AuthKey | undefined;
  let passwordAttempt = 0;
  let kbdFailures = 0;

  // Delayed compression was switched on by the transport when USERAUTH_SUCCESS arrived.
  const succeed = (): Buffer[] => inbox.takeRemaining();

  // sshconnect2.c authmethod_get: a list different from the last one starts over at the head of our
  // preference order; the same list keeps the current method for as long as it has something to try.
  let supported: string | undefined;
  let preferredIndex = 0;
  let current: string | undefined;
  const nextMethod = (list: string[]): string | undefined => {
    const joined = list.join(',');
    if (joined !== supported) {
      supported = joined;
      preferredIndex = 0;
      current = undefined;
    } else if (current !== undefined && !disabled.has(current)) {
      return current;
    }
    while (preferredIndex < preferred.length) {
      const name = preferred[preferredIndex++]!;
      if (list.includes(name) && !disabled.has(name) && METHODS.has(name)) {
        debug(`Next authentication method: ${name}`);
        return (current = name);
      }
    }
    debug('No more authentication methods to try.');
    return (current = undefined);
  };

  let allowed: string[] = [];
  try {
    // RFC 4252 §5.2: "none" learns which methods may continue.
    request('none');
    const reply = await nextReply();
    if (reply.kind === 'success') return succeed();
    if (reply.kind !== 'failure') throw new ProtocolError(`unexpected message ${reply.payload[0]} in authentication`);
    allowed = reply.methods;
    debug(`Authentications that can continue: ${allowed.join(',')}`);

    for (;;) {
      const method = nextMethod(allowed);
      if (!method) throw new AuthenticationError(allowed);
      lastKey = undefined;
      let outcome: AuthReply | undefined;
      if (method === 'publickey') outcome = await tryNextKey();
      else if (method === 'password') outcome = await tryPassword();
      else outcome = await tryKeyboardInteractive();

      if (!outcome) {
        disabled.add(method);
        continue;
      }
      if (outcome.kind === 'success') {
        debug(`Authentication succeeded (${method}).`);
        return succeed();
      }
      if (outcome.kind !== 'failure') throw new ProtocolError(`unexpected message ${outcome.payload[0]} in authentication`);
      if (outcome.partial) {
        // RFC 4252 §5.1: this step succeeded but more are required; the keys start a new round
        // (sshconnect2.c input_userauth_failure, pubkey_reset), and the method may be asked for again.
        debug(`Authenticated using "${method}" with partial success.`);
        keys.partialSuccess(method === 'publickey' ? lastKey : undefined);
      }
      allowed = outcome.methods;
      debug(`Authentications that can continue: ${allowed.join(',')}`);
    }
  } finally {
    // Whatever the outcome, let the key source release what it holds (an agent connection, loaded keys).
    keys.close();
  }

  /**
   * Offers the next key of this round (sshconnect2.c userauth_pubkey); resolves with the server's verdict on
   * it, or undefined when no key is left to offer. A key whose signature cannot be made is passed over.
   */
  async function tryNextKey(): Promise<AuthReply | undefined> {
    const serverSigAlgs = transport.peerExtensions.get('server-sig-algs')?.toString('latin1').split(',');
    for (;;) {
      const key = await keys.next();
      if (!key) return undefined;
      lastKey = key;
      // A certificate goes under its own name for the same signature algorithm (PROTOCOL.certkeys); the
      // signature inside is still the certified key's.
      const chosen = offerAlgorithmFor(key.publicKey, key.certificate !== undefined, serverSigAlgs, options.acceptedAlgorithms);
      if (!chosen) {
        debug(`Skipping ${key.certificate?.type ?? key.publicKey.type} key ${key.label} - corresponding algorithm not in PubkeyAcceptedAlgorithms`);
        continue;
      }
      const { offer: algorithm, signature: signatureAlgorithm } = chosen;
      const blob = key.certificate?.blob ?? key.publicKey.blob;
      debug(`Offering public key: ${key.label} ${key.certificate?.type ?? key.publicKey.type}`);
      // RFC 4252 §7: ask first without a signature, so a passphrase is only requested for a key the
      // server would accept.
      request('publickey', new Writer().boolean(false).string(algorithm).string(blob));
      const answer = await nextReply();
      if (answer.kind !== 'other') return answer;
      if (answer.payload[0] !== SSH_MSG.USERAUTH_PK_OK) throw new ProtocolError(`unexpected message ${answer.payload[0]} in publickey authentication`);
      debug(`Server accepts key: ${key.label} ${key.certificate?.type ?? key.publicKey.type}`);
      const signedData = new Writer(512)
        .string(sessionId)
        .byte(SSH_MSG.USERAUTH_REQUEST)
        .string(options.username)
        .string('ssh-connection')
        .string('publickey')
        .boolean(true)
        .string(algorithm)
        .string(blob)
        .finish();
      let signature: Buffer;
      try {
        signature = await key.sign(Buffer.from(signedData), signatureAlgorithm);
      } catch (error) {
        debug(`signing with ${key.label} failed: ${(error as Error).message}`);
        continue;
      }
      request('publickey', new Writer().boolean(true).string(algorithm).string(blob).string(signature));
      return nextReply();
    }
  }

  async function tryPassword(): Promise<AuthReply | undefined> {
    const attempts = options.passwordAttempts ?? 3;
    if (!options.password || passwordAttempt >= attempts) return undefined;
    const password = await options.password(passwordAttempt++);
    if (password === undefined) return undefined;
    request('password', new Writer().boolean(false).string(password));
    const answer = await nextReply();
    if (answer.kind === 'other' && answer.payload[0] === SSH_MSG.USERAUTH_PASSWD_CHANGEREQ) {
      // Changing an expired password is not supported; treat it as a failed attempt.
      disabled.add('password');
      return { kind: 'failure', methods: allowed, partial: false, payload: answer.payload };
    }
    if (answer.kind === 'failure' && !answer.partial) debug('Permission denied, please try again.');
    return answer;
  }

  async function tryKeyboardInteractive(): Promise<AuthReply | undefined> {
    if (!options.keyboardInteractive || kbdFailures >= (options.passwordAttempts ?? 3)) return undefined;
    // RFC 4256 §3.1: language tag and submethods, both empty.
    request('keyboard-interactive', new Writer().string('').string(''));
    let rounds = 0;
    for (;;) {
      const answer = await nextReply();
      if (answer.kind !== 'other') {
        if (answer.kind === 'failure' && !answer.partial) kbdFailures++;
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
        disabled.add('keyboard-interactive');
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


/**
 * The algorithm a key is offered under (sshconnect2.c key_sig_algorithm), or undefined when
 * PubkeyAcceptedAlgorithms leaves it none. Only RSA has a choice: our accepted list, in our order, intersected
 * with the server's server-sig-algs (RFC 8332 §3.3, RFC 8308); a server that sent none gets the key's own name
 * (ssh-rsa) if that is accepted. A certificate goes under its certificate name (PROTOCOL.certkeys).
 */
export function offerAlgorithmFor(
  key: PublicKey,
  certified: boolean,
  serverSigAlgs: readonly string[] | undefined,
  accepted: readonly string[] | undefined,
): { offer: string; signature: string } | undefined {
  const isAccepted = (name: string) => accepted === undefined || accepted.includes(name);
  const named = (signature: string) => ({ offer: certified ? certificateAlgorithm(signature) : signature, signature });
  if (key.type !== 'ssh-rsa' || serverSigAlgs === undefined) {
    const signature = key.type === 'ssh-rsa' ? 'ssh-rsa' : key.signatureAlgorithms[0]!;
    return isAccepted(named(signature).offer) ? named(signature) : undefined;
  }
  const preference = accepted ?? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'].flatMap((alg) => (certified ? [certificateAlgorithm(alg)] : [alg]));
  for (const offer of preference) {
    const signature = certified ? plainAlgorithmOf(offer) : offer;
    if (signature === undefined || !key.signatureAlgorithms.includes(signature)) continue;
    // server-sig-algs names plain signature algorithms only, certificates included (kex.c kex_send_ext_info).
    if (named(signature).offer === offer && serverSigAlgs.includes(signature)) return named(signature);
  }
  return undefined;
}
