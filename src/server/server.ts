/**
 * The listener: accepts TCP connections on the configured addresses, refuses sources under a
 * PerSourcePenalties penalty and connections past MaxStartups / PerSourceMaxStartups before the version
 * exchange, gives each admitted connection to a ServerConnection, and penalises the source of one that ends
 * without authenticating. The server itself never fails because of a client: every socket has an
 * error handler and every connection's failure ends only that connection.
 */
import { EventEmitter } from 'node:events';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { withSharedReads } from './shared-reads-socket.ts';
import { TRANSPORT_WRITE_HIGH_WATER } from '../transport/packet-layer.ts';
import { type as osType } from 'node:os';
import type { Duplex } from 'node:stream';
import type { SshdConfig } from '../config/sshd/index.ts';
import type { PrivateKey } from '../keys/index.ts';
import type { PasswordVerifier } from '../auth/server-password.ts';
import { currentAccount, runningAsRoot } from './accounts.ts';
import { serverAlgorithms } from './algorithms.ts';
import { defaultHandlers, type ServerHandlers } from './handlers.ts';
import { createLogger, type ServerLogger } from './logger.ts';
import { StartupLimiter } from './max-startups.ts';
import { classifyPreauthEnd, PenaltyTable } from './penalties.ts';
import { loadGroupChooser } from './moduli.ts';
import { ServerConnection, streamEndpoints, type ServerRuntime } from './server-connection.ts';
import { ServerResources } from './resource-limits.ts';
import type { ConnectionEndpoints } from './auth-policy.ts';
import type { SessionProcess, SessionProgram } from '../sessions/session-process.ts';
import { DEFAULT_SYSTEM_PATHS, type SystemPaths } from './system-paths.ts';
import { SOFTWARE_VERSION } from '../transport/version.ts';
import { startPipeProcess } from '../sessions/pipe-process.ts';
import { startPtyProcess } from '../sessions/pty-process.ts';
import { SessionHolders, type HolderFactory } from './session-holders.ts';
import { MemoryRelease } from './memory-release.ts';

export interface ServerOptions {
  /** The configuration (loadSshdConfig / parseSshdConfigText). */
  config: SshdConfig;
  hostKeys: readonly PrivateKey[];
  logger?: ServerLogger;
  /** Checks passwords; without one every password is wrong. */
  passwords?: PasswordVerifier;
  /** Addresses to listen on instead of the configuration's (port 0 picks a free port). */
  listen?: ReadonlyArray<{ address: string; port: number }>;
  /**
   * Run sessions as the authenticated user (needs root). Defaults to whether the server runs as root; when
   * false only the server's own account may log in.
   */
  switchUser?: boolean;
  /** Channel types and global requests beyond sessions (defaults refuse forwarding). */
  handlers?: ServerHandlers;
  /** Starts session programs; defaults to node-pty for terminals and child_process pipes otherwise. */
  startProcess?: (program: SessionProgram) => SessionProcess;
  /** Stop after the first connection ends (sshd -d). */
  singleConnection?: boolean;
  /** /etc/ssh/sshrc, /etc/motd, lastlog, wtmp and utmp (system-paths.ts); the system's by default. */
  paths?: Partial<SystemPaths>;
  /**
   * Reaches a user's session holder (PersistentSessions; src/sessions/holder/ by default). Without it, a
   * server given its own `startProcess` holds no session: the holder would run programs that one cannot see.
   */
  holders?: HolderFactory;
  /**
   * Hand memory back to the system once a burst of connections or channels is over (memory-release.ts). It
   * runs a full garbage collection of the whole process, so it is off unless asked for; `tether server`
   * asks for it.
   */
  releaseMemoryAfterBursts?: boolean;
}

export interface BoundAddress {
  address: string;
  port: number;
}

const NO_PASSWORDS: PasswordVerifier = { verify: async () => false };

/**
 * The software version and comments of our identification string (RFC 4253 §4.2). Debian's DebianBanner
 * (default yes) adds its package version ("OpenSSH_9.2p1 Debian-2+deb12u3"); Tether's counterpart names
 * the operating system it runs on ("Tether_0.1 Linux"), and DebianBanner no leaves it out. VersionAddendum
 * follows, as in Debian's sshd.
 */
export function softwareVersion(settings: { debianBanner: boolean; versionAddendum: string }): string {
  const parts = [SOFTWARE_VERSION];
  if (settings.debianBanner) parts.push(osType().replace(/[^\x21-\x7e]/g, '') || 'unknown');
  if (settings.versionAddendum) parts.push(settings.versionAddendum);
  return parts.join(' ');
}

function defaultStartProcess(program: SessionProgram): SessionProcess {
  return program.terminal ? startPtyProcess(program) : startPipeProcess(program);
}

/** What a reload (SIGHUP) replaces: the configuration and the host keys read from it. */
export interface ServerReload {
  config: SshdConfig;
  hostKeys: readonly PrivateKey[];
  passwords?: PasswordVerifier;
}

