/**
 * The wire payloads of port forwarding: the type-specific data of the forwarding channel opens and global
 * requests, encoded and decoded in one place (RFC 4254 §7; OpenSSH PROTOCOL §2.4 for Unix sockets).
 */
import { Reader } from '../../wire/reader.ts';
import { Writer } from '../../wire/writer.ts';

/** Host names and socket paths longer than this are refused when decoding (OpenSSH caps them far lower). */
const MAX_NAME = 1024;

/** Where a TCP connection came from, as the opener reports it. */
export interface Originator {
  address: string;
  port: number;
}

/** `direct-tcpip` (RFC 4254 §7.2): host and port to connect to, then the originator. */
export function encodeDirectTcpip(host: string, port: number, originator: Originator): Buffer {
  return new Writer(64 + host.length).string(host).uint32(port).string(originator.address).uint32(originator.port).finish();
}

/** `forwarded-tcpip` (RFC 4254 §7.2): the address and port that were connected, then the originator. */
export interface ForwardedTcpip {
  connectedAddress: string;
  connectedPort: number;
  originator: Originator;
}

export function decodeForwardedTcpip(data: Buffer): ForwardedTcpip {
  const reader = new Reader(data);
  const connectedAddress = reader.text(MAX_NAME);
  const connectedPort = reader.uint32();
  const address = reader.text(MAX_NAME);
  const port = reader.uint32();
  return { connectedAddress, connectedPort, originator: { address, port } };
}

/** `tcpip-forward` and `cancel-tcpip-forward` (RFC 4254 §7.1): address to bind and port (0 = allocate). */
export function encodeTcpipForward(bindAddress: string, bindPort: number): Buffer {
  return new Writer(32 + bindAddress.length).string(bindAddress).uint32(bindPort).finish();
}

/** A `tcpip-forward` success reply carries the allocated port only when port 0 was asked for (§7.1). */
export function decodeAllocatedPort(data: Buffer): number | undefined {
  if (data.length < 4) return undefined;
  return new Reader(data).uint32();
}

/** `direct-streamlocal@openssh.com` (PROTOCOL §2.4): socket path, then two reserved fields. */
export function encodeDirectStreamlocal(path: string): Buffer {
  return new Writer(32 + path.length).string(path).string('').uint32(0).finish();
}

/** `streamlocal-forward@openssh.com` and its cancel (PROTOCOL §2.4): the socket path to listen on. */
export function encodeStreamlocalForward(path: string): Buffer {
  return new Writer(16 + path.length).string(path).finish();
}

/** `forwarded-streamlocal@openssh.com` (PROTOCOL §2.4): the listening socket's path, then a reserved string. */
export function decodeForwardedStreamlocal(data: Buffer): { path: string } {
  return { path: new Reader(data).text(MAX_NAME) };
}
