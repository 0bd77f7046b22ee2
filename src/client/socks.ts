/**
 * The SOCKS side of dynamic forwarding (-D, and -R without a target): SOCKS4, SOCKS4a and SOCKS5 CONNECT without authentication
 * (RFC 1928; the SOCKS4 and SOCKS4A protocol notes). The parsers are pure functions over the bytes received
 * so far; `negotiateSocks` drives them on a socket and hands back the requested destination with a function
 * to send the reply once the SSH channel has opened or failed.
 */
import type { Duplex } from 'node:stream';

/** A SOCKS exchange that cannot go on; the connection is dropped after any reply. */
export class SocksError extends Error {
  override readonly name = 'SocksError';
}

export interface SocksRequest {
  version: 4 | 5;
  host: string;
  port: number;
}

/** Bytes not yet enough to decide. */
const INCOMPLETE = 'incomplete' as const;
type Parsed<T> = typeof INCOMPLETE | { value: T; consumed: number };

/** Longest SOCKS4 user id or SOCKS4a host name we wait for before giving up. */
const MAX_SOCKS4_FIELD = 255;

/** RFC 1928 §6 reply codes. */
export const SOCKS5_REPLY = {
  SUCCEEDED: 0,
  GENERAL_FAILURE: 1,
  NOT_ALLOWED: 2,
  HOST_UNREACHABLE: 4,
  CONNECTION_REFUSED: 5,
  COMMAND_NOT_SUPPORTED: 7,
  ADDRESS_TYPE_NOT_SUPPORTED: 8,
} as const;

function nulTerminated(buffer: Buffer, start: number): { text: string; end: number } | typeof INCOMPLETE {
  const nul = buffer.indexOf(0, start);
  if (nul < 0) {
    if (buffer.length - start > MAX_SOCKS4_FIELD) throw new SocksError('SOCKS4 field too long');
    return INCOMPLETE;
  }
  return { text: buffer.subarray(start, nul).toString('latin1'), end: nul + 1 };
}

/**
 * SOCKS4 / SOCKS4a request: VN=4, CD=1 (CONNECT), DSTPORT, DSTIP, USERID, NUL. An address 0.0.0.x with x≠0
 * means SOCKS4a: the host name follows the user id, NUL-terminated.
 */
export function parseSocks4Request(buffer: Buffer): Parsed<SocksRequest> {
  if (buffer.length < 8) return INCOMPLETE;
  if (buffer[0] !== 4) throw new SocksError(`not SOCKS4 (version ${buffer[0]})`);
  if (buffer[1] !== 1) throw new SocksError(`unsupported SOCKS4 command ${buffer[1]}`);
  const port = buffer.readUInt16BE(2);
  const ip = [...buffer.subarray(4, 8)];
  const user = nulTerminated(buffer, 8);
  if (user === INCOMPLETE) return INCOMPLETE;
  if (ip[0] === 0 && ip[1] === 0 && ip[2] === 0 && ip[3] !== 0) {
    const host = nulTerminated(buffer, user.end);
    if (host === INCOMPLETE) return INCOMPLETE;
    if (host.text === '') throw new SocksError('empty SOCKS4a host name');
    return { value: { version: 4, host: host.text, port }, consumed: host.end };
  }
  return { value: { version: 4, host: ip.join('.'), port }, consumed: user.end };
}

/** SOCKS5 greeting (RFC 1928 §3): VER=5, NMETHODS, METHODS. */
export function parseSocks5Greeting(buffer: Buffer): Parsed<{ methods: number[] }> {
  if (buffer.length < 2) return INCOMPLETE;
  if (buffer[0] !== 5) throw new SocksError(`not SOCKS5 (version ${buffer[0]})`);
  const count = buffer[1]!;
  if (buffer.length < 2 + count) return INCOMPLETE;
  return { value: { methods: [...buffer.subarray(2, 2 + count)] }, consumed: 2 + count };
}

/** A SOCKS5 request we must refuse with a specific reply code (RFC 1928 §6). */
export class Socks5Refusal extends SocksError {
  readonly reply: number;
  constructor(message: string, reply: number) {
    super(message);
    this.reply = reply;
  }
}

