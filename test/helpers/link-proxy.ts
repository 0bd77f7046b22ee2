/**
 * A TCP proxy on loopback that a test controls, to make a link between an SSH client and server misbehave the
 * way real networks do: cut() is a dropped link whose far end answers with a refusal (every proxied socket is
 * destroyed and the port stops listening), stall() is a link that silently stops carrying bytes (both sockets
 * stay open, nothing moves in either direction — what keepalives exist to detect), restore()/unstall() undo them.
 *
 * Every pair is tracked so close() leaves nothing listening and no socket open; the only timer (the upstream
 * connect) is bounded.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface LinkProxyOptions {
  /** Address to listen on (default 127.0.0.1; 127.0.0.2 etc. work on Linux without set-up). */
  listenHost?: string;
  /** Port to listen on (default 0: one from the OS). */
  listenPort?: number;
  /** Bound on connecting to the target before the accepted socket is dropped (default 10 s). */
  connectTimeoutMs?: number;
}

export interface LinkProxy {
  /** The port the proxy listens on (kept across cut()/restore()). */
  readonly port: number;
  /** The address the proxy listens on. */
  readonly host: string;
  /** Destroys every proxied socket and stops listening, so new connections are refused. */
  cut(): void;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  /** Keeps every socket open but stops forwarding bytes both ways (new connections are held the same way). */
  stall(): void;
  /** Forwards again, including whatever was held back while stalled. */
  unstall(): void;
  /** Destroys every socket and stops listening for good. */
  close(): Promise<void>;
  /** Proxied connections currently open. */
  readonly connections: number;
  /** Connections accepted since the proxy started (including ones since closed). */
  readonly accepted: number;
  /** The local ports of the open connections to the target: the peer ports the server sees, oldest first. */
  readonly upstreamPorts: number[];
  /** Resolves once `connections` satisfies `predicate`, rejects after `timeoutMs`. */
  waitForConnections(predicate: (open: number) => boolean, timeoutMs?: number): Promise<void>;
}

interface ProxiedPair {
  client: Socket;
  upstream: Socket;
}

export async function startLinkProxy(targetHost: string, targetPort: number, options: LinkProxyOptions = {}): Promise<LinkProxy> {
  const host = options.listenHost ?? '127.0.0.1';
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const pairs = new Set<ProxiedPair>();
  const changeListeners = new Set<() => void>();
  let stalled = false;
  let closed = false;
  let accepted = 0;
  let server: Server | undefined;
  let port = options.listenPort ?? 0;

  const notify = () => {
    for (const listener of [...changeListeners]) listener();
  };

  const destroyPair = (pair: ProxiedPair) => {
    if (!pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream.destroy();
    notify();
  };

  /** Copies `from` → `to` with backpressure; pausing for a stall uses the same pause() so bytes wait in the kernel. */
  const forward = (from: Socket, to: Socket, pair: ProxiedPair) => {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => {
          if (!stalled && pairs.has(pair)) from.resume();
        });
      }
    });
    // Half-close travels through, as it would across a real link.
    from.on('end', () => to.end());
  };

  const accept = (client: Socket) => {
    accepted += 1;
    client.pause();
    const upstream = connect({ host: targetHost, port: targetPort, allowHalfOpen: true });
    upstream.pause();
    const pair: ProxiedPair = { client, upstream };
    pairs.add(pair);
    notify();
    const timer = setTimeout(() => destroyPair(pair), connectTimeoutMs);
    upstream.once('connect', () => {
      clearTimeout(timer);
      if (!pairs.has(pair)) return;
      forward(client, upstream, pair);
      forward(upstream, client, pair);
      if (!stalled) {
        client.resume();
        upstream.resume();
      }
    });
    for (const socket of [client, upstream]) {
      socket.on('error', () => destroyPair(pair));
      socket.on('close', () => {
        clearTimeout(timer);
        destroyPair(pair);
      });
    }
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const next = createServer({ allowHalfOpen: true, pauseOnConnect: true }, accept);
      next.once('error', reject);
      next.listen({ host, port, exclusive: true }, () => {
        next.off('error', reject);
        port = (next.address() as { port: number }).port;
        server = next;
        resolve();
      });
    });

  const stopListening = (): Promise<void> => {
    const current = server;
    server = undefined;
    if (!current) return Promise.resolve();
    return new Promise((resolve) => current.close(() => resolve()));
  };

  const destroyAll = () => {
    for (const pair of [...pairs]) destroyPair(pair);
  };

  await listen();

  return {
    get port() {
      return port;
    },
    host,
    cut() {
      void stopListening();
      destroyAll();
    },
    async restore() {
      if (closed) throw new Error('link proxy is closed');
      if (!server) await listen();
    },
    stall() {
      stalled = true;
      for (const { client, upstream } of pairs) {
        client.pause();
        upstream.pause();
      }
    },
    unstall() {
      stalled = false;
      for (const { client, upstream } of pairs) {
        if (upstream.connecting) continue;
        client.resume();
        upstream.resume();
      }
    },
    async close() {
      closed = true;
      const stopped = stopListening();
      destroyAll();
      await stopped;
      changeListeners.clear();
    },
    get connections() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    get upstreamPorts() {
      return [...pairs].flatMap(({ upstream }) => (upstream.localPort !== undefined ? [upstream.localPort] : []));
    },
    waitForConnections(predicate, timeoutMs = 10_000) {
      if (predicate(pairs.size)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!predicate(pairs.size)) return;
          clearTimeout(timer);
          changeListeners.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          changeListeners.delete(check);
          reject(new Error(`link proxy: connection count still ${pairs.size} after ${timeoutMs} ms`));
        }, timeoutMs);
        changeListeners.add(check);
      });
    },
  };
}
