/**
 * One client connection, from the identification exchange to the end: key exchange, authentication within
 * LoginGraceTime, then the connection protocol with session channels, the host-key announcement and
 * ClientAlive probes. Whatever goes wrong stays inside this connection: errors end it with a DISCONNECT and
 * a log line, never the server.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { DEFAULT_HOST_KEY_ALGORITHMS, Transport, type AlgorithmPreferences } from '../transport/transport.ts';
import { setTypeOfService } from '../transport/type-of-service.ts';
import { Connection, type ConnectionFault, type IncomingChannelOpen, type LimitEvent } from '../connection/connection.ts';
import { CHANNEL_OPEN_FAILURE, DISCONNECT_REASON } from '../wire/message-numbers.ts';
import { DecodeError, DisconnectError, ProtocolError } from '../wire/errors.ts';
import { IdentificationError } from '../transport/version.ts';
import type { SshdConfig } from '../config/sshd/index.ts';
import type { PrivateKey } from '../keys/index.ts';
import { authenticateServer, type AuthenticatedUser } from '../auth/server-auth.ts';
import type { PasswordVerifier } from '../auth/server-password.ts';
import type { UserAccount } from './accounts.ts';
import { ConnectionAuthPolicy, type ConnectionEndpoints } from './auth-policy.ts';
import type { HandlerContext, ServerHandlers } from './handlers.ts';
import { announceHostKeys, HOSTKEYS_PROVE_REQUEST, proveHostKeys } from './host-key-announce.ts';
import { KEEPALIVE_REQUEST, startClientAlive } from './keepalive.ts';
import type { ServerLogger } from './logger.ts';
import { sanitizeForLog } from './logger.ts';
import { SessionChannel, type ProcessStarter } from './session-channel.ts';
import type { SessionContext } from './session-environment.ts';
import { runAsConnection, type ContainedConnection } from './containment.ts';
import { ConnectionResources, defaultPerUserLimits, ServerResources } from './resource-limits.ts';
import type { PreauthEnd } from './penalties.ts';
import type { SystemPaths } from './system-paths.ts';
import type { SessionHolders } from './session-holders.ts';
import { storeDelegatedCredentials, type StoredCredentials } from './gssapi-credentials.ts';
import { ForwardedAgentSocket, forwardedAgentSocket } from './agent-forwarding.ts';
import type { ConnectionCredentials } from './held-session-files.ts';

/** What every connection of one server shares. */
export interface ServerRuntime {
  config: SshdConfig;
  hostKeys: readonly PrivateKey[];
  algorithms: AlgorithmPreferences;
  chooseDhGroup: (min: number, preferred: number, max: number) => { prime: Buffer; generator: Buffer };
  passwords: PasswordVerifier;
  logger: ServerLogger;
  /** Sessions run as the authenticated user (the server runs as root). */
  switchUser: boolean;
  /** For a non-root server: the only account that may log in (its own). */
  onlyAccount?: UserAccount;
  handlers: ServerHandlers;
  startProcess: ProcessStarter;
  softwareVersion?: string;
  /** Per-user counts and the descriptor budget, shared by every connection of the server. */
  resources?: ServerResources;
  /** /etc/ssh/sshrc, /etc/motd and the login records sessions use. */
  paths?: SystemPaths;
  /** The users' session holders (PersistentSessions); without them no session is held. */
  holders?: SessionHolders;
}

const TOO_MANY_FAILURES = 'Too many authentication failures';

export type ConnectionPhase = 'handshake' | 'authenticating' | 'authenticated' | 'closed';

/** Numbers for the log ("connection #12"), unique in this process. */
let connectionNumbers = 0;
/** For a runtime built without shared resources (library use): one set for the process. */
let processResources: ServerResources | undefined;

/**
 * Where a connection's stream comes from. A TCP socket carries its addresses; any other stream (sshd -i on
 * pipes from a ProxyCommand) is "UNKNOWN" port 65535 at both ends, as packet.c's ssh_remote_ipaddr says
 * when the connection is not on a socket.
 */
