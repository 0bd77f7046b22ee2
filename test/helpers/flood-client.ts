/**
 * A logged-in user flooding a server, run as its own process so that the server under test does not share
 * an event loop with its attacker: `node test/helpers/flood-client.ts '<json options>'`.
 *
 *  - mode "opens": `total` direct-tcpip opens to a local target this process listens on, at most
 *    `inFlight` unanswered at once; accepted channels are held open.
 *  - mode "forwards": `total` tcpip-forward requests for 127.0.0.1 port 0, `inFlight` at once.
 *
 * After the burst it prints one JSON line {"phase":"burst", accepted, refused: {reason: count}, descriptions},
 * then keeps the flood going (more of the same, accepted ones still held, so at a limit all are refused) until its
 * stdin ends, prints {"phase":"end", ...} and exits. Every loop is bounded by `total` or by stdin.
 */
import { createServer, type Socket } from 'node:net';
import { connect } from '../../src/client/client.ts';
import { identityFileKeys } from '../../src/client/identities.ts';
import { ChannelOpenError } from '../../src/connection/connection.ts';
import type { Channel } from '../../src/connection/channel.ts';
import { encodeDirectTcpip, encodeTcpipForward } from '../../src/connection/forwarding-messages.ts';

interface FloodOptions {
  port: number;
  user: string;
  key: string;
  mode: 'opens' | 'forwards';
  total: number;
  inFlight: number;
}

const options = JSON.parse(process.argv[2]!) as FloodOptions;
const held: Socket[] = [];
const target = createServer((socket) => {
  socket.on('error', () => {});
  held.push(socket);
});
await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
const targetPort = (target.address() as { port: number }).port;

const client = await connect({
  host: '127.0.0.1',
  port: options.port,
  username: options.user,
  verifyHostKey: () => {},
  auth: { methods: ['publickey'], keys: () => identityFileKeys([options.key], {}) },
});

const stats = { accepted: 0, refused: {} as Record<string, number>, descriptions: {} as Record<string, number> };
const channels: Channel[] = [];

function refused(reason: string, description: string): void {
  stats.refused[reason] = (stats.refused[reason] ?? 0) + 1;
  stats.descriptions[description] = (stats.descriptions[description] ?? 0) + 1;
}

/** One open or request; resolves once answered. */
async function attempt(): Promise<void> {
  if (options.mode === 'opens') {
    try {
      const channel = await client.connection.openChannel('direct-tcpip', encodeDirectTcpip('127.0.0.1', targetPort, { address: '127.0.0.1', port: 1 }));
      stats.accepted++;
      channel.on('error', () => {});
      channels.push(channel);
    } catch (error) {
      if (error instanceof ChannelOpenError) refused(String(error.reason), error.description);
      else refused('error', (error as Error).message);
    }
    return;
  }
  const reply = await client.connection.globalRequest('tcpip-forward', encodeTcpipForward('127.0.0.1', 0));
  if (reply.success) stats.accepted++;
  else refused('failure', 'REQUEST_FAILURE');
}

/** `count` attempts with at most `inFlight` outstanding. */
async function flood(count: number, shouldStop: () => boolean = () => false): Promise<void> {
  let started = 0;
  const worker = async () => {
    while (started < count && !shouldStop() && !client.transport.isClosed) {
      started++;
      await attempt();
    }
  };
  await Promise.all(Array.from({ length: options.inFlight }, worker));
}

await flood(options.total);
process.stdout.write(`${JSON.stringify({ phase: 'burst', ...stats, closed: client.transport.isClosed })}\n`);

let stdinEnded = false;
process.stdin.on('end', () => (stdinEnded = true));
process.stdin.resume();
// Bounded by stdin: the test ends it (and kills this process by PID if it does not exit).
while (!stdinEnded && !client.transport.isClosed) {
  await flood(options.inFlight * 4, () => stdinEnded);
  await new Promise((resolve) => setImmediate(resolve));
}
process.stdout.write(`${JSON.stringify({ phase: 'end', ...stats, closed: client.transport.isClosed })}\n`);
for (const channel of channels) channel.destroy();
for (const socket of held) socket.destroy();
client.end();
target.close();
process.exit(0);
