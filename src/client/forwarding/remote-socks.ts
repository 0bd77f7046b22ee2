/**
 * Remote dynamic forwarding (-R [bind_address:]port without a target, RemoteForward [bind:]port): the server
 * listens, and each forwarded-tcpip channel it opens carries a SOCKS4/4a/5 exchange that we answer as the
 * proxy, connecting from here to the destination the remote client asks for (ssh(1) -R; channels.c
 * rdynamic_connect_prepare). The channel is accepted first, since the SOCKS request travels inside it; the
 * SOCKS reply waits for our connection, so a refused destination is refused to the SOCKS client too.
 * PermitRemoteOpen (ssh_config(5)) limits the destinations.
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { Channel } from '../../connection/channel.ts';
import { bridge } from '../../connection/socket-bridge.ts';
import { negotiateSocks, SOCKS5_REPLY } from '../socks.ts';

/** One PermitRemoteOpen entry: a host (or `*`) and a port (or undefined for `*`). */
export interface RemoteOpenPermission {
  host: string;
  port: number | undefined;
}

/**
 * PermitRemoteOpen's words as ssh reads them (ssh.c ssh_init_forward_permissions): none configured or `any`
 * allows every destination (undefined), `none` allows none ([]), otherwise host:port pairs where either may
 * be `*` and an IPv6 host is written in brackets.
 */
export function parsePermitRemoteOpen(entries: readonly string[]): RemoteOpenPermission[] | undefined {
  if (entries.length === 0 || (entries.length === 1 && entries[0] === 'any')) return undefined;
  if (entries.length === 1 && entries[0] === 'none') return [];
  return entries.map((entry) => {
    const match = /^(?:\[([^\]]*)\]|([^:]*)):(.*)$/.exec(entry);
    if (!match) throw new RangeError(`bad PermitRemoteOpen entry ${entry}`);
    return { host: match[1] ?? match[2]!, port: match[3] === '*' ? undefined : Number(match[3]) };
  });
}

/** channels.c open_match: the port exactly (unless `*`), the host as the same string (unless `*`). */
export function remoteOpenAllowed(permissions: readonly RemoteOpenPermission[] | undefined, host: string, port: number): boolean {
  if (permissions === undefined) return true;
  return permissions.some((p) => (p.port === undefined || p.port === port) && (p.host === '*' || p.host === host));
}

export interface RemoteSocksOptions {
  /** From PermitRemoteOpen; undefined allows every destination. */
  permitted?: readonly RemoteOpenPermission[] | undefined;
  onError?: (message: string) => void;
  debug?: (message: string) => void;
}

function connectTo(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port, allowHalfOpen: true, noDelay: true });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** The SOCKS5 reply code for a failed local connect (RFC 1928 §6). */
function socksCodeFor(error: NodeJS.ErrnoException): number {
  if (error.code === 'ECONNREFUSED') return SOCKS5_REPLY.CONNECTION_REFUSED;
  if (error.code === 'ENOTFOUND' || error.code === 'EHOSTUNREACH' || error.code === 'EAI_AGAIN') return SOCKS5_REPLY.HOST_UNREACHABLE;
  return SOCKS5_REPLY.GENERAL_FAILURE;
}

/** Ends the channel after whatever reply is queued, then closes it (RFC 4254 §5.3). */
function finish(channel: Channel): void {
  channel.once('finish', () => channel.close());
  channel.end();
}

/** Serves one accepted forwarded-tcpip channel of a remote dynamic forward; resolves when it is over. */
export async function serveRemoteSocks(channel: Channel, options: RemoteSocksOptions = {}): Promise<void> {
  const onChannelError = () => channel.close();
  channel.on('error', onChannelError);
  let negotiated;
  try {
    negotiated = await negotiateSocks(channel);
  } catch (error) {
    options.debug?.(`remote dynamic forward: ${(error as Error).message}`);
    finish(channel);
    return;
  }
  const { request, reply } = negotiated;
  options.debug?.(`remote dynamic forward: SOCKS${request.version} CONNECT ${request.host}:${request.port}`);
  if (!remoteOpenAllowed(options.permitted, request.host, request.port)) {
    options.debug?.('rdynamic_connect_finish: requested forward not permitted');
    reply(SOCKS5_REPLY.NOT_ALLOWED);
    finish(channel);
    return;
  }
  let socket: Socket;
  try {
    socket = await connectTo(request.host, request.port);
  } catch (error) {
    const failure = error as NodeJS.ErrnoException;
    if (failure.code === 'ENOTFOUND' || failure.code === 'EAI_AGAIN') {
      options.onError?.(`connect_to ${request.host}: unknown host (${failure.code === 'ENOTFOUND' ? 'Name or service not known' : 'Temporary failure in name resolution'})`);
    } else {
      options.onError?.(`connect_to ${request.host} port ${request.port}: failed.`);
    }
    reply(socksCodeFor(failure));
    finish(channel);
    return;
  }
  reply(SOCKS5_REPLY.SUCCEEDED);
  channel.off('error', onChannelError);
  await bridge(socket, channel);
}
