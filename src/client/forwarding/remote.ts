/**
 * Remote forwarding (-R, RemoteForward): asks the server to listen (tcpip-forward, RFC 4254 §7.1, or
 * streamlocal-forward@openssh.com, PROTOCOL §2.4) and connects each forwarded-tcpip /
 * forwarded-streamlocal channel the server then opens to the local target. The channel is accepted only once
 * the local connection is made, so a dead target is reported to the server as "connect failed". A forward
 * without a target is a remote dynamic one: its channels carry SOCKS requests we serve (remote-socks.ts).
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { Connection, IncomingChannelOpen } from '../../connection/connection.ts';
import { CHANNEL_OPEN_FAILURE } from '../../wire/message-numbers.ts';
import { bridge } from '../../connection/socket-bridge.ts';
import type { ForwardTarget } from './direct.ts';
import { serveRemoteSocks, type RemoteOpenPermission } from './remote-socks.ts';
import {
  decodeAllocatedPort, decodeForwardedStreamlocal, decodeForwardedTcpip, encodeStreamlocalForward, encodeTcpipForward,
} from '../../connection/forwarding-messages.ts';

/** The server refused a remote forward. */
export class RemoteForwardError extends Error {
  override readonly name = 'RemoteForwardError';
}

export type RemoteListen = { bindAddress?: string; bindPort: number } | { bindPath: string };

export interface RemoteForward {
  listen: RemoteListen;
  /** Where connections go; undefined for a remote dynamic (SOCKS) forward. */
  target: ForwardTarget | undefined;
  /** The port the server listens on (the allocated one when 0 was asked for); undefined for a path. */
  port: number | undefined;
}

/** ssh's channel_rfwd_bind_host: no address means "localhost", `*` means every interface (""). */
export function remoteBindAddress(bindAddress: string | undefined): string {
  if (bindAddress === undefined) return 'localhost';
  if (bindAddress === '' || bindAddress === '*') return '';
  return bindAddress;
}

function connectLocal(target: ForwardTarget): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = 'path' in target
      ? netConnect({ path: target.path, allowHalfOpen: true })
      : netConnect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** Channel opens kept waiting for an outstanding forward request at most. */
const MAX_HELD_OPENS = 64;

export class RemoteForwards {
  private readonly connection: Connection;
  private readonly forwards: RemoteForward[] = [];
  private requestsPending = 0;
  private readonly held: Array<() => void> = [];
  onError: ((message: string) => void) | undefined;
  debug: ((message: string) => void) | undefined;
  /** PermitRemoteOpen: the destinations remote dynamic forwards may reach; undefined for any. */
  permitted: readonly RemoteOpenPermission[] | undefined;

  constructor(connection: Connection) {
    this.connection = connection;
  }

  /**
   * Requests a remote listener; resolves with the forward (its allocated port filled in) or rejects. Without
   * a target, connections to it are served as SOCKS requests (remote dynamic forwarding).
   */
  async add(listen: RemoteListen, target?: ForwardTarget): Promise<RemoteForward> {
    this.requestsPending++;
    try {
      const forward = await this.request(listen, target);
      this.forwards.push(forward);
      return forward;
    } finally {
      if (--this.requestsPending === 0) this.releaseHeld();
    }
  }

  private async request(listen: RemoteListen, target: ForwardTarget | undefined): Promise<RemoteForward> {
    const forward: RemoteForward = { listen, target, port: undefined };
    if ('bindPath' in listen) {
      const reply = await this.connection.globalRequest('streamlocal-forward@openssh.com', encodeStreamlocalForward(listen.bindPath), true);
      if (!reply.success) throw new RemoteForwardError(`remote port forwarding failed for listen path ${listen.bindPath}`);
    } else {
      const address = remoteBindAddress(listen.bindAddress);
      const reply = await this.connection.globalRequest('tcpip-forward', encodeTcpipForward(address, listen.bindPort), true);
      if (!reply.success) throw new RemoteForwardError(`remote port forwarding failed for listen port ${listen.bindPort}`);
      forward.port = listen.bindPort === 0 ? decodeAllocatedPort(reply.data) : listen.bindPort;
      if (forward.port === undefined || forward.port > 65535) throw new RemoteForwardError(`invalid allocated port for listen port ${listen.bindPort}`);
    }
    return forward;
  }