export function streamEndpoints(stream: Duplex): ConnectionEndpoints {
  const socket = stream as Partial<Socket>;
  if (typeof socket.remoteAddress !== 'string' || typeof socket.localAddress !== 'string') {
    return { peer: { address: 'UNKNOWN', port: 65535 }, local: { address: 'UNKNOWN', port: 65535 } };
  }
  return {
    peer: { address: stripMappedPrefix(socket.remoteAddress), port: socket.remotePort ?? 0 },
    local: { address: stripMappedPrefix(socket.localAddress), port: socket.localPort ?? 0 },
  };
}

export class ServerConnection extends EventEmitter implements ContainedConnection {
  readonly id = ++connectionNumbers;
  /** The byte stream the connection runs on: a TCP socket, or stdin/stdout for sshd -i. */
  readonly socket: Duplex;
  readonly endpoints: ConnectionEndpoints;
  readonly transport: Transport;
  private readonly runtime: ServerRuntime;
  private readonly policy: ConnectionAuthPolicy;
  private readonly sessions = new Set<SessionChannel>();
  private phase: ConnectionPhase = 'handshake';
  private noMoreSessions = false;
  private authenticated: AuthenticatedUser | undefined;
  private closeError: Error | null | undefined;
  private graceExceeded = false;
  private crashed = false;
  private handlerContext: HandlerContext | undefined;
  /** The ccache of a delegated Kerberos credential (gssapi-with-mic), KRB5CCNAME in the sessions. */
  private gssapiCredentials: StoredCredentials | undefined;
  connection: Connection | undefined;

  constructor(socket: Duplex, runtime: ServerRuntime, endpoints: ConnectionEndpoints = streamEndpoints(socket)) {
    super();
    this.socket = socket;
    this.runtime = runtime;
    this.endpoints = endpoints;
    const settings = runtime.config.settings;
    this.transport = new Transport({
      role: 'server',
      stream: socket,
      hostKeys: [...runtime.hostKeys],
      algorithms: runtime.algorithms,
      chooseDhGroup: runtime.chooseDhGroup,
      // Only what we can verify: OpenSSH's list also names certificate and security-key algorithms.
      serverSignatureAlgorithms: settings.pubkeyAcceptedAlgorithms.filter((name) => DEFAULT_HOST_KEY_ALGORITHMS.includes(name)),
      rekeyLimitBytes: settings.rekeyLimit.bytes > 0 ? settings.rekeyLimit.bytes : undefined,
      rekeyIntervalSeconds: settings.rekeyLimit.intervalSeconds,
      softwareVersion: runtime.softwareVersion,
      debug: (message) => runtime.logger.debug(message),
    });
    this.policy = new ConnectionAuthPolicy({
      config: runtime.config,
      endpoints: this.endpoints,
      passwords: runtime.passwords,
      logger: runtime.logger,
      onlyAccount: runtime.onlyAccount,
      holders: runtime.holders,
    });
  }

  get state(): ConnectionPhase {
    return this.phase;
  }

  get user(): string | undefined {
    return this.authenticated?.user ?? this.policy.user;
  }

  private get from(): string {
    return `${this.endpoints.peer.address} port ${this.endpoints.peer.port}`;
  }

  /**
   * Runs the connection to its end; never rejects. Emits 'authenticated' and 'closed'. Everything it starts
   * runs in its containment scope (containment.ts), so a failure nobody caught is still this connection's.
   */
  run(): Promise<void> {
    return runAsConnection(this, () => this.serve());
  }

  /** "user alice from 10.0.0.5 port 51234", or the address alone before authentication. */
  describe(): string {
    return this.authenticated ? `user ${sanitizeForLog(this.authenticated.user)} from ${this.from}` : this.from;
  }

