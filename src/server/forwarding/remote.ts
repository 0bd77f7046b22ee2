/**
 * Listeners the client asks the server to open: `tcpip-forward` / `cancel-tcpip-forward` (RFC 4254 §7.1;
 * ssh -R) and `streamlocal-forward@openssh.com` / `cancel-streamlocal-forward@openssh.com` (OpenSSH PROTOCOL
 * §2.4). Each accepted connection becomes a `forwarded-tcpip` or `forwarded-streamlocal@openssh.com` channel
 * to the client. A connection's listeners close when it cancels them and when the connection ends. Each forward
 * holds a share of MaxForwards / MaxForwardsPerUser and descriptors from the server's budget, and each
 * connection accepted on it one descriptor, until it is gone (resource-limits.ts).
 */
import { lookup } from 'node:dns/promises';
import { lstatSync, unlinkSync, chownSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { DecodeError } from '../../wire/errors.ts';
import type { Connection, IncomingGlobalRequest } from '../../connection/connection.ts';
import type { GlobalRequestHandler, HandlerContext } from '../handlers.ts';
import { sanitizeForLog } from '../logger.ts';
import { stripMappedPrefix } from '../server-connection.ts';
import { bridge } from '../../connection/socket-bridge.ts';
import { forwardingRules } from './direct.ts';
import { systemErrorText } from './error-text.ts';
import { decodeStreamlocalForward, decodeTcpipForward, encodeAllocatedPort, encodeForwardedStreamlocal, encodeForwardedTcpip } from '../../connection/forwarding-messages.ts';
import { bindTarget, listenPermitted, listenPortPermitted, streamLocalForwardingAllowed, tcpForwardingAllowed, type BindTarget } from './policy.ts';
import { sendDebugMessage } from './debug-message.ts';
import { checkMayCreate } from './user-access.ts';
import type { Grant } from '../resource-limits.ts';
import { LISTEN_BACKLOG, listenTcp } from '../tcp-listener.ts';

/** Descriptors a TCP forward is counted for: one listener per address family. */
const TCP_FORWARD_DESCRIPTORS = 2;

/** A listener could not be set up; the message is sshd's log wording. */
export class ForwardListenError extends Error {
  override readonly name = 'ForwardListenError';
}

interface TcpForward {
  /** The bind address exactly as the client sent it: forwarded-tcpip channels repeat it. */
  bindAddress: string;
  port: number;
  servers: Server[];
  held: Grant;
}

interface UnixForward {
  path: string;
  server: Server;
  held: Grant;
}

/** Addresses to bind for a target, the first required and the rest best-effort (other address families). */
async function addressesFor(target: BindTarget): Promise<string[]> {
  if (target.kind === 'loopback') return ['127.0.0.1', '::1'];
  if (target.kind === 'wildcard') return ['0.0.0.0', '::'];
  const found = await lookup(target.address, { all: true });
  return found.map((entry) => entry.address);
}


/** One connection's remote forwards. */
export class RemoteForwards {
  private readonly context: HandlerContext;
  private readonly tcp = new Map<string, TcpForward>();
  private readonly unix = new Map<string, UnixForward>();
  private closed = false;

  constructor(context: HandlerContext) {
    this.context = context;
    context.connection.once('close', () => this.closeAll());
  }

  private static key(bindAddress: string, port: number): string {
    return `${bindAddress}\u0000${port}`;
  }

  /** Listens as GatewayPorts says; resolves with the port listened on. `held` is released with the forward. */
  async listenTcp(bindAddress: string, requestedPort: number, held: Grant): Promise<number> {
    try {
      return await this.listenTcpHeld(bindAddress, requestedPort, held);
    } catch (error) {
      held.release();
      throw error;
    }
  }

  private async listenTcpHeld(bindAddress: string, requestedPort: number, held: Grant): Promise<number> {
    const target = bindTarget(this.context.session.settings.gatewayPorts, bindAddress);
    if (target.kind === 'wildcard' && target.overridden !== undefined) {
      sendDebugMessage(this.context.connection, `Forwarding listen address "${target.overridden}" overridden by server GatewayPorts`);
    }
    const addresses = await addressesFor(target);
    const servers: Server[] = [];
    let port = requestedPort;
    let firstError: Error | undefined;
    const forward: TcpForward = { bindAddress, port, servers, held };
    const onConnection = this.context.connection.contain((socket: Socket) => this.onTcpConnection(forward, socket));
    for (const address of addresses) {
      try {
        const server = await listenTcp(address, port, onConnection);
        servers.push(server);
        const bound = server.address();
        // Port 0: the other address families listen on the port the first one was given.
        if (port === 0 && typeof bound === 'object' && bound) port = bound.port;
      } catch (error) {
        firstError ??= error as Error;
        this.context.log.debug(`bind [${address}]:${port}: ${systemErrorText(error as Error)}`);
      }
    }
    if (servers.length === 0) {
      throw new ForwardListenError(`channel_setup_fwd_listener_tcpip: cannot listen to port: ${port}${firstError ? ` (${systemErrorText(firstError)})` : ''}`);
    }
    if (this.closed) {
      servers.forEach((server) => server.close());
      throw new ForwardListenError('connection closed');
    }
    forward.port = port;
    this.tcp.set(RemoteForwards.key(bindAddress, port), forward);
    return port;
  }

  cancelTcp(bindAddress: string, port: number): boolean {
    const key = RemoteForwards.key(bindAddress, port);
    const forward = this.tcp.get(key);
    if (!forward) return false;
    this.tcp.delete(key);
    forward.servers.forEach((server) => server.close());
    forward.held.release();
    return true;
  }

  /** A connection accepted on a forward takes a descriptor from the budget, or is dropped at once. */
  private admit(socket: Socket, what: string): boolean {
    socket.on('error', () => {});
    const held = this.context.resources.takeSocket(`connection to forwarded ${what}`);
    if (!held) {
      socket.destroy();
      return false;
    }
    socket.once('close', () => held.release());
    return true;
  }

  private onTcpConnection(forward: TcpForward, socket: Socket): void {
    if (!this.admit(socket, `port ${forward.port}`)) return;
    const originator = { address: stripMappedPrefix(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
    const data = encodeForwardedTcpip({ address: forward.bindAddress, port: forward.port }, originator);
    this.openToClient('forwarded-tcpip', data, socket, `port ${forward.port}`);
  }

  /**
   * Listens on a Unix-domain socket with StreamLocalBindMask as the umask, removing a stale socket first
   * when StreamLocalBindUnlink says so; a root server hands the socket to the user.
   */
  listenUnix(path: string, held: Grant): Promise<void> {
    const { settings, account, switchUser } = this.context.session;
    if (switchUser) checkMayCreate(path, account, settings.streamLocalBindUnlink);
    if (settings.streamLocalBindUnlink) removeStaleSocket(path);
    const shown = `path ${sanitizeForLog(path, 100)}`;
    const listening = new Promise<void>((resolve, reject) => {
      const onConnection = this.context.connection.contain((socket: Socket) => {
        if (!this.admit(socket, shown)) return;
        this.openToClient('forwarded-streamlocal@openssh.com', encodeForwardedStreamlocal(path), socket, shown);
      });
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, onConnection);
      server.once('error', (error) => reject(new ForwardListenError(`unix_listener: cannot bind to path ${sanitizeForLog(path, 100)}: ${systemErrorText(error)}`)));
      // A Unix socket is bound inside listen() itself, so the umask applies to it and to nothing else.
      const previousMask = process.umask(settings.streamLocalBindMask);
      try {
        server.listen({ path, backlog: LISTEN_BACKLOG });
      } finally {
        process.umask(previousMask);
      }
      server.once('listening', () => {
        server.removeAllListeners('error');
        server.on('error', () => {});
        try {
          if (switchUser) chownSync(path, account.uid, account.gid);
        } catch (error) {
          server.close();
          return reject(new ForwardListenError(`unix_listener: cannot chown ${sanitizeForLog(path, 100)}: ${systemErrorText(error as Error)}`));
        }
        if (this.closed) {
          server.close();
          return reject(new ForwardListenError('connection closed'));
        }
        this.unix.set(path, { path, server, held });
        resolve();
      });
    });
    listening.catch(() => held.release());
    return listening;
  }

  cancelUnix(path: string): boolean {
    const forward = this.unix.get(path);
    if (!forward) return false;
    this.unix.delete(path);
    forward.server.close();
    forward.held.release();
    return true;
  }

  /** Opens the channel for an accepted connection; a refusal from the client just drops the connection. */
  private openToClient(type: string, data: Buffer, socket: Socket, what: string): void {
    this.context.connection.openChannel(type, data).then(
      (channel) => {
        // The connection went away while the client was asked: nothing to join, the channel just closes.
        if (socket.destroyed) return channel.close();
        void bridge(socket, channel);
      },
      (error: Error) => {
        this.context.log.debug(`${type} for ${what}: client refused: ${error.message}`);
        socket.destroy();
      },
    );
  }

  private closeAll(): void {
    this.closed = true;
    for (const forward of this.tcp.values()) {
      forward.servers.forEach((server) => server.close());
      forward.held.release();
    }
    for (const forward of this.unix.values()) {
      forward.server.close();
      forward.held.release();
    }
    this.tcp.clear();
    this.unix.clear();
  }
}

/** Only an existing socket is removed; any other file at the path is left for bind to fail on. */
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Nothing there.
  }
}

