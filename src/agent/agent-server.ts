/**
 * The agent side of the ssh-agent protocol (draft-miller-ssh-agent §4). An AgentServer owns the keys and
 * the lock; `serve(stream)` answers one client over any Duplex: a Unix socket connection (tether agent), an
 * in-process pipe (tests), or an SSH channel of type auth-agent@openssh.com (agent forwarding).
 *
 * Each connection is served strictly in order, one request at a time: reading pauses while a request is
 * being answered and while the answer has not drained, so a client that floods us without reading holds at
 * most one chunk of input and one answer. A malformed request gets SSH_AGENT_FAILURE; a broken frame (length
 * 0 or above 256 KiB) closes that connection only.
 */
import { fingerprint } from '../keys/fingerprint.ts';
import { decodePrivateKeyFields } from '../keys/private-key-fields.ts';
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import type { Duplex } from 'node:stream';
import { AgentLock } from './agent-lock.ts';
import { askpassConfirm, type ConfirmFunction } from './confirm.ts';
import { IdentityStore, type IdentityConstraints, type StoredIdentity } from './identity-store.ts';
import {
  AGENT_MSG,
  CONSTRAIN,
  frameMessage,
  MessageDeframer,
  rsaAlgorithmForFlags,
  SUPPORTED_EXTENSIONS,
} from './protocol.ts';

export interface AgentServerOptions {
  /** Lifetime in seconds for keys added without one (ssh-agent -t); 0 or undefined = forever. */
  defaultLifetime?: number;
  /** Asks the user to allow one use of a "confirm" key; default: SSH_ASKPASS as ssh-agent does. */
  confirm?: ConfirmFunction;
  /** Debug log lines (ssh-agent -d); never given key material or passphrases. */
  debug?: (message: string) => void;
}

/** A request the agent refuses: answered with SSH_AGENT_FAILURE (the reason goes to the debug log only). */
class Refused extends Error {
  override readonly name = 'Refused';
}

const FAILURE = Buffer.from([AGENT_MSG.FAILURE]);
const SUCCESS = Buffer.from([AGENT_MSG.SUCCESS]);
/** Lock passphrases are short secrets; anything longer is refused rather than hashed. */
const MAX_PASSPHRASE = 1024;

export class AgentServer {
  readonly identities = new IdentityStore();
  private readonly lock = new AgentLock();
  private readonly options: AgentServerOptions;
  private readonly connections = new Set<Duplex>();
  private readonly confirm: ConfirmFunction;

  constructor(options: AgentServerOptions = {}) {
    this.options = options;
    this.confirm = options.confirm ?? askpassConfirm();
  }

  get locked(): boolean {
    return this.lock.locked;
  }

  /** Number of connections being served. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Serves one client on `stream` until it ends; errors on the stream end that client only. */
  serve(stream: Duplex): void {
    const deframer = new MessageDeframer();
    const queue: Buffer[] = [];
    let busy = false;
    this.connections.add(stream);

    const close = (reason?: string) => {
      if (reason) this.debug(`closing agent client: ${reason}`);
      this.connections.delete(stream);
      stream.destroy();
    };
    const pump = async () => {
      if (busy) return;
      busy = true;
      stream.pause();
      try {
        while (queue.length > 0 && !stream.destroyed) {
          const answer = await this.handle(queue.shift()!);
          if (stream.destroyed) break;
          if (!stream.write(frameMessage(answer))) {
            await new Promise<void>((resolve) => {
              stream.once('drain', resolve);
              stream.once('close', resolve);
            });
          }
        }
      } finally {
        busy = false;
        if (!stream.destroyed) stream.resume();
      }
    };

    stream.on('data', (chunk: Buffer) => {
      try {
        queue.push(...deframer.push(chunk));
      } catch (error) {
        close((error as Error).message);
        return;
      }
      void pump().catch((error: unknown) => close((error as Error).message));
    });
    stream.on('end', () => {
      // The client half-closed: answer what it sent, then close (ssh-agent drops the socket on EOF).
      void pump().finally(() => close());
    });
    stream.on('error', (error) => close(error.message));
    stream.on('close', () => this.connections.delete(stream));
  }

  /** Closes every client and forgets every key. */
  shutdown(): void {
    for (const stream of this.connections) stream.destroy();
    this.connections.clear();
    this.identities.removeAll();
  }