  /** Ends this connection because handling it failed (the last-resort guard has logged why). */
  abort(error: Error): void {
    if (error instanceof ProtocolError || error instanceof DecodeError) return this.transport.fail(error);
    this.crashed = true; // sshd's child killed by a signal: PerSourcePenalties' "crash"
    this.transport.fail(new DisconnectError('internal error', DISCONNECT_REASON.BY_APPLICATION, false));
  }

  private async serve(): Promise<void> {
    const { logger, config } = this.runtime;
    const graceSeconds = config.settings.loginGraceTime;
    const grace =
      graceSeconds > 0
        ? setTimeout(() => {
            logger.info(`Timeout before authentication for ${this.from}`);
            this.graceExceeded = true;
            this.socket.destroy();
          }, graceSeconds * 1000)
        : undefined;
    grace?.unref();
    try {
      const authentication = authenticateServer(this.transport, this.policy);
      authentication.catch(() => {}); // awaited below; this only keeps an early handshake failure handled
      await this.transport.ready;
      this.phase = 'authenticating';
      this.authenticated = await authentication;
      clearTimeout(grace);
      this.storeGssapiCredentials();
      this.phase = 'authenticated';
      this.emit('authenticated');
      this.startConnectionProtocol(this.authenticated);
    } catch {
      // The reason is logged below from the transport's closing error.
    } finally {
      clearTimeout(grace);
    }
    const error = await this.transport.closed;
    this.closeError = error;
    this.policy.takeGssapiContext()?.dispose();
    // sshd's do_cleanup: ssh_gssapi_cleanup_creds when GSSAPICleanupCredentials is yes.
    if (this.gssapiCredentials && this.policy.settings.gssapiCleanupCredentials) this.gssapiCredentials.remove();
    this.phase = 'closed';
    for (const session of this.sessions) session.connectionEnded();
    this.logClosed(error);
    this.emit('closed');
  }

  /**
   * What sshd -i exits with once the connection is over: 0 when an authenticated connection ended with the
   * client closing it (serverloop.c: "Connection closed by ..."), 255 for everything sshd ends through
   * sshpkt_fatal or a disconnect (banner exchange, authentication failure, protocol errors).
   */
  get exitStatus(): number {
    if (this.phase !== 'closed' || !this.authenticated) return 255;
    const error = this.closeError;
    if (error === null || error === undefined) return 0;
    return error instanceof DisconnectError && error.byPeer && error.reason === DISCONNECT_REASON.CONNECTION_LOST ? 0 : 255;
  }

  /** How a connection that closed without authenticating ended (PerSourcePenalties); undefined otherwise. */
  get preauthEnd(): PreauthEnd | undefined {
    if (this.phase !== 'closed' || this.authenticated) return undefined;
    return { graceExceeded: this.graceExceeded, crashed: this.crashed, authAttempted: this.policy.attempted, error: this.closeError ?? null };
  }

  /** Ends the connection from our side (server shutdown). */
  disconnect(description = 'Server shutting down'): void {
    this.transport.disconnect(DISCONNECT_REASON.BY_APPLICATION, description);
  }

  private logClosed(error: Error | null): void {
    const { logger } = this.runtime;
    const preauth = this.authenticated ? '' : ' [preauth]';
    const user = this.user;
    const who = this.authenticated
      ? `user ${sanitizeForLog(this.authenticated.user)} `
      : user !== undefined
        ? `${this.policy.account ? 'authenticating' : 'invalid'} user ${sanitizeForLog(user)} `
        : '';
    const at = `${this.endpoints.peer.address} port ${this.endpoints.peer.port}`;
    if (error instanceof IdentificationError) {
      // sshd.c: sshpkt_fatal(ssh, r, "banner exchange") after kex_exchange_identification's own line.
      logger.error(sanitizeForLog(error.message));
      const reason = error.reply.startsWith('Protocol') ? 'could not read protocol version' : 'invalid format';
      logger.error(`banner exchange: Connection from ${at}: ${reason}`);
    } else if (error instanceof DisconnectError && error.byPeer) {
      if (error.reason === DISCONNECT_REASON.CONNECTION_LOST) {
        logger.info(`Connection closed by ${who}${at}${preauth}`);
      } else {
        const text = error.message.replace(/^Received disconnect from client peer: /, '');
        logger.info(`Received disconnect from ${at}:${text}${preauth}`);
        logger.info(`Disconnected from ${who}${at}${preauth}`);
      }
    } else if (error === null) {
      if (this.authenticated) logger.info(`Disconnected from ${who}${at}`);
    } else if (error.message !== TOO_MANY_FAILURES) {
      // Our side ended it: a protocol violation, a bad MAC, a malformed packet (MaxAuthTries is logged already).
      logger.info(`ssh_dispatch_run_fatal: Connection from ${who}${at}: ${sanitizeForLog(error.message)}${preauth}`);
    }
  }