/** SOCKS5 request (RFC 1928 §4, §5): VER CMD RSV ATYP DST.ADDR DST.PORT; only CONNECT is accepted. */
export function parseSocks5Request(buffer: Buffer): Parsed<SocksRequest> {
  if (buffer.length < 5) return INCOMPLETE;
  if (buffer[0] !== 5) throw new SocksError(`bad SOCKS5 request version ${buffer[0]}`);
  const command = buffer[1]!;
  const addressType = buffer[3]!;
  let host: string;
  let offset: number;
  switch (addressType) {
    case 1: // IPv4
      if (buffer.length < 10) return INCOMPLETE;
      host = [...buffer.subarray(4, 8)].join('.');
      offset = 8;
      break;
    case 3: {
      // Domain name: one length byte, then the name (no NUL).
      const length = buffer[4]!;
      if (buffer.length < 5 + length + 2) return INCOMPLETE;
      host = buffer.subarray(5, 5 + length).toString('latin1');
      offset = 5 + length;
      break;
    }
    case 4: {
      if (buffer.length < 22) return INCOMPLETE;
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(buffer.readUInt16BE(4 + i).toString(16));
      // Canonical compressed text (e.g. "::1"), which is how server policies such as PermitOpen name it.
      host = new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
      offset = 20;
      break;
    }
    default:
      throw new Socks5Refusal(`unsupported SOCKS5 address type ${addressType}`, SOCKS5_REPLY.ADDRESS_TYPE_NOT_SUPPORTED);
  }
  if (command !== 1) throw new Socks5Refusal(`unsupported SOCKS5 command ${command}`, SOCKS5_REPLY.COMMAND_NOT_SUPPORTED);
  const port = buffer.readUInt16BE(offset);
  return { value: { version: 5, host, port }, consumed: offset + 2 };
}

/** SOCKS5 reply with an all-zero IPv4 bound address: the client learns nothing useful from ours. */
export function socks5Reply(code: number): Buffer {
  return Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
}

/** SOCKS4 reply: VN=0, CD=90 granted or 91 rejected, then an ignored port and address. */
export function socks4Reply(granted: boolean): Buffer {
  return Buffer.from([0, granted ? 90 : 91, 0, 0, 0, 0, 0, 0]);
}

/** How a SOCKS client is answered once the forwarding channel has opened (code 0) or failed. */
export interface NegotiatedSocks {
  request: SocksRequest;
  /** Sends the reply; for a failure, the caller drops the connection afterwards. */
  reply(code: number): void;
}

/** Reads until `parse` decides, without taking more than it consumed: the rest goes back to the socket. */
function readUntil<T>(socket: Duplex, pending: { buffer: Buffer }, parse: (buffer: Buffer) => Parsed<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const attempt = (): boolean => {
      let parsed: Parsed<T>;
      try {
        parsed = parse(pending.buffer);
      } catch (error) {
        cleanup();
        reject(error as Error);
        return true;
      }
      if (parsed === INCOMPLETE) return false;
      pending.buffer = pending.buffer.subarray(parsed.consumed);
      cleanup();
      resolve(parsed.value);
      return true;
    };
    const onData = (chunk: Buffer) => {
      pending.buffer = Buffer.concat([pending.buffer, chunk]);
      attempt();
    };
    const onEnd = () => {
      cleanup();
      reject(new SocksError('connection closed during SOCKS negotiation'));
    };
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
      socket.pause();
    };
    if (attempt()) return;
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onEnd);
    socket.resume();
  });
}

/**
 * Runs the SOCKS handshake on a fresh stream up to the CONNECT request: a socket accepted by -D, or the
 * channel of a forwarded-tcpip connection to a remote dynamic forward (-R port). Data the client sent beyond
 * the request is pushed back onto the stream, which is left paused for the forwarding to resume.
 */
export async function negotiateSocks(socket: Duplex): Promise<NegotiatedSocks> {
  const pending = { buffer: Buffer.alloc(0) };
  const version = await readUntil(socket, pending, (buffer) => (buffer.length < 1 ? INCOMPLETE : { value: buffer[0]!, consumed: 0 }));
  let request: SocksRequest;
  if (version === 4) {
    request = await readUntil(socket, pending, parseSocks4Request);
  } else if (version === 5) {
    const greeting = await readUntil(socket, pending, parseSocks5Greeting);
    // Method 0: no authentication required; 0xff: no acceptable methods (RFC 1928 §3).
    if (!greeting.methods.includes(0)) {
      socket.end(Buffer.from([5, 0xff]));
      throw new SocksError('SOCKS5 client offers no method without authentication');
    }
    socket.write(Buffer.from([5, 0]));
    try {
      request = await readUntil(socket, pending, parseSocks5Request);
    } catch (error) {
      if (error instanceof Socks5Refusal) socket.end(socks5Reply(error.reply));
      throw error;
    }
  } else {
    throw new SocksError(`unknown SOCKS version ${version}`);
  }
  if (pending.buffer.length > 0) socket.unshift(pending.buffer);
  const reply = (code: number) => {
    if (socket.destroyed) return;
    socket.write(request.version === 5 ? socks5Reply(code) : socks4Reply(code === SOCKS5_REPLY.SUCCEEDED));
  };
  return { request, reply };
}