export class Server extends EventEmitter {
  private options: ServerOptions;
  private readonly logger: ServerLogger;
  private tcpServers: TcpServer[] = [];
  private readonly connections = new Set<ServerConnection>();
  private limiter: StartupLimiter;
  private penalties: PenaltyTable;
  private runtime: ServerRuntime | undefined;
  /** Per-user counts and the descriptor budget: kept across reloads, since connections keep what they hold. */
  private readonly resources = new ServerResources();
  /** Connections to the users' session holders, kept across reloads (the holders outlive the server anyway). */
  private holders: SessionHolders | undefined;
  private closing = false;
  private bound: BoundAddress[] = [];
  private memory: MemoryRelease | undefined;

  constructor(options: ServerOptions) {
    super();
    this.options = options;
    const settings = options.config.settings;
    this.logger = options.logger ?? createLogger({ level: settings.logLevel });
    this.limiter = this.startupLimiter(settings);
    this.penalties = this.penaltyTable(settings);
  }

  private startupLimiter(settings: SshdConfig['settings']): StartupLimiter {
    const policy = { ...settings.maxStartups, perSource: settings.perSourceMaxStartups, netBlockSize: settings.perSourceNetBlockSize };
    return new StartupLimiter(policy, this.logger);
  }

  private penaltyTable(settings: SshdConfig['settings']): PenaltyTable {
    const policy = {
      penalties: settings.perSourcePenalties,
      exemptList: settings.perSourcePenaltyExemptList,
      netBlockSize: settings.perSourceNetBlockSize,
    };
    return new PenaltyTable(policy, this.logger);
  }

  /** Addresses actually bound (after listen). */
  get addresses(): readonly BoundAddress[] {
    return this.bound;
  }

  /** Connections currently open. */
  get activeConnections(): number {
    return this.connections.size;
  }

  /** Open connections plus their channels: what a burst raises. */
  private load(): number {
    let load = this.connections.size;
    for (const connection of this.connections) load += connection.connection?.channelCount ?? 0;
    return load;
  }

  private async buildRuntime(): Promise<ServerRuntime> {
    const { config, hostKeys } = this.options;
    const switchUser = this.options.switchUser ?? runningAsRoot();
    return {
      config,
      hostKeys,
      algorithms: serverAlgorithms(config.settings, hostKeys),
      chooseDhGroup: loadGroupChooser(config.settings.moduliFile),
      passwords: this.options.passwords ?? NO_PASSWORDS,
      logger: this.logger,
      switchUser,
      onlyAccount: switchUser ? undefined : await currentAccount(),
      handlers: this.options.handlers ?? defaultHandlers(),
      startProcess: this.options.startProcess ?? defaultStartProcess,
      softwareVersion: softwareVersion(config.settings),
      resources: this.resources,
      paths: { ...DEFAULT_SYSTEM_PATHS, ...this.options.paths },
      holders: this.options.startProcess && !this.options.holders ? undefined : (this.holders ??= new SessionHolders({ switchUser, factory: this.options.holders })),
    };
  }

  /** Starts listening on every address; resolves with what was bound, rejects if any address fails. */
  async listen(): Promise<BoundAddress[]> {
    this.runtime ??= await this.buildRuntime();
    if (this.options.releaseMemoryAfterBursts && !this.memory) {
      this.memory = new MemoryRelease({
        load: () => this.load(),
        released: (peak, load, ms) => this.logger.verbose(`load down from ${peak} to ${load} connections and channels: memory released in ${ms.toFixed(0)} ms`),
      });
    }
    const targets =
      this.options.listen ?? this.options.config.settings.listenAddresses.map((a) => ({ address: a.address, port: a.port }));
    for (const target of targets) {
      // Paused: withSharedReads() moves the connection to a socket that reads into the shared buffer. The
      // high-water mark is for the socket used as it is, without the addon.
      const tcp = createTcpServer(
        { noDelay: true, keepAlive: this.options.config.settings.tcpKeepAlive, pauseOnConnect: true, highWaterMark: TRANSPORT_WRITE_HIGH_WATER },
        (socket) => this.accept(socket),
      );
      tcp.on('error', (error) => this.logger.error(`listener error: ${error.message}`));
      await new Promise<void>((resolve, reject) => {
        const onError = (error: NodeJS.ErrnoException) => {
          reject(new Error(`Bind to port ${target.port} on ${target.address} failed: ${error.code === 'EADDRINUSE' ? 'Address already in use' : error.message}.`));
        };
        tcp.once('error', onError);
        tcp.listen({ host: target.address, port: target.port, ipv6Only: target.address.includes(':') }, () => {
          tcp.off('error', onError);
          resolve();
        });
      }).catch(async (error: Error) => {
        await this.close();
        throw error;
      });
      this.tcpServers.push(tcp);
      const address = tcp.address();
      const bound = typeof address === 'object' && address ? { address: address.address, port: address.port } : { ...target };
      this.bound.push(bound);
      this.logger.info(`Server listening on ${bound.address} port ${bound.port}.`);
    }
    return [...this.bound];
  }