  /** sshd.c after authentication: ssh_gssapi_storecreds, as the user, for the sessions to find. */
  private storeGssapiCredentials(): void {
    const acceptor = this.policy.takeGssapiContext();
    if (!acceptor) return;
    try {
      if (this.policy.account) this.gssapiCredentials = storeDelegatedCredentials(acceptor, this.policy.account, this.runtime.logger);
    } finally {
      acceptor.dispose();
    }
  }

  private sessionContext(auth: AuthenticatedUser): SessionContext {
    return {
      account: this.policy.account!,
      settings: this.policy.settings,
      restrictions: auth.restrictions,
      peer: this.endpoints.peer,
      local: this.endpoints.local,
      switchUser: this.runtime.switchUser,
      paths: this.runtime.paths,
      markInteractive: (interactive) => {
        const { ipQoS } = this.policy.settings;
        setTypeOfService(this.socket, interactive ? ipQoS.interactive : ipQoS.bulk);
      },
    };
  }

  private startConnectionProtocol(auth: AuthenticatedUser): void {
    const { logger, handlers, hostKeys } = this.runtime;
    const session = this.sessionContext(auth);
    const { settings } = session;
    const connection = new Connection(this.transport, auth.earlierPackets, {
      limits: { maxChannels: settings.maxChannels, maxPendingOpens: settings.maxPendingOpens, maxPendingGlobalRequests: settings.maxPendingGlobalRequests },
    });
    this.connection = connection;
    const resources = this.connectionResources(auth.user, settings, connection);
    const context: HandlerContext = { connection, session, log: logger, sessionEnv: new Map(), resources };
    if (this.gssapiCredentials) context.sessionEnv.set('KRB5CCNAME', this.gssapiCredentials.ccacheName);
    this.handlerContext = context;
    connection.once('close', () => resources.releaseAll());
    connection.on('limit', (event: LimitEvent) => {
      if (event.limit === 'pending-global-requests') {
        resources.logRefusal('MaxPendingGlobalRequests', event.max, `to read more global requests (${sanitizeForLog(event.name, 64)} pending)`);
      } else {
        const keyword = event.limit === 'channels' ? 'MaxChannels' : 'MaxPendingOpens';
        resources.logRefusal(keyword, event.max, `channel open ${sanitizeForLog(event.type, 64)}`);
      }
    });
    connection.on('fault', (fault: ConnectionFault) => {
      logger.error(`error: connection #${this.id} (${this.describe()}): ${sanitizeForLog(fault.message, 512)}; closing that connection`);
      logger.debug(`connection #${this.id}: ${(fault.original.stack ?? '').split('\n').slice(1, 6).map((l) => l.trim()).join(' | ')}`);
    });

    connection.onChannelOpen = (request) => {
      if (request.type === 'session') return this.openSession(request, session);
      const handler = handlers.channels.get(request.type);
      if (handler) return handler(request, context);
      request.reject(CHANNEL_OPEN_FAILURE.UNKNOWN_CHANNEL_TYPE, `unknown channel type ${sanitizeForLog(request.type, 64)}`);
    };
    // The connection keeps replies in request order, however late a handler answers.
    connection.onGlobalRequest = (request) => {
      switch (request.name) {
        case KEEPALIVE_REQUEST:
          return request.reply(false); // as sshd: any reply proves liveness
        case 'no-more-sessions@openssh.com':
          this.noMoreSessions = true;
          return request.reply(true);
        case HOSTKEYS_PROVE_REQUEST:
          return proveHostKeys(request, hostKeys, this.transport.sessionId!, this.transport.negotiated?.hostKey);
      }
      const handler = handlers.globalRequests.get(request.name);
      if (handler) return handler(request, context);
      request.reply(false);
    };
    announceHostKeys(connection, hostKeys);
    startClientAlive(connection, session.settings.clientAliveInterval, session.settings.clientAliveCountMax, () => {
      logger.info(`Timeout, client not responding from user ${sanitizeForLog(auth.user)} ${this.from}`);
      this.transport.disconnect(DISCONNECT_REASON.BY_APPLICATION, 'Timeout, client not responding');
    });
  }

