/**
 * Pieces shared by the server forwarding and agent tests: services for tunnels to reach (HTTP, echo, a
 * data source), stock `ssh` left running in the background with its forwards (stopped by PID), polling
 * with deadlines, and reading listening sockets from /proc so that bind addresses can be checked without
 * connecting anywhere but loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { TestServer } from './server-harness.ts';
import { canConnect as canConnectTo } from '../helpers/services.ts';
import { stopProcess } from '../helpers/processes.ts';

export { listen as listenOn, closeServer as closeService, echoService, httpGetText, waitFor } from '../helpers/services.ts';

/** Answers every GET with a body naming the service and the path. */
export function httpService(name: string): HttpServer {
  return createHttpServer((request, response) => {
    response.setHeader('content-type', 'text/plain');
    response.end(`${name} says hello to ${request.url}`);
  });
}

/** Echoes every byte and half-closes when the client does. */
/**
 * Sends `size` random bytes to every connection, then closes; `sent` holds each connection's SHA-256 in
 * accept order.
 */
export function sourceService(size: number): { server: Server; sent: Promise<string>[] } {
  const sent: Promise<string>[] = [];
  const server = createServer((socket) => {
    socket.on('error', () => {});
    sent.push(
      new Promise((resolve) => {
        const hash = createHash('sha256');
        let left = size;
        const pump = (): void => {
          while (left > 0) {
            const chunk = randomBytes(Math.min(left, 1024 * 1024));
            left -= chunk.length;
            hash.update(chunk);
            if (!socket.write(chunk)) return void socket.once('drain', pump);
          }
          socket.end(() => resolve(hash.digest('hex')));
        };
        pump();
      }),
    );
  });
  return { server, sent };
}

/** Whether something listens on 127.0.0.1:port now (the connection is closed at once). */
export function canConnect(port: number): Promise<boolean> {
  return canConnectTo({ port });
}

/**
 * Connects, writes `data`, half-closes and resolves with everything read back until the peer's end. With
 * `resetIsEnd` a reset counts as the end too (ssh resets local connections whose channel was refused).
 */
export function exchange(connectTo: { port: number } | { path: string }, data: Buffer, options: { resetIsEnd?: boolean } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket: Socket = 'path' in connectTo ? netConnect(connectTo.path) : netConnect(connectTo.port, '127.0.0.1');
    const received: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error('exchange timed out')), 60_000);
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.once('end', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(received));
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (options.resetIsEnd && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) resolve(Buffer.concat(received));
      else reject(error);
    });
    socket.once('connect', () => socket.end(data));
  });
}

/** Reads a connection to its end and resolves with the SHA-256 of what arrived and its length. */
export function hashWhatArrives(port: number): Promise<{ sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1');
    const hash = createHash('sha256');
    let bytes = 0;
    const timer = setTimeout(() => socket.destroy(new Error('transfer timed out')), 150_000);
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    socket.once('end', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ sha256: hash.digest('hex'), bytes });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Opens a SOCKS5 CONNECT to `host:port` by name through the proxy on 127.0.0.1:proxyPort (RFC 1928). */
export function socks5Connect(proxyPort: number, host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(proxyPort, '127.0.0.1');
    let buffered = Buffer.alloc(0);
    let stage: 'method' | 'reply' = 'method';
    socket.once('error', reject);
    socket.once('connect', () => socket.write(Buffer.from([5, 1, 0])));
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      if (stage === 'method') {
        if (buffered.length < 2) return;
        if (buffered[0] !== 5 || buffered[1] !== 0) return reject(new Error(`SOCKS5 method refused: ${buffered.toString('hex')}`));
        buffered = buffered.subarray(2);
        stage = 'reply';
        const name = Buffer.from(host);
        socket.write(Buffer.concat([Buffer.from([5, 1, 0, 3, name.length]), name, Buffer.from([port >> 8, port & 0xff])]));
      }
      if (buffered.length < 10) return;
      socket.off('data', onData);
      if (buffered[1] !== 0) return reject(new Error(`SOCKS5 connect refused with code ${buffered[1]}`));
      // The reply was 10 bytes (IPv4 bound address); anything after it is the service's first data.
      if (buffered.length > 10) socket.unshift(buffered.subarray(10));
      resolve(socket);
    };
    socket.on('data', onData);
  });
}

/** A stock `ssh` running in the background (forwards with -N); stopped by PID. */
export interface BackgroundSsh {
  pid: number;
  stderr(): string;
  /** Resolves with the exit status once ssh has exited. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function startSsh(test: TestServer, args: string[], env: Record<string, string> = {}): BackgroundSsh {
  const child: ChildProcess = spawn('/usr/bin/ssh', args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, HOME: join(test.dir, 'home'), ...env },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => (stderr += text));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    pid: child.pid!,
    stderr: () => stderr.replace(/\r\n/g, '\n'),
    exited,
    async stop() {
      await stopProcess(child);
    },
  };
}

/** Local addresses of TCP sockets listening on `port`, from /proc/net/tcp{,6} ("127.0.0.1", "0.0.0.0", "::1", "::"). */
export function listeningAddresses(port: number): string[] {
  const found: string[] = [];
  for (const [file, v6] of [['/proc/net/tcp', false], ['/proc/net/tcp6', true]] as const) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 4 || fields[3] !== '0A') continue; // 0A: TCP_LISTEN
      const [hexAddress, hexPort] = fields[1]!.split(':') as [string, string];
      if (parseInt(hexPort, 16) !== port) continue;
      found.push(v6 ? procIpv6(hexAddress) : procIpv4(hexAddress));
    }
  }
  return found.sort();
}

/** /proc writes IPv4 addresses as one little-endian 32-bit word. */
function procIpv4(hex: string): string {
  return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
}

/** ... and IPv6 addresses as four little-endian 32-bit words. */
function procIpv6(hex: string): string {
  const bytes: number[] = [];
  for (let word = 0; word < 4; word++) {
    for (const i of [3, 2, 1, 0]) bytes.push(parseInt(hex.slice(word * 8 + i * 2, word * 8 + i * 2 + 2), 16));
  }
  if (bytes.every((b) => b === 0)) return '::';
  if (bytes.slice(0, 15).every((b) => b === 0) && bytes[15] === 1) return '::1';
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}
