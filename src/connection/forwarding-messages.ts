/**
 * The wire payloads of port forwarding, both directions in one place: the type-specific data of the
 * forwarding channel opens and global requests (RFC 4254 §7; OpenSSH PROTOCOL §2.4 for Unix-domain sockets).
 * The client encodes what the server decodes and the other way round.
 */
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';

/** Host names and socket paths longer than this are refused when decoding (OpenSSH caps them far lower). */
const MAX_NAME = 1024;

/** An address and port: where a connection came from, or what was connected to. */
export interface Endpoint {
  address: string;
  port: number;
}

// ---- direct-tcpip (RFC 4254 §7.2): host and port to connect to, then the originator ---------------------

export interface DirectTcpipRequest {
  host: string;
  port: number;
  originator: Endpoint;
}

export function encodeDirectTcpip(host: string, port: number, originator: Endpoint): Buffer {
  return new Writer(64 + host.length).string(host).uint32(port).string(originator.address).uint32(originator.port).finish();
}

export function decodeDirectTcpip(data: Buffer): DirectTcpipRequest {
  const reader = new Reader(data);
  const host = reader.text(MAX_NAME);
  const port = reader.uint32();
  return { host, port, originator: { address: reader.text(MAX_NAME), port: reader.uint32() } };
}

// ---- forwarded-tcpip (RFC 4254 §7.2): the bind address as requested and the port listened on, then the
// originator; that is how the client finds its forward -----------------------------------------------------

export interface ForwardedTcpip {
  connectedAddress: string;
  connectedPort: number;
  originator: Endpoint;
}

export function encodeForwardedTcpip(connected: Endpoint, originator: Endpoint): Buffer {
  return new Writer(64 + connected.address.length)
    .string(connected.address)
    .uint32(connected.port)
    .string(originator.address)
    .uint32(originator.port)
    .finish();
}

export function decodeForwardedTcpip(data: Buffer): ForwardedTcpip {
  const reader = new Reader(data);
  const connectedAddress = reader.text(MAX_NAME);
  const connectedPort = reader.uint32();
  return { connectedAddress, connectedPort, originator: { address: reader.text(MAX_NAME), port: reader.uint32() } };
}

// ---- tcpip-forward / cancel-tcpip-forward (RFC 4254 §7.1): address to bind and port (0 = allocate) -------

export interface TcpipForwardRequest {
  bindAddress: string;
  port: number;
}

export function encodeTcpipForward(bindAddress: string, bindPort: number): Buffer {
  return new Writer(32 + bindAddress.length).string(bindAddress).uint32(bindPort).finish();
}

export function decodeTcpipForward(data: Buffer): TcpipForwardRequest {
  const reader = new Reader(data);
  return { bindAddress: reader.text(MAX_NAME), port: reader.uint32() };
}

/** A `tcpip-forward` success reply carries the allocated port only when port 0 was asked for (§7.1). */
export function encodeAllocatedPort(port: number): Buffer {
  return new Writer(4).uint32(port).finish();
}

export function decodeAllocatedPort(data: Buffer): number | undefined {
  if (data.length < 4) return undefined;
  return new Reader(data).uint32();
}

// ---- Unix-domain sockets (OpenSSH PROTOCOL §2.4) ----------------------------------------------------------

/** `direct-streamlocal@openssh.com`: socket path, then a reserved string and a reserved uint32. */
export function encodeDirectStreamlocal(path: string): Buffer {
  return new Writer(32 + path.length).string(path).string('').uint32(0).finish();
}

export function decodeDirectStreamlocal(data: Buffer): { path: string } {
  return { path: new Reader(data).text(MAX_NAME) };
}

/** `streamlocal-forward@openssh.com` and its cancel: the socket path to listen on. */
export function encodeStreamlocalForward(path: string): Buffer {
  return new Writer(16 + path.length).string(path).finish();
}

export function decodeStreamlocalForward(data: Buffer): { path: string } {
  return { path: new Reader(data).text(MAX_NAME) };
}

/** `forwarded-streamlocal@openssh.com`: the listening socket's path, then a reserved string. */
export function encodeForwardedStreamlocal(path: string): Buffer {
  return new Writer(16 + path.length).string(path).string('').finish();
}

export function decodeForwardedStreamlocal(data: Buffer): { path: string } {
  return { path: new Reader(data).text(MAX_NAME) };
}