  /** This connection's share of the server's resources, with its caps from the settings after Match. */
  private connectionResources(user: string, settings: SessionContext['settings'], connection: Connection): ConnectionResources {
    const shared = this.runtime.resources ?? (processResources ??= new ServerResources());
    const perUser = defaultPerUserLimits(shared.descriptorLimit);
    const caps = {
      maxForwards: settings.maxForwards,
      maxForwardsPerUser: settings.maxForwardsPerUser ?? perUser.forwards,
      maxSessionsPerUser: settings.maxSessionsPerUser ?? perUser.sessions,
    };
    const who = `user ${sanitizeForLog(user)} from ${this.from}`;
    return new ConnectionResources(shared, user, caps, this.runtime.logger, who, () => connection.noteRefusal());
  }

  /** What a held session on this connection takes its ccache and agent from (held-session-files.ts). */
  private heldSessionCredentials(): ConnectionCredentials | undefined {
    const context = this.handlerContext;
    if (!context) return undefined;
    return {
      ccache: () => this.gssapiCredentials,
      agent: () => forwardedAgentSocket(context.connection),
      newAgentListener: () => new ForwardedAgentSocket(context),
    };
  }

  private openSession(request: IncomingChannelOpen, context: SessionContext): void {
    const { logger, startProcess } = this.runtime;
    if (this.noMoreSessions) {
      logger.info('Possible attack: attempt to open a session after additional sessions disabled');
      return request.reject(CHANNEL_OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, 'open failed');
    }
    if (this.sessions.size >= context.settings.maxSessions) {
      logger.info(`error: no more sessions (MaxSessions ${context.settings.maxSessions})`);
      return request.reject(CHANNEL_OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, 'open failed');
    }
    const held = this.handlerContext?.resources.takeSession();
    if (!held) return request.reject(CHANNEL_OPEN_FAILURE.RESOURCE_SHORTAGE, 'too many sessions');
    const channel = request.accept();
    channel.once('channel-closed', () => held.release());
    const extensions = this.runtime.handlers.sessionRequests && this.handlerContext
      ? { handlers: this.runtime.handlers.sessionRequests, context: this.handlerContext }
      : undefined;
    const { holders } = this.runtime;
    const persistence = holders && this.connection
      ? {
          holders,
          account: { name: context.account.name, uid: context.account.uid, gid: context.account.gid },
          settings: context.settings,
          restrictions: context.restrictions,
          log: logger,
          from: this.from,
          connectionGone: () => this.transport.isClosed,
          credentials: this.heldSessionCredentials(),
          switchUser: this.runtime.switchUser,
        }
      : undefined;
    const session = new SessionChannel(channel, context, logger, startProcess, extensions, persistence);
    this.sessions.add(session);
    channel.once('channel-closed', () => this.sessions.delete(session));
  }
}

/** "::ffff:127.0.0.1" → "127.0.0.1", as sshd reports IPv4 clients on a dual-stack socket. */
export function stripMappedPrefix(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
