/**
 * The client end of a control socket (PROTOCOL.mux, as mux.c's muxclient speaks it): hello exchange, then
 * one request at a time with its reply matched by request id. Sessions and stdio forwards pass descriptors
 * (§2, §3); proxy mode hands the socket over to SSH packets (§9).
 */
import { DecodeError } from '../../wire/errors.ts';
import { MuxSocket } from './mux-socket.ts';
import {
  MUX_VERSION,
  decodeServerMessage,
  encodeClientMessage,
  type MuxClientMessage,
  type MuxForward,
  type MuxServerMessage,
  type MuxSessionRequest,
} from './protocol.ts';

/** The master answered with something other than the expected reply; `message` is mux.c's wording. */
export class MuxProtocolError extends Error {
  override readonly name = 'MuxProtocolError';
}

/** The master refused (MUX_S_PERMISSION_DENIED) or failed (MUX_S_FAILURE) a request. */
export class MuxRequestError extends Error {
  override readonly name = 'MuxRequestError';
  readonly denied: boolean;
  readonly reason: string;
  constructor(denied: boolean, reason: string) {
    super(reason);
    this.denied = denied;
    this.reason = reason;
  }
}

type Request = Exclude<MuxClientMessage, { type: 'hello' | 'unknown' }>;
type WithoutId<T> = T extends unknown ? Omit<T, 'requestId'> : never;

export class MuxClient {
  readonly socket: MuxSocket;
  private nextRequestId = 0;

  private constructor(socket: MuxSocket) {
    this.socket = socket;
  }

  /** Connects and exchanges hellos (§1). Throws MuxSocketError when the socket cannot be reached. */
  static async connect(path: string): Promise<MuxClient> {
    const client = new MuxClient(MuxSocket.connect(path));
    try {
      client.socket.write(encodeClientMessage({ type: 'hello', version: MUX_VERSION }));
      const hello = await client.read();
      if (!hello) throw new MuxProtocolError('master hello exchange failed');
      if (hello.type !== 'hello') throw new MuxProtocolError(`expected HELLO (1) got ${hello.type}`);
      if (hello.version !== MUX_VERSION) {
        throw new MuxProtocolError(`Unsupported multiplexing protocol version ${hello.version} (expected ${MUX_VERSION})`);
      }
      return client;
    } catch (error) {
      client.close();
      throw error;
    }
  }

  /** The next message from the master, or null when it closed the connection. */
  async read(): Promise<MuxServerMessage | null> {
    let payload: Buffer | null;
    try {
      payload = await this.socket.readPacket();
    } catch (error) {
      if (error instanceof DecodeError) throw new MuxProtocolError(error.message);
      throw error;
    }
    if (!payload) return null;
    try {
      return decodeServerMessage(payload);
    } catch (error) {
      throw new MuxProtocolError(`parse: ${(error as Error).message}`);
    }
  }

  /** Sends a request and reads its reply, checking the id; null when the master closed first. */
  private async request(message: WithoutId<Request>, fds?: number[]): Promise<MuxServerMessage | null> {
    const requestId = this.nextRequestId;
    this.socket.write(encodeClientMessage({ ...message, requestId } as Request));
    if (fds) this.socket.sendFds(fds);
    const reply = await this.read();
    if (!reply) return null;
    if ('requestId' in reply && reply.requestId !== requestId) {
      throw new MuxProtocolError(`out of sequence reply: my id ${requestId} theirs ${reply.requestId}`);
    }
    this.nextRequestId++;
    return reply;
  }

  private static refusal(reply: MuxServerMessage): never {
    if (reply.type === 'permission-denied') throw new MuxRequestError(true, reply.reason);
    if (reply.type === 'failure') throw new MuxRequestError(false, reply.reason);
    throw new MuxProtocolError(`unexpected response from master 0x${'code' in reply ? reply.code.toString(16).padStart(8, '0') : reply.type}`);
  }

