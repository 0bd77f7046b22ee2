/**
 * The client side of the ssh-agent protocol (draft-miller-ssh-agent §4) over any Duplex: the Unix socket
 * named by SSH_AUTH_SOCK (connectAgent), an in-process pipe, or a forwarded agent channel. Requests are
 * answered in order, so the client keeps a FIFO of waiting requests and matches each answer to the oldest.
 */
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { writePrivateKeyFields } from '../keys/private-key-fields.ts';
import { parsePublicKeyBlob, type SshPublicKey } from '../keys/public-key.ts';
import type { PrivateKey, PublicKey } from '../keys/types.ts';
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { AGENT_MSG, CONSTRAIN, frameMessage, MessageDeframer } from './protocol.ts';

/** One key the agent holds. `publicKey` is undefined for key types we cannot parse (certificates, sk keys). */
export interface AgentIdentity {
  readonly blob: Buffer;
  readonly comment: string;
  readonly publicKey: SshPublicKey | undefined;
}

export interface AddOptions {
  /** Seconds before the agent forgets the key (ADD_ID_CONSTRAINED lifetime); 0 or undefined = forever. */
  lifetime?: number;
  /** The agent must ask before each use. */
  confirm?: boolean;
  /** Comment to store instead of the key's own. */
  comment?: string;
}

/** The agent answered SSH_AGENT_FAILURE (or something unexpected) to `operation`. */
export class AgentRequestError extends Error {
  override readonly name = 'AgentRequestError';
  readonly operation: string;
  constructor(operation: string, message = `agent refused operation`) {
    super(message);
    this.operation = operation;
  }
}

/** The agent socket could not be reached; `code` is the errno name (ENOENT, ECONNREFUSED, …). */
export class AgentConnectError extends Error {
  override readonly name = 'AgentConnectError';
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.code = code;
  }
}

/** The connection to the agent ended before it answered. */
export class AgentConnectionClosedError extends Error {
  override readonly name = 'AgentConnectionClosedError';
}

interface Waiter {
  resolve(body: Buffer): void;
  reject(error: Error): void;
}

export class AgentClient {
  private readonly stream: Duplex;
  private readonly waiting: Waiter[] = [];
  private readonly deframer = new MessageDeframer();
  private failure: Error | undefined;

  constructor(stream: Duplex) {
    this.stream = stream;
    stream.on('data', (chunk: Buffer) => {
      let messages: Buffer[];
      try {
        messages = this.deframer.push(chunk);
      } catch (error) {
        this.fail(error as Error);
        return;
      }
      for (const message of messages) {
        const waiter = this.waiting.shift();
        if (!waiter) {
          this.fail(new AgentRequestError('read', 'agent sent an answer nobody asked for'));
          return;
        }
        waiter.resolve(message);
      }
    });
    stream.on('error', (error) => this.fail(error));
    stream.on('close', () => this.fail(new AgentConnectionClosedError('agent connection closed')));
    stream.on('end', () => this.fail(new AgentConnectionClosedError('agent connection closed')));
  }

