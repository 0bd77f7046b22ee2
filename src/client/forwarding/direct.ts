/**
 * Outgoing forwarding channels: `direct-tcpip` to a host and port as seen from the server (RFC 4254 §7.2),
 * and `direct-streamlocal@openssh.com` to a Unix socket on the server (OpenSSH PROTOCOL §2.4).
 */
import type { Socket } from 'node:net';
import type { Connection } from '../../connection/connection.ts';
import type { Channel } from '../../connection/channel.ts';
import { encodeDirectStreamlocal, encodeDirectTcpip, type Endpoint } from '../../connection/forwarding-messages.ts';

/** Where a forwarded connection should go on the server's side. */
export type ForwardTarget = { host: string; port: number } | { path: string };

/** The originator OpenSSH reports for a connection accepted on `socket`. */
export function originatorOf(socket: Socket | undefined): Endpoint {
  const address = socket?.remoteAddress;
  // Unix-domain sockets have no peer address; ssh sends "127.0.0.1" port 0 for them as well.
  if (!address) return { address: '127.0.0.1', port: 0 };
  return { address: address.replace(/^::ffff:/, ''), port: socket.remotePort ?? 0 };
}

/**
 * The connection forwarded channels open on: fixed, or asked for at each new connection (a held session's
 * current one, which changes when it resumes, docs/PROTOCOL.sessions §4).
 */
export type ConnectionSource = Connection | (() => Connection);

export function currentConnection(source: ConnectionSource): Connection {
  return typeof source === 'function' ? source() : source;
}

export function openDirect(connection: Connection, target: ForwardTarget, originator: Endpoint = originatorOf(undefined)): Promise<Channel> {
  if ('path' in target) return connection.openChannel('direct-streamlocal@openssh.com', encodeDirectStreamlocal(target.path));
  return connection.openChannel('direct-tcpip', encodeDirectTcpip(target.host, target.port, originator));
}
