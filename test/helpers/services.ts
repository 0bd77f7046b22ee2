/**
 * Shared pieces of the tunnel interop tests: target services started by the test (HTTP, echo, a data
 * source), a SOCKS client, waiting for a forward to come up, and reading a process's memory use.
 */
import { createServer as createHttpServer, get as httpGet, type Server as HttpServer } from 'node:http';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

export async function listen(server: Server | HttpServer, where: { port?: number; host?: string; path?: string } = {}): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (where.path) server.listen(where.path, () => resolve());
    else server.listen(where.port ?? 0, where.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

export function closeServer(server: Server | HttpServer): Promise<void> {
  return new Promise((resolve) => {
    (server as HttpServer).closeAllConnections?.();
    server.close(() => resolve());
  });
}

/** An HTTP server answering every GET with a body naming the path. */
export function httpService(): HttpServer {
  return createHttpServer((request, response) => {
    response.setHeader('content-type', 'text/plain');
    response.end(`hello from the tunnelled service: ${request.url}`);
  });
}

/**
 * httpService on 127.0.0.1 and on ::1 at the same port, so a forward to 127.0.0.1, localhost or ::1 reaches
 * it: the two servers (to close) and the port.
 */
export async function dualStackHttpService(): Promise<{ servers: [HttpServer, HttpServer]; port: number }> {
  const http = httpService();
  const port = await listen(http);
  const http6 = httpService();
  await listen(http6, { host: '::1', port });
  return { servers: [http, http6], port };
}

/** Echoes every byte back and half-closes when the client does. */
export function echoService(): Server {
  return createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
}

export function httpGetText(options: { port?: number; host?: string; socketPath?: string; path?: string; createConnection?: () => Socket }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // A given createConnection is only used without an agent; otherwise a fresh agent per request.
    const agent = options.createConnection ? undefined : false;
    const request = httpGet({ host: '127.0.0.1', path: '/', ...(agent === false ? { agent } : {}), ...options } as never, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.setTimeout(10_000, () => request.destroy(new Error('HTTP request timed out')));
    request.on('error', reject);
  });
}

/** Polls until `check` resolves truthy, failing after `timeoutMs`. */
/** Polls until `check` returns something truthy; fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 15_000,
  detail: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) {
      const more = detail();
      throw new Error(`timed out waiting for ${what}${more ? `\n${more}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether a TCP connection to 127.0.0.1:port (or a Unix socket) is accepted now. */
export function canConnect(target: { port: number; host?: string } | { path: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = 'path' in target ? netConnect(target.path) : netConnect(target.port, target.host ?? '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resident memory of a process in KiB (/proc/PID/status VmRSS). */
export function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : 0;
}

/** Reads `socket` until it closes; resolves with the bytes' SHA-256 and count. */
export function hashUntilEnd(socket: Socket): Promise<{ sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    socket.once('end', () => resolve({ sha256: hash.digest('hex'), bytes }));
    socket.once('error', reject);
  });
}

/** Opens a SOCKS connection to `proxyPort` for the given version and destination; resolves once granted. */
export function socksConnect(proxyPort: number, version: '4' | '4a' | '5', host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(proxyPort, '127.0.0.1');
    const portBytes = Buffer.from([port >> 8, port & 0xff]);
    let buffered = Buffer.alloc(0);
    let stage = 0;
    socket.once('error', reject);
    socket.once('connect', () => {
      if (version === '5') socket.write(Buffer.from([5, 1, 0]));
      else if (version === '4') socket.write(Buffer.concat([Buffer.from([4, 1]), portBytes, Buffer.from(host.split('.').map(Number)), Buffer.from('user\0')]));
      else socket.write(Buffer.concat([Buffer.from([4, 1]), portBytes, Buffer.from([0, 0, 0, 1]), Buffer.from('user\0'), Buffer.from(`${host}\0`)]));
    });
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (version !== '5') {
        if (buffered.length < 8) return;
        socket.off('data', onData);
        if (buffered[1] !== 90) return reject(new Error(`SOCKS4 refused: ${buffered[1]}`));
        return resolve(socket);
      }
      if (stage === 0) {
        if (buffered.length < 2) return;
        if (buffered[1] !== 0) return reject(new Error('SOCKS5 method refused'));
        buffered = buffered.subarray(2);
        stage = 1;
        let address: Buffer;
        if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) address = Buffer.concat([Buffer.from([1]), Buffer.from(host.split('.').map(Number))]);
        else if (host.includes(':')) {
          const full = host === '::1' ? [0, 0, 0, 0, 0, 0, 0, 1] : host.split(':').map((g) => parseInt(g, 16));
          const bytes = Buffer.alloc(16);
          full.forEach((group, index) => bytes.writeUInt16BE(group, index * 2));
          address = Buffer.concat([Buffer.from([4]), bytes]);
        } else address = Buffer.concat([Buffer.from([3, host.length]), Buffer.from(host)]);
        socket.write(Buffer.concat([Buffer.from([5, 1, 0]), address, portBytes]));
      }
      if (stage === 1) {
        if (buffered.length < 10) return;
        socket.off('data', onData);
        if (buffered[1] !== 0) return reject(new Error(`SOCKS5 refused: ${buffered[1]}`));
        resolve(socket);
      }
    };
    socket.on('data', onData);
  });
}
