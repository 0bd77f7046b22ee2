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
  /** The stream to the destination: a direct-tcpip channel of the last hop. */
  stream: Duplex;
  /** The hops' connections, first hop first. */
  hops: SshClient[];
  /** Ends every hop, last first. */
  close(): void;
}

/**
 * Connects through `hops` in order and opens a channel from the last one to `host`:`port`. A hop's own
 * `stream` option (e.g. a ProxyCommand for the first hop) is honoured; later hops run over the chain.
 */
export async function openJumpChain(hops: ConnectOptions[], host: string, port: number, connect: ConnectFunction): Promise<JumpChain> {
  const clients: SshClient[] = [];
  const close = () => {
    for (const client of [...clients].reverse()) client.end();
  };
  try {
    let previous: SshClient | undefined;
    for (const hop of hops) {
      const stream = previous ? await previous.openDirect(hop.host, hop.port ?? 22) : hop.stream;
      const client: SshClient = await connect({ ...hop, jump: undefined, stream });
      clients.push(client);
      previous = client;
    }
    const stream = await previous!.openDirect(host, port);
    return { stream, hops: clients, close };
  } catch (error) {
    close();
    throw error;
  }
}