  /**
   * Answers one request (type byte + contents) with the response body. Never throws: anything malformed
   * or refused becomes SSH_AGENT_FAILURE.
   */
  async handle(message: Buffer): Promise<Buffer> {
    const type = message[0]!;
    const reader = new Reader(message, 1);
    try {
      if (this.lock.locked && type !== AGENT_MSG.UNLOCK) {
        // §4.6: a locked agent lists no keys and refuses every other operation.
        if (type === AGENT_MSG.REQUEST_IDENTITIES) return this.identitiesAnswer([]);
        throw new Refused('agent is locked');
      }
      switch (type) {
        case AGENT_MSG.REQUEST_IDENTITIES:
          reader.end('REQUEST_IDENTITIES');
          return this.identitiesAnswer(this.identities.list());
        case AGENT_MSG.SIGN_REQUEST:
          return await this.sign(reader);
        case AGENT_MSG.ADD_IDENTITY:
        case AGENT_MSG.ADD_ID_CONSTRAINED:
          return this.add(reader);
        case AGENT_MSG.REMOVE_IDENTITY: {
          const blob = reader.string();
          reader.end('REMOVE_IDENTITY');
          if (!this.identities.remove(blob)) throw new Refused('key not found');
          return SUCCESS;
        }
        case AGENT_MSG.REMOVE_ALL_IDENTITIES:
          this.identities.removeAll();
          this.debug('removed all identities');
          return SUCCESS;
        case AGENT_MSG.LOCK: {
          const passphrase = reader.string(MAX_PASSPHRASE);
          reader.end('LOCK');
          if (!this.lock.lock(passphrase)) throw new Refused('already locked');
          this.debug('agent locked');
          return SUCCESS;
        }
        case AGENT_MSG.UNLOCK: {
          const passphrase = reader.string(MAX_PASSPHRASE);
          reader.end('UNLOCK');
          if (!this.lock.locked) throw new Refused('agent is not locked');
          if (!(await this.lock.unlock(passphrase))) throw new Refused('unlock failed');
          this.debug('agent unlocked');
          return SUCCESS;
        }
        case AGENT_MSG.EXTENSION:
          return this.extension(reader);
        default:
          throw new Refused(`unsupported message type ${type}`);
      }
    } catch (error) {
      this.debug(`request type ${type} failed: ${(error as Error).message}`);
      return FAILURE;
    }
  }

  /** §4.4 SSH_AGENT_IDENTITIES_ANSWER: uint32 nkeys, then (string key blob, string comment) each. */
  private identitiesAnswer(identities: readonly StoredIdentity[]): Buffer {
    const writer = new Writer(1024).byte(AGENT_MSG.IDENTITIES_ANSWER).uint32(identities.length);
    for (const identity of identities) writer.string(identity.key.publicKey.blob).string(identity.comment);
    return Buffer.from(writer.finish());
  }

  /** §4.5 SIGN_REQUEST: string key blob, string data, uint32 flags. */
  private async sign(reader: Reader): Promise<Buffer> {
    const blob = reader.string();
    const data = reader.string();
    const flags = reader.uint32();
    reader.end('SIGN_REQUEST');
    const identity = this.identities.find(blob);
    if (!identity) throw new Refused('sign request for a key we do not hold');
    const key = identity.key;
    // §5.3: for RSA keys the flags choose the hash; without them the signature is ssh-rsa (SHA-1).
    const algorithm = key.publicKey.type === 'ssh-rsa' ? (rsaAlgorithmForFlags(flags) ?? 'ssh-rsa') : undefined;
    if (identity.confirm) {
      const prompt = `Allow use of key ${identity.comment}?\nKey fingerprint ${fingerprint(blob, 'sha256')}.`;
      if (!(await this.confirm(prompt))) throw new Refused('user refused the use of the key');
      // The key may have been removed or the agent locked while the user was deciding.
      if (this.lock.locked || !this.identities.find(blob)) throw new Refused('key gone during confirmation');
    }
    const signature = key.sign(data, algorithm);
    this.debug(`signed with ${fingerprint(blob, 'sha256')} (${algorithm ?? key.publicKey.type})`);
    return Buffer.from(new Writer(signature.length + 16).byte(AGENT_MSG.SIGN_RESPONSE).string(signature).finish());
  }

  /** §4.2.3 ADD_IDENTITY and §4.2.6 ADD_ID_CONSTRAINED: key fields, comment, then constraints. */
  private add(reader: Reader): Buffer {
    const key = decodePrivateKeyFields(reader);
    const constraints = this.readConstraints(reader);
    const lifetime = constraints.lifetime || this.options.defaultLifetime || 0;
    this.identities.add(key, key.comment, { lifetime, confirm: constraints.confirm ?? false });
    this.debug(`added ${fingerprint(key.publicKey.blob, 'sha256')}${lifetime ? ` (lifetime ${lifetime}s)` : ''}${constraints.confirm ? ' (confirm)' : ''}`);
    return SUCCESS;
  }

  private readConstraints(reader: Reader): IdentityConstraints {
    const constraints: IdentityConstraints = {};
    while (reader.remaining > 0) {
      const kind = reader.byte();
      if (kind === CONSTRAIN.LIFETIME) constraints.lifetime = reader.uint32();
      else if (kind === CONSTRAIN.CONFIRM) constraints.confirm = true;
      else if (kind === CONSTRAIN.EXTENSION) throw new Refused(`unsupported constraint extension ${reader.text(256)}`);
      else throw new Refused(`unsupported constraint ${kind}`);
    }
    return constraints;
  }

  /** §4.7: only "query" is answered (SUCCESS, then the supported extension names); others fail. */
  private extension(reader: Reader): Buffer {
    const name = reader.text(256);
    if (name !== 'query') throw new Refused(`unsupported extension ${name}`);
    const writer = new Writer().byte(AGENT_MSG.SUCCESS);
    for (const supported of SUPPORTED_EXTENSIONS) writer.string(supported);
    return Buffer.from(writer.finish());
  }

  private debug(message: string): void {
    this.options.debug?.(message);
  }
}