  private accept(socket: Socket): void {
    socket.on('error', () => {}); // the transport reports socket errors as the connection's end
    const endpoints = streamEndpoints(socket);
    const { peer, local } = endpoints;
    if (this.closing) {
      socket.destroy();
      return;
    }
    // sshd.c drop_connection: a penalised source first, then MaxStartups; "#N" is the unauthenticated count.
    const drop = (level: 'info' | 'verbose', reason: string, notice: string): void => {
      this.logger[level](`drop connection #${this.limiter.unauthenticated} from [${peer.address}]:${peer.port} on [${local.address}]:${local.port} ${reason}`);
      // sshd writes the notice and closes at once; waiting for the peer's FIN would let a flood hold descriptors.
      socket.end(notice, () => socket.destroy());
      setTimeout(() => socket.destroy(), 1000).unref();
    };
    const penalty = this.penalties.check(peer.address);
    if (penalty !== null) {
      // OpenSSH 9.8's notice; nothing else is read or sent, so no crypto is spent on the source.
      drop('info', penalty, 'Not allowed at this time\r\n');
      return;
    }
    const admission = this.limiter.admit(peer.address);
    if (!admission.admitted) {
      drop(admission.level, 'past MaxStartups', 'Exceeded MaxStartups\r\n');
      return;
    }
    this.logger.verbose(`Connection from ${peer.address} port ${peer.port} on ${local.address} port ${local.port}`);
    const stream = withSharedReads(socket);
    stream.on('error', () => {});
    const penalties = this.penalties;
    const connection = this.startConnection(stream, endpoints, () => admission.release());
    connection?.once('closed', () => {
      const end = connection.preauthEnd;
      // As sshd's listener, which kills its children when it exits: no penalty for our own shutdown.
      if (end && !this.closing) penalties.penalise(peer.address, classifyPreauthEnd(end));
    });
  }

  /**
   * Serves one connection on a stream that is already connected (sshd -i: stdin/stdout from inetd or a
   * ProxyCommand). Resolves with the connection once it has ended; the server closes with it.
   */
  async serveStream(stream: Duplex, endpoints: ConnectionEndpoints = streamEndpoints(stream)): Promise<ServerConnection> {
    this.runtime ??= await this.buildRuntime();
    this.options = { ...this.options, singleConnection: true };
    this.logger.verbose(`Connection from ${endpoints.peer.address} port ${endpoints.peer.port} on ${endpoints.local.address} port ${endpoints.local.port}`);
    const connection = this.startConnection(stream, endpoints, () => {});
    if (!connection) throw new Error('cannot start the connection');
    await new Promise<void>((resolve) => this.once('close', () => resolve()));
    return connection;
  }

  private startConnection(stream: Duplex, endpoints: ConnectionEndpoints, release: () => void): ServerConnection | undefined {
    const runtime = this.runtime!;
    let connection: ServerConnection;
    try {
      connection = new ServerConnection(stream, runtime, endpoints);
    } catch (error) {
      this.logger.error(`cannot start connection from ${endpoints.peer.address}: ${(error as Error).message}`);
      release();
      stream.destroy();
      return undefined;
    }
    this.connections.add(connection);
    connection.once('authenticated', release);
    connection.once('closed', () => {
      release();
      this.connections.delete(connection);
      this.memory?.connectionClosed();
      this.emit('connection-closed', connection);
      if (this.options.singleConnection) void this.close();
    });
    this.emit('connection', connection);
    connection.run().catch((error: Error) => {
      // run() handles its own failures; this is the last line of defence for the process.
      this.logger.error(`connection from ${endpoints.peer.address}: ${error.message}`);
      stream.destroy();
    });
    return connection;
  }

  /**
   * sshd's SIGHUP: stop listening, take the new configuration and host keys, listen again. sshd re-executes
   * itself for this; here the connections already open keep running on the settings they started with
   * (as sshd's per-connection processes do), and only new connections see the new ones.
   */
  async reload(next: ServerReload): Promise<BoundAddress[]> {
    if (this.closing) return [];
    const listeners = this.tcpServers;
    this.tcpServers = [];
    this.bound = [];
    await Promise.all(listeners.map((tcp) => new Promise<void>((resolve) => tcp.close(() => resolve()))));
    this.options = { ...this.options, config: next.config, hostKeys: next.hostKeys, passwords: next.passwords ?? this.options.passwords };
    const settings = next.config.settings;
    // sshd re-executes itself on SIGHUP: its counts and penalty table start afresh.
    this.limiter = this.startupLimiter(settings);
    this.penalties = this.penaltyTable(settings);
    this.runtime = await this.buildRuntime();
    return this.listen();
  }

  /** Stops listening and ends every connection. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.memory?.stop();
    await Promise.all(this.tcpServers.map((tcp) => new Promise<void>((resolve) => tcp.close(() => resolve()))));
    const open = [...this.connections];
    for (const connection of open) connection.disconnect();
    await Promise.all(open.map((c) => c.transport.closed));
    this.holders?.closeAll();
    this.emit('close');
  }
}

export function createServer(options: ServerOptions): Server {
  return new Server(options);
}
