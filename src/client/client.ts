/**
 * The high-level client: connect(options) gives an authenticated SshClient with sessions and channels.
 * Everything a user-facing program needs (host-key policy, keys, prompts) comes in as options, so the CLI and
 * embedding applications share this one path.
 */
import type { Socket } from 'node:net';
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
import { connectToFirstReachable, ConnectError, type ConnectTarget } from './address-list.ts';

export { ConnectError, ResolveError, type ConnectTarget } from './address-list.ts';

export interface ConnectOptions {
  host: string;
  /**
   * Every name the host goes by, tried in order (HostName's comma-separated alternates, Tether's failover):
   * `host` itself when absent. An alternate is accepted only with a host key verifyHostKey accepts for it.
   */
  alternates?: string[];
  port?: number;
  username: string;
  /** An already-connected byte stream to run SSH over (ProxyCommand, a jump host's channel). */
  stream?: Duplex;
  algorithms?: Partial<AlgorithmPreferences>;
  /**
   * Accepts or rejects the server's host key; throw to reject. Required unless you trust any key. `target`
   * says which name and address presented it (absent over a caller's own `stream`).
   */
  verifyHostKey: (key: PublicKey, algorithm: string, peer: PeerAddress, target?: ConnectTarget) => Promise<void> | void;
  /** Told which name and address was reached, once its host key is accepted (before authentication). */
  onReached?: (target: ConnectTarget) => void;
  /** Told of each name or address passed over after its handshake failed (a refused host key), another being left. */
  onPassedOver?: (target: ConnectTarget, error: Error) => void;
  /**
   * No one can answer a host-key question (a reconnect while the session owns the terminal): passed on to
   * verifyHostKey in `target`, whose policy then refuses unknown keys.
   */
  unattended?: boolean;
  /**
   * Opens the byte stream to one of the host's names instead of TCP (a jump host's direct-tcpip channel), so
   * alternates fail over behind a jump host too. Ignored when `stream` is given.
   */
  dial?: (name: string, port: number) => Promise<Duplex>;
  auth: Omit<ClientAuthOptions, 'username' | 'debug'>;
  /** AddressFamily (-4/-6): resolve and connect over IPv4 or IPv6 only. */
  family?: 4 | 6;
  /** BindAddress (-b): the local address the TCP connection is made from. */
  localAddress?: string;
  /** Seconds to wait for each TCP connection attempt and each SSH handshake; 0 waits forever. */
  connectTimeout?: number;
  /** ConnectionAttempts: passes over the host's addresses, one second apart. */
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
  /** Which of the host's names and addresses connect() reached (undefined over a caller's own stream). */
  readonly reached: ConnectTarget | undefined;

  constructor(transport: Transport, connection: Connection, socket?: Socket, reached?: ConnectTarget) {
    this.transport = transport;
    this.connection = connection;
    this.socket = socket;
    this.reached = reached;
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

  /**
   * Opens a session channel (RFC 4254 §6.1); with `hold`, asks the server to hold it under that name
   * (docs/PROTOCOL.sessions §2; `session.held` says whether it will).
   */
  async session(options: { hold?: string } = {}): Promise<Session> {
    const session = new Session(await this.connection.openChannel('session'));
    if (options.hold !== undefined) await session.hold(options.hold);
    return session;
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

/**
 * Connects, exchanges keys, verifies the host key and authenticates. Over TCP (or a jump host's channels),
 * the host's names and addresses are tried in order until one completes the handshake with an accepted host
 * key (address-list.ts); authentication then runs on that one only.
 */
export async function connect(options: ConnectOptions): Promise<SshClient> {
  const port = options.port ?? 22;
  if (options.jump && options.jump.length > 0) {
    const chain = await openJumpChain(options.jump, connect);
    try {
      const client = await connect({ ...options, jump: undefined, stream: undefined, dial: chain.dial });
      void client.closed.then(() => chain.close());
      return client;
    } catch (error) {
      chain.close();
      throw error;
    }
  }
  if (options.stream) return authenticate(await handshake(options, options.stream, undefined, undefined), options, undefined, undefined);
  return connectToFirstReachable({
    names: options.alternates?.length ? options.alternates : [options.host],
    port,
    attempts: options.connectionAttempts,
    family: options.family,
    localAddress: options.localAddress,
    connectTimeout: options.connectTimeout,
    tcpKeepAlive: options.tcpKeepAlive,
    unattended: options.unattended,
    dial: options.dial,
    debug: options.debug,
    onPassedOver: options.onPassedOver,
    // Only the handshake decides whether a candidate is accepted; a failed authentication is final.
    establish: async (stream, socket, target) => {
      const transport = await handshake(options, stream, socket, target);
      options.onReached?.(target);
      return { transport, socket, target };
    },
  }).then(({ transport, socket, target }) => authenticate(transport, options, socket, target));
}

/** The SSH transport up to keys exchanged and the host key accepted, within ConnectTimeout. */
async function handshake(options: ConnectOptions, stream: Duplex, socket: Socket | undefined, target: ConnectTarget | undefined): Promise<Transport> {
  const transport = new Transport({
    role: 'client',
    stream,
    algorithms: options.algorithms,
    verifyHostKey: (key, algorithm, peer) => options.verifyHostKey(key, algorithm, peer, target),
    rekeyLimitBytes: options.rekeyLimitBytes,
    rekeyIntervalSeconds: options.rekeyIntervalSeconds,
    debug: options.debug,
  });
  try {
    await withTimeout(transport.ready, options.connectTimeout, `Connection timed out during banner exchange`, () => transport.fail(new Error('handshake timed out')));
    return transport;
  } catch (error) {
    if (!transport.isClosed) transport.disconnect(DISCONNECT_REASON.BY_APPLICATION, 'client giving up');
    socket?.destroy();
    throw error;
  }
}

async function authenticate(transport: Transport, options: ConnectOptions, socket: Socket | undefined, target: ConnectTarget | undefined): Promise<SshClient> {
  try {
    // The GSS-API target is the name reached (an alternate's, HostName failover) and, for GSSAPITrustDns, its address.
    const gssapi = options.auth.gssapi && {
      ...options.auth.gssapi,
      host: target?.name ?? options.auth.gssapi.host,
      peerAddress: target?.address ?? socket?.remoteAddress,
      peerPort: target?.port ?? socket?.remotePort,
    };
    const earlierPackets = await authenticateClient(transport, { ...options.auth, gssapi, username: options.username, debug: options.debug });
    const client = new SshClient(transport, new Connection(transport, earlierPackets), socket, target);
    for (const [name, handler] of options.globalRequests ?? []) client.globalRequestHandlers.set(name, (request) => handler(request, client));
    client.startKeepalive(options.keepaliveInterval ?? 0, options.keepaliveCountMax ?? 3, target?.name ?? options.host);
    return client;
  } catch (error) {
    if (!transport.isClosed) transport.disconnect(DISCONNECT_REASON.BY_APPLICATION, 'client giving up');
    throw error;
  }
}
