/**
 * An accepted connection read into the process's one shared buffer (issue 17), as the client reads its own
 * (transport/socket-reads.ts): received bulk data then costs no allocation per read, only a copy of what a
 * read leaves of a packet. net.Server's sockets read into a new buffer each time, and a socket's onread can
 * only be chosen when it is made, so the connection's descriptor is duplicated into a socket made with
 * SocketReads and the accepted socket (paused since accept, so it has read nothing) is let go. Without the
 * addon, the accepted socket is used as it is.
 */
import { Socket } from 'node:net';
import { fdPassIfBuilt } from '../crypto/fdpass.ts';
import { descriptorOf } from '../connection/descriptor-writes.ts';
import { SocketReads } from '../transport/socket-reads.ts';

export function withSharedReads(accepted: Socket): Socket {
  const fd = descriptorOf(accepted);
  const addon = fdPassIfBuilt();
  let copy = -1;
  try {
    if (fd !== undefined && addon) copy = addon.dup(fd);
  } catch {
    // Out of descriptors: this connection reads as net.Server made it.
  }
  if (copy < 0) {
    accepted.resume();
    return accepted;
  }
  const reads = new SocketReads();
  const socket = reads.bind(new Socket({ fd: copy, readable: true, writable: true, onread: reads.onread }));
  // Socket options (TCP_NODELAY, keepalive) belong to the connection, which the copy shares.
  accepted.destroy();
  return socket;
}
