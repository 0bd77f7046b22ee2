/**
 * ClientAliveInterval / ClientAliveCountMax (sshd_config(5)): when nothing has arrived from the client for
 * an interval, ask it for a reply through the encrypted channel (keepalive@openssh.com, which clients answer
 * even if only with a failure); after CountMax unanswered probes in a row the client is gone.
 */
import type { Connection } from '../connection/connection.ts';

export const KEEPALIVE_REQUEST = 'keepalive@openssh.com';

/** Starts probing; returns a function that stops it. `onTimeout` runs once when the client is given up. */
export function startClientAlive(connection: Connection, intervalSeconds: number, countMax: number, onTimeout: () => void): () => void {
  if (intervalSeconds <= 0) return () => {};
  const transport = connection.transport;
  let lastSeen = transport.packetsReceived;
  let unanswered = 0;
  const timer = setInterval(() => {
    if (transport.packetsReceived !== lastSeen) {
      lastSeen = transport.packetsReceived;
      unanswered = 0;
      return;
    }
    if (++unanswered > countMax) {
      clearInterval(timer);
      onTimeout();
      return;
    }
    void connection.globalRequest(KEEPALIVE_REQUEST, Buffer.alloc(0), true);
  }, intervalSeconds * 1000);
  timer.unref();
  const stop = () => clearInterval(timer);
  void transport.closed.then(stop);
  return stop;
}
