/**
 * Holds many idle authenticated connections to one server for the idle-memory case, as its own process (the
 * connections' client-side memory and handshakes stay out of the bench and out of the server measured):
 *
 *   node bench/idle-client.ts '{"port":N,"user":"u","key":"/path","count":1000,"inFlight":64}'
 *
 * Opens `count` connections with Tether's client library (curve25519, public key), at most `inFlight`
 * handshakes at a time, and keeps each authenticated with no channel open (what `ssh -N` holds). Prints
 * {"phase":"open",accepted,failed,seconds,errors}; when stdin ends, closes them all, prints
 * {"phase":"end"} and exits. Bounded by `count`, each handshake by its connect timeout.
 */
import { connect, type SshClient } from '../src/client/client.ts';
import { identityFileKeys } from '../src/client/identities.ts';

interface IdleOptions {
  port: number;
  user: string;
  key: string;
  count: number;
  inFlight: number;
}

const options = JSON.parse(process.argv[2]!) as IdleOptions;
const clients: SshClient[] = [];
const errors = new Map<string, number>();
let next = 0;

async function openOne(): Promise<void> {
  try {
    const client = await connect({
      host: '127.0.0.1',
      port: options.port,
      username: options.user,
      algorithms: { kex: ['curve25519-sha256'] },
      connectTimeout: 60,
      verifyHostKey: () => {},
      auth: { methods: ['publickey'], keys: () => identityFileKeys([options.key], {}) },
    });
    clients.push(client);
  } catch (error) {
    const message = (error as Error).message;
    errors.set(message, (errors.get(message) ?? 0) + 1);
  }
}

async function worker(): Promise<void> {
  while (next < options.count) {
    next++;
    await openOne();
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: Math.min(options.inFlight, options.count) }, worker));
const seconds = (performance.now() - started) / 1000;
const failed = options.count - clients.length;
process.stdout.write(`${JSON.stringify({ phase: 'open', accepted: clients.length, failed, seconds, errors: [...errors].slice(0, 5) })}\n`);

process.stdin.resume();
await new Promise((resolve) => process.stdin.once('end', resolve));
for (const client of clients) client.end();
await Promise.race([Promise.allSettled(clients.map((client) => client.closed)), new Promise((resolve) => setTimeout(resolve, 10_000))]);
process.stdout.write(`${JSON.stringify({ phase: 'end' })}\n`);
process.exit(0);