const forwardsByConnection = new WeakMap<Connection, RemoteForwards>();

function forwardsOf(context: HandlerContext): RemoteForwards {
  let forwards = forwardsByConnection.get(context.connection);
  if (!forwards) {
    forwards = new RemoteForwards(context);
    forwardsByConnection.set(context.connection, forwards);
  }
  return forwards;
}

/** Decodes with `decode`, answering failure to a malformed request instead of ending the connection. */
function decodeOrFail<T>(request: IncomingGlobalRequest, decode: (data: Buffer) => T): T | undefined {
  try {
    return decode(request.data);
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
    request.reply(false);
    return undefined;
  }
}

/** `tcpip-forward`: AllowTcpForwarding (remote), no-port-forwarding, DisableForwarding, privileged ports, PermitListen. */
export const tcpipForward: GlobalRequestHandler = (request, context) => {
  const wanted = decodeOrFail(request, decodeTcpipForward);
  if (!wanted) return;
  const { bindAddress, port } = wanted;
  const rules = forwardingRules(context);
  const { account, peer } = context.session;
  const shownAddress = sanitizeForLog(bindAddress, 100);
  context.log.debug(`server_input_global_request: tcpip-forward listen ${shownAddress} port ${port}`);
  // sshd refuses a port-0 request without want-reply: the client could never learn the port.
  if (!tcpForwardingAllowed(rules, 'remote') || (!request.wantReply && port === 0) || port > 0xffff || !listenPortPermitted(port, account.uid)) {
    sendDebugMessage(context.connection, 'Server has disabled port forwarding.');
    return request.reply(false);
  }
  if (!listenPermitted(rules, bindAddress, port)) {
    sendDebugMessage(context.connection, 'port forwarding refused');
    context.log.info(`Received request from ${peer.address} port ${peer.port} to remote forward to host ${shownAddress} port ${port}, but the request was denied.`);
    return request.reply(false);
  }
  const held = context.resources.takeForward(TCP_FORWARD_DESCRIPTORS, `tcpip-forward listen ${shownAddress} port ${port}`);
  if (!held) return request.reply(false);
  forwardsOf(context)
    .listenTcp(bindAddress, port, held)
    .then(
      (listening) => {
        context.log.verbose(`remote forward listening on ${shownAddress} port ${listening} for ${account.name}`);
        request.reply(true, port === 0 ? encodeAllocatedPort(listening) : undefined);
      },
      (error: Error) => {
        context.log.info(error instanceof ForwardListenError ? error.message : `tcpip-forward ${shownAddress} port ${port}: ${systemErrorText(error)}`);
        request.reply(false);
      },
    );
};

