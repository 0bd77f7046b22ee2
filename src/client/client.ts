/**
 * The high-level client: connect(options) gives an authenticated SshClient with sessions and channels.
 * Everything a user-facing program needs (host-key policy, keys, prompts) comes in as options, so the CLI and
 * embedding applications share this one path.
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Transport, type AlgorithmPreferences, type PeerAddress } from '../transport/transport.ts';
import { setTypeOfService } from '../transport/type-of-service.ts';
import { Connection } from '../connection/connection.ts';
import { authenticateClient, type ClientAuthOptions } from '../auth/client-auth.ts';
import type { PublicKey } from '../keys/types.ts';
import { Session, type PtyOptions } from './session.ts';
import { CHANNEL_OPEN_FAILURE, DISCONNECT_REASON } from '../wire/message-numbers.ts';
import type { IncomingChannelOpen, IncomingGlobalRequest } from '../connection/connection.ts';
import type { Channel } from '../connection/channel.ts';
import { openDirect } from './forwarding/direct.ts';
import { forwardLocal, type LocalForwardOptions } from './forwarding/local.ts';
import { forwardDynamic, type DynamicForwardOptions } from './forwarding/dynamic.ts';
import { RemoteForwards } from './forwarding/remote.ts';
import type { ForwardListener, ListenSpec } from './forwarding/listener.ts';
import { openJumpChain } from './jump.ts';

export interface ConnectOptions {
  host: string;
  port?: number;
  username: string;
  /** An already-connected byte stream to run SSH over (ProxyCommand, a jump host's channel). */
  stream?: Duplex;
  algorithms?: Partial<AlgorithmPreferences>;
  /** Accepts or rejects the server's host key; throw to reject. Required unless you trust any key. */
  verifyHostKey: (key: PublicKey, algorithm: string, peer: PeerAddress) => Promise<void> | void;
  auth: Omit<ClientAuthOptions, 'username' | 'debug'>;
  /** AddressFamily (-4/-6): resolve and connect over IPv4 or IPv6 only. */
  family?: 4 | 6;
  /** BindAddress (-b): the local address the TCP connection is made from. */
  localAddress?: string;
  /** Seconds to wait for the TCP connection and the SSH handshake; 0 waits forever. */
  connectTimeout?: number;
  /** ConnectionAttempts: TCP connection tries, one second apart. */
  connectionAttempts?: number;
  /** ServerAliveInterval / ServerAliveCountMax (seconds; 0 disables). */
  keepaliveInterval?: number;
  keepaliveCountMax?: number;
  /** TCPKeepAlive. */
  tcpKeepAlive?: boolean;
  rekeyLimitBytes?: number;
  rekeyIntervalSeconds?: number;
  debug?: (message: string) => void;
  /** Jump hosts, first hop first: each is reached through a direct-tcpip channel of the one before (ProxyJump). */
  jump?: ConnectOptions[];
  /**
   * Handlers for global requests the server may send, by name (e.g. hostkeys-00@openssh.com for
   * UpdateHostKeys); installed before any packet after authentication is handled, so none is missed.
   */
  globalRequests?: ReadonlyMap<string, (request: IncomingGlobalRequest, client: SshClient) => void>;
}

/** Where a forward listens: a TCP address and port, or a Unix-domain socket path. */
type ForwardListen = { bindAddress?: string; bindPort: number } | { bindPath: string };
/** Where a forward connects: a host and port, or a Unix-domain socket path. */
type ForwardConnect = { host: string; port: number } | { path: string };

/** The server stopped answering keepalives (ssh: "Timeout, server HOST not responding."). */
export class ServerTimeoutError extends Error {
  override readonly name = 'ServerTimeoutError';
}

/** The TCP connection could not be made (ssh: "connect to host H port P: Connection refused"). */
export class ConnectError extends Error {
  override readonly name: string = 'ConnectError';
}

/** The host name does not resolve (ssh: "Could not resolve hostname H: Name or service not known"). */
export class ResolveError extends ConnectError {
  override readonly name = 'ResolveError';
}

export class SshClient {
  readonly transport: Transport;
  readonly connection: Connection;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  /**
   * Handlers for channels the server opens, by channel type; types without one are refused as unknown.
   * Forwarding registers forwarded-tcpip and forwarded-streamlocal; agent and X11 forwarding add theirs.
   */
  readonly channelHandlers = new Map<string, (request: IncomingChannelOpen) => void>();
  /**
   * Asked first about every channel the server opens; one that returns true has taken it (a ControlMaster
   * relaying a forward its proxy client asked for, PROTOCOL.mux §9).
   */
  readonly channelRouters = new Set<(request: IncomingChannelOpen) => boolean>();
  /** Handlers for the server's global requests, by name; the others fail (RFC 4254 §4). */
  readonly globalRequestHandlers = new Map<string, (request: IncomingGlobalRequest) => void>();
  /** Remote forwards (-R) in effect on this connection. */
  readonly remoteForwards: RemoteForwards;

