/**
 * A ControlMaster: listens on the ControlPath and serves mux clients over the master's connection
 * (PROTOCOL.mux; mux.c muxserver_listen and the mux_master_process_* handlers). Each client connection says
 * hello, then sends one request at a time; the next is read only after the reply, as mux.c pauses a client
 * while a channel open or remote forward is pending.
 */
import { createServer, type Server } from 'node:net';
import { randomInt } from 'node:crypto';
import { closeSync, linkSync, unlinkSync } from 'node:fs';
import type { SshClient } from '../client.ts';
import { DecodeError } from '../../wire/errors.ts';
import { matchPattern } from '../../match/patterns.ts';
import { MuxSocket } from './mux-socket.ts';
import { MUX_VERSION, decodeClientMessage, encodeServerMessage, type MuxClientMessage, type MuxServerMessage } from './protocol.ts';
import { startPassengerSession, startStdioForward, type Passenger, type PassengerPolicy } from './master-session.ts';
import { describeForward, MasterForwards, type ForwardPolicy } from './master-forwards.ts';

type Reply = Exclude<MuxServerMessage, { type: 'unknown' }>;

export interface MuxMasterOptions extends PassengerPolicy, ForwardPolicy {
  path: string;
  client: SshClient;
  /** The destination as ssh names it in its questions ("Allow shared connection to %s?"). */
  host: string;
  /** ControlMaster ask/autoask: asks the user; undefined allows every request. */
  confirm?: (question: string) => Promise<boolean>;
  /** SendEnv of the master: only matching variables from a client pass (mux.c env_permitted). */
  sendEnv: readonly string[];
  error: (message: string) => void;
  /** MUX_C_TERMINATE was accepted: the master should exit now. */
  onTerminate: () => void;
  /** MUX_C_STOP_LISTENING was accepted (the socket is already gone). */
  onStopListening?: () => void;
  /** Proxy mode (§9): the connection now carries SSH packets; the handler owns the socket. */
  onProxy?: (socket: MuxSocket) => Promise<void>;
  /** The number of client connections changed (ControlPersist counts down at zero). */
  onActivity?: (connections: number) => void;
}

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A control socket could not be created; the message is ssh's (the master goes on without multiplexing). */
export class ControlSocketError extends Error {
  override readonly name = 'ControlSocketError';
}

function listenOnPath(server: Server, path: string): Promise<void> {
  // mux.c: umask 0177 around the bind, so only the owner can connect.
  const previous = process.umask(0o177);
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path, backlog: 64 }, () => {
      server.off('error', reject);
      resolve();
    });
  }).finally(() => process.umask(previous));
}

export class MuxMaster {
  private readonly options: MuxMasterOptions;
  private server: Server | undefined;
  private readonly forwards: MasterForwards;
  private readonly connections = new Set<MuxSocket>();
  private readonly passengers = new Set<Passenger>();

  private constructor(options: MuxMasterOptions, server: Server) {
    this.options = options;
    this.server = server;
    this.forwards = new MasterForwards(options.client, options);
    server.on('connection', (socket) => {
      let connection: MuxSocket;
      try {
        connection = MuxSocket.adopt(socket);
      } catch (error) {
        options.error(`accept: ${(error as Error).message}`);
        return;
      }
      void this.serve(connection);
    });
    process.on('SIGWINCH', this.onWindowChange);
  }