export const cancelTcpipForward: GlobalRequestHandler = (request, context) => {
  const wanted = decodeOrFail(request, decodeTcpipForward);
  if (!wanted) return;
  const cancelled = forwardsOf(context).cancelTcp(wanted.bindAddress, wanted.port);
  context.log.debug(`server_input_global_request: cancel-tcpip-forward addr ${sanitizeForLog(wanted.bindAddress, 100)} port ${wanted.port}: ${cancelled ? 'done' : 'no such forward'}`);
  request.reply(cancelled);
};

/** `streamlocal-forward@openssh.com`: AllowStreamLocalForwarding (remote), no-port-forwarding, DisableForwarding. */
export const streamlocalForward: GlobalRequestHandler = (request, context) => {
  const wanted = decodeOrFail(request, decodeStreamlocalForward);
  if (!wanted) return;
  const shownPath = sanitizeForLog(wanted.path, 100);
  context.log.debug(`server_input_global_request: streamlocal-forward listen path ${shownPath}`);
  if (!streamLocalForwardingAllowed(forwardingRules(context), 'remote')) {
    sendDebugMessage(context.connection, 'Server has disabled streamlocal forwarding.');
    return request.reply(false);
  }
  const held = context.resources.takeForward(1, `streamlocal-forward listen path ${shownPath}`);
  if (!held) return request.reply(false);
  let listening: Promise<void>;
  try {
    listening = forwardsOf(context).listenUnix(wanted.path, held);
  } catch (error) {
    held.release();
    context.log.info(`unix_listener: cannot bind to path ${shownPath}: ${systemErrorText(error as Error)}`);
    return request.reply(false);
  }
  listening.then(
    () => request.reply(true),
    (error: Error) => {
      context.log.info(error.message);
      request.reply(false);
    },
  );
};

export const cancelStreamlocalForward: GlobalRequestHandler = (request, context) => {
  const wanted = decodeOrFail(request, decodeStreamlocalForward);
  if (!wanted) return;
  request.reply(forwardsOf(context).cancelUnix(wanted.path));
};
