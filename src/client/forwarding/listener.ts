/**
 * Local listening sockets for -L and -D, bound as ssh binds them (channels.c channel_fwd_bind_addr, client
 * side): no address means loopback only unless GatewayPorts is set, `*` or an empty address means every
 * interface, anything else is taken literally. Loopback and wildcard binds cover IPv4 and IPv6 where the
 * machine has it. Unix-domain listeners get StreamLocalBindMask permissions.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, unlinkSync } from 'node:fs';

export interface ListenSpec {
  /** undefined: loopback (or every interface with gatewayPorts); '' or '*': every interface. */
  bindAddress?: string;
  /** TCP port; 0 asks the kernel for one. */
  bindPort?: number;
  /** A Unix-domain socket path instead of a TCP port. */
  bindPath?: string;
  gatewayPorts?: boolean;
  /** StreamLocalBindMask (default 0o177: owner only). */
  bindMask?: number;
  /** StreamLocalBindUnlink: remove a stale socket file before binding. */
  bindUnlink?: boolean;
}

/** A local forward could not listen; the message reads like ssh's. */
export class ForwardSetupError extends Error {
  override readonly name = 'ForwardSetupError';
}

const ERRNO_TEXT: Record<string, string> = {
  EADDRINUSE: 'Address already in use',
  EACCES: 'Permission denied',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENOENT: 'No such file or directory',
};

function errnoText(error: NodeJS.ErrnoException): string {
  return (error.code && ERRNO_TEXT[error.code]) ?? error.message;
}

/** The addresses to bind for a TCP listen spec, most important first; later ones are best-effort. */
export function bindAddresses(spec: ListenSpec): { required: string; optional: string[] } {
  const address = spec.bindAddress;
  const wildcard = address === undefined ? spec.gatewayPorts === true : address === '' || address === '*';
  if (wildcard) return { required: '0.0.0.0', optional: ['::'] };
  if (address === undefined || address === 'localhost') return { required: '127.0.0.1', optional: ['::1'] };
  return { required: address, optional: [] };
}

function listenOn(server: Server, options: { host?: string; port?: number; path?: string; ipv6Only?: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(options, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export class ForwardListener {
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  /** The TCP port listened on (the allocated one when 0 was asked for). */
  port = 0;
  readonly path: string | undefined;
  readonly spec: ListenSpec;

  private constructor(spec: ListenSpec) {
    this.spec = spec;
    this.path = spec.bindPath;
  }

  /** Listens as `spec` says and hands each accepted connection (half-close enabled) to `onConnection`. */
  static async open(spec: ListenSpec, onConnection: (socket: Socket) => void): Promise<ForwardListener> {
    const listener = new ForwardListener(spec);
    const makeServer = () => {
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: false, noDelay: true }, (socket) => {
        listener.sockets.add(socket);
        socket.once('close', () => listener.sockets.delete(socket));
        onConnection(socket);
      });
      listener.servers.push(server);
      return server;
    };
    if (spec.bindPath !== undefined) {
      const path = spec.bindPath;
      if (spec.bindUnlink) {
        try {
          unlinkSync(path);
        } catch {
          // Nothing to remove.
        }
      }
      try {
        await listenOn(makeServer(), { path });
        chmodSync(path, 0o666 & ~(spec.bindMask ?? 0o177));
      } catch (error) {
        listener.close();
        throw new ForwardSetupError(`unix_listener: cannot bind to path ${path}: ${errnoText(error as NodeJS.ErrnoException)}`);
      }
      return listener;
    }
    const { required, optional } = bindAddresses(spec);
    try {
      await listenOn(makeServer(), { host: required, port: spec.bindPort ?? 0, ipv6Only: required === '::' });
    } catch (error) {
      listener.close();
      const shown = required.includes(':') ? `[${required}]` : required;
      throw new ForwardSetupError(
        `bind [${shown.replace(/^\[|\]$/g, '')}]:${spec.bindPort ?? 0}: ${errnoText(error as NodeJS.ErrnoException)}\n` +
          `channel_setup_fwd_listener_tcpip: cannot listen to port: ${spec.bindPort ?? 0}`,
      );
    }
    const address = listener.servers[0]!.address();
    listener.port = typeof address === 'object' && address ? address.port : 0;
    for (const host of optional) {
      // The IPv6 twin of a loopback or wildcard bind, on the same port; a machine without IPv6 just skips it.
      const server = makeServer();
      try {
        await listenOn(server, { host, port: listener.port, ipv6Only: true });
      } catch {
        listener.servers.splice(listener.servers.indexOf(server), 1);
        server.close();
      }
    }
    return listener;
  }

  /** Stops listening; with `dropConnections`, also ends connections already forwarded. */
  close(dropConnections = false): void {
    for (const server of this.servers) server.close();
    this.servers.length = 0;
    if (dropConnections) for (const socket of this.sockets) socket.destroy();
  }

  /** Every address listened on, as host:port (or the socket path). */
  get addresses(): string[] {
    return this.servers.map((server) => {
      const address = server.address();
      if (typeof address === 'string' || address === null) return address ?? '';
      return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
    });
  }
}