  /** MUX_C_ALIVE_CHECK (§4): the master's pid. */
  async aliveCheck(): Promise<number> {
    const reply = await this.request({ type: 'alive-check' });
    if (!reply) throw new MuxProtocolError('master alive check failed');
    if (reply.type !== 'alive') MuxClient.refusal(reply);
    return reply.pid;
  }

  /** MUX_C_TERMINATE (§5). A master that exits before replying counts as done, as in mux.c. */
  async terminate(): Promise<void> {
    const reply = await this.request({ type: 'terminate' });
    if (reply && reply.type !== 'ok') MuxClient.refusal(reply);
  }

  /** MUX_C_STOP_LISTENING (§8). */
  async stopListening(): Promise<void> {
    const reply = await this.request({ type: 'stop-listening' });
    if (!reply) throw new MuxProtocolError('read from master failed: Broken pipe');
    if (reply.type !== 'ok') MuxClient.refusal(reply);
  }

  /** MUX_C_OPEN_FWD / MUX_C_CLOSE_FWD (§6, §7): resolves with the allocated port for a remote port 0. */
  async forward(forward: MuxForward, cancel: boolean): Promise<number | undefined> {
    const reply = await this.request({ type: cancel ? 'close-forward' : 'open-forward', forward });
    if (!reply) throw new MuxProtocolError('read from master failed');
    if (reply.type === 'ok') return undefined;
    if (reply.type === 'remote-port' && !cancel) return reply.port;
    return MuxClient.refusal(reply);
  }

  /** MUX_C_NEW_SESSION (§2) with stdin, stdout and stderr: the master's session id. */
  async openSession(session: MuxSessionRequest, fds: [number, number, number]): Promise<number> {
    const reply = await this.request({ type: 'new-session', session }, fds);
    if (!reply) throw new MuxProtocolError('read from master failed: Broken pipe');
    if (reply.type !== 'session-opened') MuxClient.refusal(reply);
    return reply.sessionId;
  }

  /** MUX_C_NEW_STDIO_FWD (§3) with stdin and stdout: the master's session id. */
  async openStdioForward(host: string, port: number, fds: [number, number]): Promise<number> {
    const reply = await this.request({ type: 'stdio-forward', host, port }, fds);
    if (!reply) throw new MuxProtocolError('read from master failed: Broken pipe');
    if (reply.type !== 'session-opened') MuxClient.refusal(reply);
    return reply.sessionId;
  }

  /**
   * Waits for a passenger session to end (§2): resolves with the exit value from MUX_S_EXIT_MESSAGE, or
   * undefined when the master closed without one.
   */
  async waitForExit(sessionId: number, onTtyAllocFail: () => void): Promise<number | undefined> {
    let exitValue: number | undefined;
    for (;;) {
      const message = await this.read();
      if (!message) return exitValue;
      if (message.type === 'tty-alloc-fail') {
        if (message.sessionId !== sessionId) throw new MuxProtocolError(`tty alloc fail on unknown session: my id ${sessionId} theirs ${message.sessionId}`);
        onTtyAllocFail();
      } else if (message.type === 'exit-message') {
        if (message.sessionId !== sessionId) throw new MuxProtocolError(`exit on unknown session: my id ${sessionId} theirs ${message.sessionId}`);
        if (exitValue !== undefined) throw new MuxProtocolError('exitval sent twice');
        exitValue = message.exitValue;
      } else {
        throw new MuxProtocolError(`master returned error: ${'reason' in message ? message.reason : message.type}`);
      }
    }
  }

  /** MUX_C_PROXY (§9): from now on the socket carries unencrypted SSH packets. */
  async proxy(): Promise<MuxSocket> {
    const reply = await this.request({ type: 'proxy' });
    if (!reply) throw new MuxProtocolError('read from master failed');
    if (reply.type !== 'proxy') throw new MuxProtocolError(`master returned error: ${'reason' in reply ? reply.reason : reply.type}`);
    return this.socket;
  }

  close(): void {
    this.socket.close();
  }
}