  /**
   * A connection can reach the server's new listener, and its channel open arrive here, in the same read as
   * the request's success reply, before the awaiting code has recorded the forward. Such opens wait (a
   * bounded number) until no request is outstanding, and are then matched again.
   */
  private hold(request: IncomingChannelOpen, dispatch: (request: IncomingChannelOpen) => void): boolean {
    if (this.requestsPending === 0 || this.held.length >= MAX_HELD_OPENS) return false;
    this.held.push(() => dispatch(request));
    return true;
  }

  private releaseHeld(): void {
    for (const retry of this.held.splice(0)) retry();
  }

  /** Cancels a remote forward (cancel-tcpip-forward / cancel-streamlocal-forward@openssh.com). */
  async cancel(match: { bindAddress?: string; port: number } | { path: string }): Promise<boolean> {
    const index = this.forwards.findIndex((f) =>
      'path' in match
        ? 'bindPath' in f.listen && f.listen.bindPath === match.path
        : !('bindPath' in f.listen) && f.port === match.port && (match.bindAddress === undefined || f.listen.bindAddress === match.bindAddress),
    );
    if (index < 0) return false;
    const forward = this.forwards[index]!;
    const reply = 'bindPath' in forward.listen
      ? await this.connection.globalRequest('cancel-streamlocal-forward@openssh.com', encodeStreamlocalForward(forward.listen.bindPath), true)
      : await this.connection.globalRequest('cancel-tcpip-forward', encodeTcpipForward(remoteBindAddress(forward.listen.bindAddress), forward.port!), true);
    if (reply.success) this.forwards.splice(index, 1);
    return reply.success;
  }

  get active(): readonly RemoteForward[] {
    return this.forwards;
  }

  /** Handler for incoming `forwarded-tcpip` channels. */
  readonly onForwardedTcpip = (request: IncomingChannelOpen): void => {
    const { connectedAddress, connectedPort } = decodeForwardedTcpip(request.data);
    // Match on the port the server reports (the allocated one for port 0), then on the address when several
    // forwards share a port on different addresses.
    const candidates = this.forwards.filter((f) => !('bindPath' in f.listen) && f.port === connectedPort);
    const forward = candidates.find((f) => remoteBindAddress((f.listen as { bindAddress?: string }).bindAddress) === connectedAddress) ?? candidates[0];
    if (!forward) {
      if (this.hold(request, this.onForwardedTcpip)) return;
      request.reject(CHANNEL_OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, 'no such forward');
      return;
    }
    this.connect(request, forward);
  };

  /** Handler for incoming `forwarded-streamlocal@openssh.com` channels. */
  readonly onForwardedStreamlocal = (request: IncomingChannelOpen): void => {
    const { path } = decodeForwardedStreamlocal(request.data);
    const forward = this.forwards.find((f) => 'bindPath' in f.listen && f.listen.bindPath === path);
    if (!forward) {
      if (this.hold(request, this.onForwardedStreamlocal)) return;
      request.reject(CHANNEL_OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, 'no such forward');
      return;
    }
    this.connect(request, forward);
  };

  private connect(request: IncomingChannelOpen, forward: RemoteForward): void {
    const target = forward.target;
    if (!target) {
      void serveRemoteSocks(request.accept(), { permitted: this.permitted, onError: this.onError, debug: this.debug });
      return;
    }
    connectLocal(target).then(
      (socket) => void bridge(socket, request.accept()),
      (error: NodeJS.ErrnoException) => {
        const where = 'path' in target ? target.path : `${target.host}:${target.port}`;
        this.onError?.(`connect_to ${where}: failed: ${error.code ?? error.message}`);
        request.reject(CHANNEL_OPEN_FAILURE.CONNECT_FAILED, 'open failed');
      },
    );
  }
}
