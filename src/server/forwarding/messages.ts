/**
 * The server's view of the forwarding payloads: what it decodes from the client's channel opens and global
 * requests, and what it encodes for the channels it opens back (RFC 4254 §7; OpenSSH PROTOCOL §2.4 for
 * Unix-domain sockets, §2.1 for the agent channel, which has no type-specific data).
 */
import { Reader } from '../../wire/reader.ts';
import { Writer } from '../../wire/writer.ts';

/** OpenSSH truncates host names at 255 and paths at sizeof(sun_path); anything longer is a malformed request. */
const MAX_HOST = 1024;
const MAX_PATH = 1024;

/** Where a connection came from: the client's originator fields, or our accepted socket's peer. */
export interface Endpoint {
  address: string;
  port: number;
}

/** `direct-tcpip` (RFC 4254 §7.2): host and port to connect to, then the originator's address and port. */
export interface DirectTcpipRequest {
  host: string;
  port: number;
  originator: Endpoint;
}

export function decodeDirectTcpip(data: Buffer): DirectTcpipRequest {
  const reader = new Reader(data);
  const host = reader.text(MAX_HOST);
  const port = reader.uint32();
  const address = reader.text(MAX_HOST);
  const originatorPort = reader.uint32();
  return { host, port, originator: { address, port: originatorPort } };
}

/** `direct-streamlocal@openssh.com` (PROTOCOL §2.4): socket path, a reserved string and a reserved uint32. */
export function decodeDirectStreamlocal(data: Buffer): { path: string } {
  return { path: new Reader(data).text(MAX_PATH) };
}

/** `tcpip-forward` / `cancel-tcpip-forward` (RFC 4254 §7.1): address to bind (kept verbatim) and port. */
export interface TcpipForwardRequest {
  bindAddress: string;
  port: number;
}

export function decodeTcpipForward(data: Buffer): TcpipForwardRequest {
  const reader = new Reader(data);
  return { bindAddress: reader.text(MAX_HOST), port: reader.uint32() };
}

/** The REQUEST_SUCCESS data for a `tcpip-forward` that asked for port 0: the port the server chose (§7.1). */
export function encodeAllocatedPort(port: number): Buffer {
  return new Writer(4).uint32(port).finish();
}

/** `streamlocal-forward@openssh.com` / `cancel-streamlocal-forward@openssh.com`: the socket path. */
export function decodeStreamlocalForward(data: Buffer): { path: string } {
  return { path: new Reader(data).text(MAX_PATH) };
}

/**
 * `forwarded-tcpip` (RFC 4254 §7.2): the address and port that were connected — the bind address exactly
 * as the client asked for it and the port actually listened on, which is how the client finds its forward —
 * then where the connection came from.
 */
export function encodeForwardedTcpip(connected: Endpoint, originator: Endpoint): Buffer {
  return new Writer(64 + connected.address.length)
    .string(connected.address)
    .uint32(connected.port)
    .string(originator.address)
    .uint32(originator.port)
    .finish();
}

/** `forwarded-streamlocal@openssh.com` (PROTOCOL §2.4): the listening socket's path and a reserved string. */
export function encodeForwardedStreamlocal(path: string): Buffer {
  return new Writer(16 + path.length).string(path).string('').finish();
}
