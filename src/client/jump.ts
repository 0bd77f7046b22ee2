/**
 * Jump hosts (ProxyJump, `connect({ jump })`): each hop is reached through a direct-tcpip channel of the hop
 * before it (RFC 4254 §7.2), and the destination through the last hop's channel, so the chain is SSH inside
 * SSH with end-to-end encryption to every hop. When the destination's connection ends, the hops are closed
 * in reverse order.
 */
import type { Duplex } from 'node:stream';
import type { ConnectOptions, SshClient } from './client.ts';

type ConnectFunction = (options: ConnectOptions) => Promise<SshClient>;

export interface JumpChain {
  /** Opens a direct-tcpip channel from the last hop to `name`:`port` (the destination, or one of its alternates). */
  dial(name: string, port: number): Promise<Duplex>;
  /** The hops' connections, first hop first. */
  hops: SshClient[];
  /** Ends every hop, last first. */
  close(): void;
}

/**
 * Connects through `hops` in order. A hop's own `stream` option (e.g. a ProxyCommand for the first hop) is
 * honoured; the first hop otherwise goes over TCP, and later hops through the hop before, each trying its
 * own alternates in turn (a failover-capable gateway).
 */
export async function openJumpChain(hops: ConnectOptions[], connect: ConnectFunction): Promise<JumpChain> {
  const clients: SshClient[] = [];
  const close = () => {
    for (const client of [...clients].reverse()) client.end();
  };
  try {
    let previous: SshClient | undefined;
    for (const hop of hops) {
      const through = previous;
      const client: SshClient = through
        ? await connect({ ...hop, jump: undefined, stream: undefined, dial: (name, port) => through.openDirect(name, port) })
        : await connect({ ...hop, jump: undefined });
      clients.push(client);
      previous = client;
    }
    const last = previous!;
    return { dial: (name, port) => last.openDirect(name, port), hops: clients, close };
  } catch (error) {
    close();
    throw error;
  }
}
