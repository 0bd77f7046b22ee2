/**
 * An accepted connection read into the process's one shared buffer (issue 17), as the client reads its own
 * (transport/socket-reads.ts): received bulk data then costs no allocation per read, only a copy of what a
 * read leaves of a packet. net.Server's sockets read into a new buffer each time, and a socket's onread can
 * only be chosen when it is made, so the connection's descriptor is duplicated into a socket made with
 * SocketReads and the accepted socket (paused since accept, so it has read nothing) is let go. Without the
 * addon, the accepted socket is used as it is.
 */
import { Socket, type SocketConstructorOpts } from 'node:net';
import type { DuplexOptions } from 'node:stream';
import { adoptDescriptor, fdPassIfBuilt } from '../crypto/fdpass.ts';
import { SocketReads } from '../transport/socket-reads.ts';
import { TRANSPORT_WRITE_HIGH_WATER } from '../transport/packet-layer.ts';

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
  const options: SocketConstructorOpts & Pick<DuplexOptions, 'writableHighWaterMark'> = {
    fd,
    readable: true,
    writable: true,
    onread: reads.onread,
    writableHighWaterMark: TRANSPORT_WRITE_HIGH_WATER,
  };
  return reads.bind(new Socket(options));
}