  /** The TCP socket, when connect() opened one (not over ProxyCommand or a jump host's channel). */
  private readonly socket: Socket | undefined;

  constructor(transport: Transport, connection: Connection, socket?: Socket) {
    this.transport = transport;
    this.connection = connection;
    this.socket = socket;
    this.remoteForwards = new RemoteForwards(connection);
    this.channelHandlers.set('forwarded-tcpip', this.remoteForwards.onForwardedTcpip);
    this.channelHandlers.set('forwarded-streamlocal@openssh.com', this.remoteForwards.onForwardedStreamlocal);
    connection.onChannelOpen = (request) => {
      for (const route of this.channelRouters) if (route(request)) return;
      const handler = this.channelHandlers.get(request.type);
      if (handler) handler(request);
      else request.reject(CHANNEL_OPEN_FAILURE.UNKNOWN_CHANNEL_TYPE, `unknown channel type ${request.type}`);
    };
    connection.onGlobalRequest = (request) => {
      const handler = this.globalRequestHandlers.get(request.name);
      if (handler) handler(request);
      else request.reply(false);
    };
  }

  /**
   * IPQoS: the IP type-of-service (DSCP) of the connection's packets, as ssh sets it once it knows whether
   * the session is interactive. Only on a TCP socket of our own (not over ProxyCommand or a jump host).
   */
  setTypeOfService(tos: number): void {
    setTypeOfService(this.socket, tos);
  }

  /** Resolves with the error that ended the connection, or null after an orderly close. */
  get closed(): Promise<Error | null> {
    return this.transport.closed;
  }

  /** Opens a session channel (RFC 4254 §6.1). */
  async session(): Promise<Session> {
    return new Session(await this.connection.openChannel('session'));
  }

  /** Runs `command` and returns its session; read stdout/stderr from it and await `exit`. */
  async exec(command: string, options: { pty?: PtyOptions | boolean; env?: Record<string, string> } = {}): Promise<Session> {
    const session = await this.session();
    for (const [name, value] of Object.entries(options.env ?? {})) await session.setEnv(name, value);
    if (options.pty) await session.requestPty(options.pty === true ? {} : options.pty);
    await session.exec(command);
    return session;
  }

  /** Opens an interactive shell, with a PTY unless told otherwise. */
  async shell(options: { pty?: PtyOptions | false; env?: Record<string, string> } = {}): Promise<Session> {
    const session = await this.session();
    for (const [name, value] of Object.entries(options.env ?? {})) await session.setEnv(name, value);
    if (options.pty !== false) await session.requestPty(options.pty ?? {});
    await session.shell();
    return session;
  }

  /**
   * ServerAliveInterval / ServerAliveCountMax as ssh does them: after `interval` seconds without any packet
   * from the server, send keepalive@openssh.com; once more than `countMax` such probes go unanswered, give up
   * with ssh's "Timeout, server HOST not responding.".
   */
  /** Opens a direct-tcpip channel to host:port as seen from the server (RFC 4254 §7.2). */
  openDirect(host: string, port: number): Promise<Channel> {
    return openDirect(this.connection, { host, port });
  }

  /** Opens a direct-streamlocal@openssh.com channel to a Unix socket on the server (OpenSSH PROTOCOL §2.4). */
  openDirectStreamlocal(path: string): Promise<Channel> {
    return openDirect(this.connection, { path });
  }

  /** Local forwarding (-L): listens here and forwards each connection through the server to the target. */
  forwardLocal(options: ForwardListen & ForwardConnect & Omit<ListenSpec, 'bindPort' | 'bindPath'> & Pick<LocalForwardOptions, 'onError'>): Promise<ForwardListener> {
    const target = 'path' in options ? { path: options.path } : { host: options.host, port: options.port };
    return forwardLocal(this.connection, { ...options, target });
  }

  /** Dynamic forwarding (-D): a local SOCKS4/4a/5 server whose connections go out through the server. */
  forwardDynamic(options: DynamicForwardOptions): Promise<ForwardListener> {
    return forwardDynamic(this.connection, options);
  }

  /**
   * Remote forwarding (-R): the server listens and its connections are forwarded here to the target; with
   * no target (neither host nor path), we act as a SOCKS4/5 proxy for them (remote dynamic forwarding).
   * Resolves with the port the server listens on (the allocated one for port 0), or undefined for a path.
   */
  async forwardRemote(options: ForwardListen & (ForwardConnect | { host?: never; path?: never })): Promise<number | undefined> {
    const listen = 'bindPath' in options ? { bindPath: options.bindPath } : { bindAddress: options.bindAddress, bindPort: options.bindPort };
    const connect = options as Partial<{ host: string; port: number; path: string }>;
    const target = connect.path !== undefined
      ? { path: connect.path }
      : connect.host !== undefined ? { host: connect.host, port: connect.port ?? 0 } : undefined;
    return (await this.remoteForwards.add(listen, target)).port;
  }

