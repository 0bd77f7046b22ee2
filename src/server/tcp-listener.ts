/**
 * One TCP listener as sshd opens them for remote forwards and X11 displays: paused on connect (the channel
 * opens first), half-open allowed (EOF is forwarded, not acted on), sshd's backlog, one family per socket.
 */
import { createServer, type Server, type Socket } from 'node:net';

/** sshd's SSH_LISTEN_BACKLOG. */
export const LISTEN_BACKLOG = 128;

export function listenTcp(address: string, port: number, onConnection: (socket: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, onConnection);
    server.once('error', reject);
    // ipv6Only: "::" must leave the IPv4 port to the "0.0.0.0" socket, as sshd sets IPV6_V6ONLY.
    server.listen({ host: address, port, backlog: LISTEN_BACKLOG, ipv6Only: address.includes(':') }, () => {
      server.off('error', reject);
      server.on('error', () => {});
      resolve(server);
    });
  });
}