  /**
   * Listens on a temporary name and links it into place (mux.c muxserver_listen), so no client ever meets a
   * socket that is bound but not yet listening. Throws ControlSocketError when the path is taken.
   */
  static async listen(options: MuxMasterOptions): Promise<MuxMaster> {
    let suffix = '';
    for (let i = 0; i < 16; i++) suffix += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
    const temporary = `${options.path}.${suffix}`;
    const server = createServer({ pauseOnConnect: true });
    try {
      await listenOnPath(server, temporary);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EINVAL') throw new ControlSocketError(`ControlSocket ${temporary} already exists, disabling multiplexing`);
      throw new ControlSocketError(`unix_listener: cannot bind to path ${temporary}: ${(error as Error).message}`);
    }
    try {
      linkSync(temporary, options.path);
    } catch (error) {
      server.close();
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new ControlSocketError(`ControlSocket ${options.path} already exists, disabling multiplexing`);
      }
      throw new ControlSocketError(`link mux listener ${temporary} => ${options.path}: ${(error as Error).message}`);
    } finally {
      try {
        unlinkSync(temporary);
      } catch {
        // Already gone.
      }
    }
    // Node would unlink the temporary name on close; the real name is ours to remove.
    return new MuxMaster(options, server);
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stops accepting clients and removes the socket (MUX_C_STOP_LISTENING, ssh's exit path). */
  stopListening(): void {
    if (!this.server) return;
    this.server.close();
    this.server = undefined;
    try {
      unlinkSync(this.options.path);
    } catch {
      // Removed by someone else already.
    }
  }

  /** Ends everything: the listener, every client connection and session, and mux-requested forwards. */
  close(): void {
    this.stopListening();
    process.off('SIGWINCH', this.onWindowChange);
    for (const passenger of this.passengers) passenger.abandon();
    for (const connection of this.connections) connection.close();
    this.forwards.closeAll();
  }

  private readonly onWindowChange = () => {
    for (const passenger of this.passengers) passenger.windowChanged();
  };

  private track(connection: MuxSocket, added: boolean): void {
    if (added) this.connections.add(connection);
    else this.connections.delete(connection);
    this.options.onActivity?.(this.connections.size);
  }

  private async serve(connection: MuxSocket): Promise<void> {
    this.track(connection, true);
    connection.write(encodeServerMessage({ type: 'hello', version: MUX_VERSION }));
    const state: { hello: boolean; passenger?: Passenger; proxied: boolean } = { hello: false, proxied: false };
    try {
      for (;;) {
        const payload = await connection.readPacket();
        if (!payload) break;
        const message = decodeClientMessage(payload);
        if (message.type === 'hello') {
          if (state.hello) throw new DecodeError('HELLO received twice');
          if (message.version !== MUX_VERSION) throw new DecodeError(`unsupported multiplexing protocol version ${message.version} (expected ${MUX_VERSION})`);
          state.hello = true;
          continue;
        }
        if (!state.hello) throw new DecodeError(`expected MUX_MSG_HELLO(0x00000001), received 0x${payload.readUInt32BE(0).toString(16).padStart(8, '0')}`);
        const reply = await this.handle(message, connection, state);
        if (reply === 'close') break;
        if (reply) connection.write(encodeServerMessage(reply));
        if (state.proxied) {
          await this.options.onProxy?.(connection);
          break;
        }
      }
    } catch (error) {
      this.options.debug?.(`mux client: ${(error as Error).message}`);
    }
    // The client went away: a session it still had is ended (mux_master_control_cleanup_cb).
    if (state.passenger && !connection.closed) state.passenger.abandon();
    if (state.passenger) await state.passenger.done;
    await connection.flushed();
    connection.close();
    this.track(connection, false);
  }

  private async allowed(question: string): Promise<boolean> {
    return this.options.confirm ? this.options.confirm(question) : true;
  }

  private envPermitted(variable: string): boolean {
    const equals = variable.indexOf('=');
    if (equals <= 0) return false;
    const name = variable.slice(0, equals);
    return this.options.sendEnv.some((pattern) => matchPattern(name, pattern));
  }

  private async handle(
    message: Exclude<MuxClientMessage, { type: 'hello' }>,
    connection: MuxSocket,
    state: { passenger?: Passenger; proxied: boolean },
  ): Promise<Reply | 'close' | undefined> {
    const { requestId } = message;
    const host = this.options.host;
    switch (message.type) {
      case 'alive-check':
        return { type: 'alive', requestId, pid: process.pid };
      case 'terminate':
        if (!(await this.allowed(`Terminate shared connection to ${host}? `))) return { type: 'permission-denied', requestId, reason: 'Permission denied' };
        connection.write(encodeServerMessage({ type: 'ok', requestId }));
        await connection.flushed();
        this.options.onTerminate();
        return undefined;
      case 'stop-listening':
        if (!(await this.allowed(`Disable further multiplexing on shared connection to ${host}? `))) {
          return { type: 'permission-denied', requestId, reason: 'Permission denied' };
        }
        this.stopListening();
        this.options.onStopListening?.();
        return { type: 'ok', requestId };
      case 'open-forward': {
        const invalid = MasterForwards.invalid(message.forward);
        if (invalid) return { type: 'failure', requestId, reason: invalid };
        const description = describeForward(message.forward, this.options.gatewayPorts);
        this.options.debug?.(`request ${description}`);
        if (!(await this.allowed(`Open ${description} on ${host}?`))) return { type: 'permission-denied', requestId, reason: 'Permission denied' };
        const outcome = await this.forwards.open(message.forward);
        if (!outcome.ok) {
          this.options.error(outcome.reason.startsWith('remote') ? outcome.reason : `requested ${description} failed`);
          return { type: 'failure', requestId, reason: outcome.reason };
        }
        return outcome.port !== undefined ? { type: 'remote-port', requestId, port: outcome.port } : { type: 'ok', requestId };
      }
      case 'close-forward': {
        const outcome = await this.forwards.close(message.forward);
        return outcome.ok ? { type: 'ok', requestId } : { type: 'failure', requestId, reason: outcome.reason };
      }
      case 'new-session':
      case 'stdio-forward':
        return this.openPassenger(message, connection, state);
      case 'proxy':
        state.proxied = this.options.onProxy !== undefined;
        return state.proxied ? { type: 'proxy', requestId } : { type: 'failure', requestId, reason: 'unsupported request' };
      case 'unknown':
        this.options.error(`unsupported mux message 0x${message.code.toString(16).padStart(8, '0')}`);
        return { type: 'failure', requestId, reason: 'unsupported request' };
    }
  }

  private async openPassenger(
    message: Extract<MuxClientMessage, { type: 'new-session' | 'stdio-forward' }>,
    connection: MuxSocket,
    state: { passenger?: Passenger },
  ): Promise<Reply | 'close'> {
    const { requestId } = message;
    const fds = await connection.readFds(message.type === 'new-session' ? 3 : 2);
    const release = () => {
      for (const fd of fds) closeSync(fd);
    };
    if (fds.length < (message.type === 'new-session' ? 3 : 2)) {
      release();
      this.options.error(`failed to receive fd ${fds.length} from client`);
      connection.write(encodeServerMessage({ type: 'failure', requestId, reason: 'did not receive file descriptors' }));
      return 'close';
    }
    if (state.passenger) {
      release();
      return { type: 'failure', requestId, reason: 'Multiple sessions not supported' };
    }
    const question = message.type === 'new-session' ? `Allow shared connection to ${this.options.host}? ` : `Allow forward to ${message.host}:${message.port}? `;
    if (!(await this.allowed(question))) {
      release();
      return { type: 'permission-denied', requestId, reason: 'Permission denied' };
    }
    const notify = (reply: Reply) => connection.write(encodeServerMessage(reply));
    const started = message.type === 'new-session'
      ? await startPassengerSession(this.options.client, { ...message.session, env: message.session.env.filter((v) => this.envPermitted(v)) }, fds, this.options, notify)
      : await startStdioForward(this.options.client, message.host, message.port, fds);
    if ('failure' in started) return { type: 'failure', requestId, reason: started.failure };
    state.passenger = started;
    this.passengers.add(started);
    void started.done.then(async () => {
      this.passengers.delete(started);
      // The session is over: everything queued (the exit message) goes out, then the client sees EOF.
      await connection.flushed();
      connection.close();
    });
    return { type: 'session-opened', requestId, sessionId: started.id };
  }
}