  /** Cancels a remote forward by its (allocated) port or socket path; resolves to whether the server agreed. */
  cancelRemoteForward(match: { bindAddress?: string; port: number } | { path: string }): Promise<boolean> {
    return this.remoteForwards.cancel(match);
  }

  startKeepalive(intervalSeconds: number, countMax: number, host: string): void {
    if (intervalSeconds <= 0) return;
    const interval = intervalSeconds * 1000;
    let unanswered = 0;
    let packetsAtLastProbe = this.transport.packetsReceived;
    const check = () => {
      const idle = performance.now() - this.transport.lastPacketAt;
      if (this.transport.packetsReceived !== packetsAtLastProbe) unanswered = 0;
      if (idle + 1 < interval && unanswered === 0) {
        arm(interval - idle);
        return;
      }
      if (++unanswered > countMax) {
        this.transport.fail(new ServerTimeoutError(`Timeout, server ${host} not responding.`));
        return;
      }
      packetsAtLastProbe = this.transport.packetsReceived;
      void this.connection.globalRequest('keepalive@openssh.com', Buffer.alloc(0), true);
      arm(interval);
    };
    const arm = (delay: number) => {
      this.keepaliveTimer = setTimeout(check, delay);
      this.keepaliveTimer.unref();
    };
    arm(interval);
    void this.transport.closed.then(() => clearTimeout(this.keepaliveTimer));
  }

  /** Disconnects politely (RFC 4253 §11.1 BY_APPLICATION). */
  end(): void {
    clearTimeout(this.keepaliveTimer);
    this.transport.disconnect(DISCONNECT_REASON.BY_APPLICATION, 'disconnected by user');
  }
}

/** One TCP connection attempt, abandoned after ConnectTimeout. Errors are worded like ssh's. */
function tcpAttempt(host: string, port: number, options: ConnectOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({
      host,
      port,
      noDelay: true,
      keepAlive: options.tcpKeepAlive ?? true,
      ...(options.family ? { family: options.family } : {}),
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    const timer = options.connectTimeout
      ? setTimeout(() => {
          socket.destroy();
          reject(new ConnectError(`connect to host ${host} port ${port}: Connection timed out`));
        }, options.connectTimeout * 1000)
      : undefined;
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') {
        reject(new ResolveError(`Could not resolve hostname ${host}: ${error.code === 'ENOTFOUND' ? 'Name or service not known' : 'Temporary failure in name resolution'}`));
        return;
      }
      const reason = error.code === 'ECONNREFUSED' ? 'Connection refused' : error.code === 'ETIMEDOUT' ? 'Connection timed out' : error.message;
      reject(new ConnectError(`connect to host ${host} port ${port}: ${reason}`));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

/** ConnectionAttempts: ssh tries again once a second until the attempts run out. */
async function openTcp(host: string, port: number, options: ConnectOptions): Promise<Socket> {
  const attempts = Math.max(1, options.connectionAttempts ?? 1);
  for (let attempt = 1; ; attempt++) {
    try {
      return await tcpAttempt(host, port, options);
    } catch (error) {
      if (attempt >= attempts || error instanceof ResolveError) throw error;
      options.debug?.(`${(error as Error).message}; retrying`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

function withTimeout<T>(promise: Promise<T>, seconds: number | undefined, message: string, onTimeout: () => void): Promise<T> {
  if (!seconds) return promise;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new ConnectError(message));
    }, seconds * 1000);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Connects, exchanges keys, verifies the host key and authenticates. */
export async function connect(options: ConnectOptions): Promise<SshClient> {
  const port = options.port ?? 22;
  if (options.jump && options.jump.length > 0) {
    const chain = await openJumpChain(options.jump, options.host, port, connect);
    try {
      const client = await connect({ ...options, jump: undefined, stream: chain.stream });
      void client.closed.then(() => chain.close());
      return client;
    } catch (error) {
      chain.close();
      throw error;
    }
  }
  const socket = options.stream ? undefined : await openTcp(options.host, port, options);
  const stream = options.stream ?? socket!;
  const transport = new Transport({
    role: 'client',
    stream,
    algorithms: options.algorithms,
    verifyHostKey: options.verifyHostKey,
    rekeyLimitBytes: options.rekeyLimitBytes,
    rekeyIntervalSeconds: options.rekeyIntervalSeconds,
    debug: options.debug,
  });
  try {
    await withTimeout(transport.ready, options.connectTimeout, `Connection timed out during banner exchange`, () => transport.fail(new Error('handshake timed out')));
    const earlierPackets = await authenticateClient(transport, { ...options.auth, username: options.username, debug: options.debug });
    const client = new SshClient(transport, new Connection(transport, earlierPackets), socket);
    for (const [name, handler] of options.globalRequests ?? []) client.globalRequestHandlers.set(name, (request) => handler(request, client));
    client.startKeepalive(options.keepaliveInterval ?? 0, options.keepaliveCountMax ?? 3, options.host);
    return client;
  } catch (error) {
    if (!transport.isClosed) transport.disconnect(DISCONNECT_REASON.BY_APPLICATION, 'client giving up');
    throw error;
  }
}