  /** Sends one request body (type byte + contents) and resolves with the answer body. */
  request(body: Buffer): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.stream.write(frameMessage(body));
    });
  }

  /** §4.4 REQUEST_IDENTITIES. */
  async list(): Promise<AgentIdentity[]> {
    const answer = await this.request(Buffer.from([AGENT_MSG.REQUEST_IDENTITIES]));
    if (answer[0] !== AGENT_MSG.IDENTITIES_ANSWER) throw new AgentRequestError('list', 'agent refused to list identities');
    const reader = new Reader(answer, 1);
    const count = reader.uint32();
    const identities: AgentIdentity[] = [];
    for (let index = 0; index < count; index++) {
      const blob = Buffer.from(reader.string());
      const comment = reader.text();
      let publicKey: SshPublicKey | undefined;
      try {
        publicKey = parsePublicKeyBlob(blob);
      } catch {
        publicKey = undefined;
      }
      identities.push({ blob, comment, publicKey });
    }
    reader.end('IDENTITIES_ANSWER');
    return identities;
  }

  /**
   * §4.5 SIGN_REQUEST; resolves with the SSH signature encoding (string algorithm, string blob). `flags` are
   * SIGN_FLAG bits (rsa-sha2-256/512 for RSA keys).
   */
  async sign(publicKey: PublicKey | Buffer, data: Buffer, flags = 0): Promise<Buffer> {
    const blob = Buffer.isBuffer(publicKey) ? publicKey : publicKey.blob;
    const message = new Writer(blob.length + data.length + 32).byte(AGENT_MSG.SIGN_REQUEST).string(blob).string(data).uint32(flags);
    const answer = await this.request(Buffer.from(message.finish()));
    if (answer[0] !== AGENT_MSG.SIGN_RESPONSE) throw new AgentRequestError('sign', 'agent refused operation');
    const reader = new Reader(answer, 1);
    const signature = Buffer.from(reader.string());
    reader.end('SIGN_RESPONSE');
    return signature;
  }

  /** §4.2.3 ADD_IDENTITY, or §4.2.6 ADD_ID_CONSTRAINED when a lifetime or confirmation is asked for. */
  async add(key: PrivateKey, options: AddOptions = {}): Promise<void> {
    const lifetime = options.lifetime ?? 0;
    const constrained = lifetime > 0 || options.confirm === true;
    const writer = new Writer(4096).byte(constrained ? AGENT_MSG.ADD_ID_CONSTRAINED : AGENT_MSG.ADD_IDENTITY);
    const keyWithComment =
      options.comment !== undefined && 'withComment' in key
        ? (key as PrivateKey & { withComment(comment: string): PrivateKey }).withComment(options.comment)
        : key;
    writePrivateKeyFields(keyWithComment, writer);
    if (lifetime > 0) writer.byte(CONSTRAIN.LIFETIME).uint32(lifetime);
    if (options.confirm) writer.byte(CONSTRAIN.CONFIRM);
    const body = Buffer.from(writer.finish());
    try {
      await this.expectSuccess(body, 'add');
    } finally {
      // The message held the private key in the clear: do not leave it in our heap longer than needed.
      body.fill(0);
    }
  }

  /** §4.3 REMOVE_IDENTITY. */
  remove(publicKey: PublicKey | Buffer): Promise<void> {
    const blob = Buffer.isBuffer(publicKey) ? publicKey : publicKey.blob;
    return this.expectSuccess(Buffer.from(new Writer().byte(AGENT_MSG.REMOVE_IDENTITY).string(blob).finish()), 'remove');
  }

  /** §4.3 REMOVE_ALL_IDENTITIES. */
  removeAll(): Promise<void> {
    return this.expectSuccess(Buffer.from([AGENT_MSG.REMOVE_ALL_IDENTITIES]), 'removeAll');
  }

  /** §4.6 LOCK. */
  lock(passphrase: string | Buffer): Promise<void> {
    return this.expectSuccess(Buffer.from(new Writer().byte(AGENT_MSG.LOCK).string(passphrase).finish()), 'lock');
  }

  /** §4.6 UNLOCK. */
  unlock(passphrase: string | Buffer): Promise<void> {
    return this.expectSuccess(Buffer.from(new Writer().byte(AGENT_MSG.UNLOCK).string(passphrase).finish()), 'unlock');
  }

  /** §4.7 EXTENSION: resolves with the whole answer body (SUCCESS + extension data). */
  async extension(name: string, contents: Buffer = Buffer.alloc(0)): Promise<Buffer> {
    const answer = await this.request(Buffer.from(new Writer().byte(AGENT_MSG.EXTENSION).string(name).raw(contents).finish()));
    if (answer[0] !== AGENT_MSG.SUCCESS) throw new AgentRequestError('extension', `agent does not support extension ${name}`);
    return answer;
  }

  close(): void {
    this.stream.end();
    this.stream.destroy();
  }

  private async expectSuccess(body: Buffer, operation: string): Promise<void> {
    const answer = await this.request(body);
    if (answer.length !== 1 || answer[0] !== AGENT_MSG.SUCCESS) throw new AgentRequestError(operation);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiting.splice(0)) waiter.reject(this.failure);
    if (!this.stream.destroyed) this.stream.destroy();
  }
}

/** Connects to the agent listening on the Unix socket `path` (SSH_AUTH_SOCK). */
export function connectAgent(path: string): Promise<AgentClient> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ path });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      reject(new AgentConnectError(describeErrno(error), error.code));
    });
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(new AgentClient(socket));
    });
  });
}

/** strerror()-style text for the errors a connect() to a Unix socket can give, as ssh-add prints them. */
function describeErrno(error: NodeJS.ErrnoException): string {
  const texts: Record<string, string> = {
    ENOENT: 'No such file or directory',
    ECONNREFUSED: 'Connection refused',
    EACCES: 'Permission denied',
    ENOTSOCK: 'Socket operation on non-socket',
    ENOTDIR: 'Not a directory',
  };
  return (error.code && texts[error.code]) ?? error.message;
}
