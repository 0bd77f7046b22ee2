/**
 * An accepted connection read into the process's one shared buffer (issue 17), as the client reads its own
 * (transport/socket-reads.ts): received bulk data then costs no allocation per read, only a copy of what a
 * read leaves of a packet. net.Server's sockets read into a new buffer each time, and a socket's onread can
 * only be chosen when it is made, so the connection's descriptor is duplicated into a socket made with
 * SocketReads and the accepted socket (paused since accept, so it has read nothing) is let go. Without the
 * addon, the accepted socket is used as it is.
 */
import { Socket } from 'node:net';
import { adoptDescriptor, fdPassIfBuilt } from '../crypto/fdpass.ts';
import { SocketReads } from '../transport/socket-reads.ts';

export function withSharedReads(accepted: Socket): Socket {
  let fd: number;
  try {
    if (!fdPassIfBuilt()) throw new Error('native/fdpass is not built');
    fd = adoptDescriptor(accepted);
  } catch {
    // No addon, or out of descriptors: this connection reads as net.Server made it.
    accepted.resume();
    return accepted;
  }
  // Socket options (TCP_NODELAY, keepalive) belong to the connection, which the copy shares.
  const reads = new SocketReads();
  return reads.bind(new Socket({ fd, readable: true, writable: true, onread: reads.onread }));
}
