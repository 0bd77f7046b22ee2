/**
 * Where a connection goes, in order: every name of the host (HostName's comma-separated alternates, Tether's
 * failover extension; one name otherwise) and every address each name resolves to, in resolver order, as ssh
 * tries them (sshconnect.c ssh_connect_direct: one TCP attempt per getaddrinfo result, ConnectionAttempts
 * passes one second apart). A candidate is accepted only once `establish` succeeds on it — for connect() that
 * is the SSH handshake up to an accepted host key — so a reachable backup presenting the wrong key is passed
 * over like an unreachable one, and the last error is the one reported when nothing is left.
 *
 * The messages are ssh's: "Connecting to NAME [ADDR] port N." and "connect to address ADDR port N: REASON" at
 * debug level, "ssh: connect to host NAME port N: REASON" for the attempt that ends it.
 */
import { connect as netConnect, type NetConnectOpts, type Socket } from 'node:net';
import { ipFamily } from '../match/addresses.ts';
import { SocketReads } from '../transport/socket-reads.ts';
import { TRANSPORT_WRITE_HIGH_WATER } from '../transport/packet-layer.ts';
import type { Duplex, DuplexOptions } from 'node:stream';

// Loaded for a name, not an address: node:dns/promises sets up a resolver (reading /etc/resolv.conf) as it
// loads (issue 17).
const dns = () => process.getBuiltinModule('node:dns/promises');

/** The TCP connection could not be made (ssh: "connect to host H port P: Connection refused"). */
export class ConnectError extends Error {
  override readonly name: string = 'ConnectError';
}

/** The host name does not resolve (ssh: "Could not resolve hostname H: Name or service not known"). */
export class ResolveError extends ConnectError {
  override readonly name = 'ResolveError';
}

/** One place the server was (or is being) reached at: a name of the host and, over TCP, one of its addresses. */
export interface ConnectTarget {
  /** The name tried: one of the host's alternates. */
  name: string;
  /** Its position among the alternates; 0 is the host itself (HostName's first name). */
  index: number;
  /** The host itself: the first alternate, the name keys are known under when alternates share them. */
  primary: string;
  /** The numeric address connected to; undefined over a stream (a jump host's channel, ProxyCommand). */
  address: string | undefined;
  port: number;
  /** No one can answer a host-key question (a reconnect): unknown keys are refused as under strict checking. */
  unattended: boolean;
}

export interface TcpOptions {
  /** AddressFamily (-4/-6). */
  family?: 4 | 6;
  /** BindAddress (-b). */
  localAddress?: string;
  /** Seconds for each TCP attempt; 0 or undefined waits as long as the system does. */
  connectTimeout?: number;
  /** TCPKeepAlive. */
  tcpKeepAlive?: boolean;
}

export interface FailoverOptions<T> extends TcpOptions {
  /** The host's names, first first (never empty). */
  names: readonly string[];
  port: number;
  /** ConnectionAttempts: passes over every candidate, one second apart (default 1). */
  attempts?: number;
  unattended?: boolean;
  /**
   * Opens a byte stream to one name instead of TCP (a jump host's direct-tcpip channel): names are then not
   * resolved here, the far end resolves them.
   */
  dial?: (name: string, port: number) => Promise<Duplex>;
  /** Runs on each stream until the candidate is accepted; throwing passes it over (unless nothing is left). */
  establish: (stream: Duplex, socket: Socket | undefined, target: ConnectTarget) => Promise<T>;
  /** Told of each candidate `establish` refused when another is left to try. */
  onPassedOver?: (target: ConnectTarget, error: Error) => void;
  debug?: (message: string) => void;
}

/** Upper bound on addresses tried per name: a resolver answer is not ours to trust with an unbounded loop. */
const MAX_ADDRESSES_PER_NAME = 32;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** ssh's strerror() wording for the connect() failures a user meets. */
function reasonOf(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED': return 'Connection refused';
    case 'ETIMEDOUT': return 'Connection timed out';
    case 'EHOSTUNREACH': return 'No route to host';
    case 'ENETUNREACH': return 'Network is unreachable';
    case 'EADDRNOTAVAIL': return 'Cannot assign requested address';
    case 'ECONNRESET': return 'Connection reset by peer';
    default: return error.message;
  }
}

/** Every address `name` resolves to, in resolver order (getaddrinfo's, as ssh uses it). */
export async function resolveAddresses(name: string, family?: 4 | 6): Promise<string[]> {
  if (ipFamily(name) !== 0) {
    if (family !== undefined && ipFamily(name) !== family) throw new ResolveError(`Could not resolve hostname ${name}: Address family for hostname not supported`);
    return [name];
  }
  try {
    const found = await dns().lookup(name, { all: true, order: 'verbatim', ...(family ? { family } : {}) });
    const addresses = [...new Set(found.map((entry) => entry.address))].slice(0, MAX_ADDRESSES_PER_NAME);
    if (addresses.length === 0) throw Object.assign(new Error('no addresses'), { code: 'ENOTFOUND' });
    return addresses;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'EAI_AGAIN' ? 'Temporary failure in name resolution' : 'Name or service not known';
    throw new ResolveError(`Could not resolve hostname ${name}: ${reason}`);
  }
}

/** One TCP connection attempt to a numeric address, abandoned after ConnectTimeout. */
export function tcpAttempt(address: string, port: number, options: TcpOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // Read into the process's shared buffer (issue 17): the transport finds these reads on the socket.
    const reads = new SocketReads();
    const connectOptions: NetConnectOpts & Pick<DuplexOptions, 'writableHighWaterMark'> = {
      host: address,
      port,
      noDelay: true,
      keepAlive: options.tcpKeepAlive ?? true,
      onread: reads.onread,
      writableHighWaterMark: TRANSPORT_WRITE_HIGH_WATER,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    };
    const socket = reads.bind(netConnect(connectOptions));
    const fail = (reason: string) => {
      clearTimeout(timer);
      socket.destroy();
      reject(Object.assign(new ConnectError(reason), { reason }));
    };
    const timer = options.connectTimeout ? setTimeout(() => fail('Connection timed out'), options.connectTimeout * 1000) : undefined;
    socket.once('error', (error: NodeJS.ErrnoException) => fail(reasonOf(error)));
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

/**
 * Tries the candidates in order and resolves with what `establish` gives for the first one it accepts.
 * A failure to establish on the last candidate of a pass is final, as ssh's handshake failures are; TCP
 * failures are retried for ConnectionAttempts passes; names that do not resolve are skipped, and when no
 * name resolves the resolver's error is final.
 */
export async function connectToFirstReachable<T>(options: FailoverOptions<T>): Promise<T> {
  const { names, port } = options;
  const attempts = Math.max(1, options.attempts ?? 1);
  const resolved = new Map<string, string[]>();
  const target = (name: string, index: number, address: string | undefined): ConnectTarget => ({
    name, index, primary: names[0]!, address, port, unattended: options.unattended ?? false,
  });
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) {
      await sleep(1000);
      options.debug?.('Trying again...');
    }
    // Built per pass: names that do not resolve drop out, so "last candidate" means the last one left.
    // Names are looked up together (a slow resolver for a backup does not delay the first), used in order.
    const candidates: ConnectTarget[] = [];
    let unresolved: ResolveError | undefined;
    const lookups = options.dial ? [] : await Promise.allSettled(names.map((name) => resolved.get(name) ?? resolveAddresses(name, options.family)));
    for (const [index, name] of names.entries()) {
      if (options.dial) {
        candidates.push(target(name, index, undefined));
        continue;
      }
      const lookup = lookups[index]!;
      if (lookup.status === 'rejected') {
        if (!(lookup.reason instanceof ResolveError)) throw lookup.reason;
        options.debug?.(lookup.reason.message);
        unresolved ??= lookup.reason;
        continue;
      }
      resolved.set(name, lookup.value);
      for (const address of lookup.value) candidates.push(target(name, index, address));
    }
    if (candidates.length === 0) throw unresolved ?? new ResolveError(`Could not resolve hostname ${names[0]}: Name or service not known`);

    for (const [position, candidate] of candidates.entries()) {
      const isLast = position === candidates.length - 1;
      let stream: Duplex;
      let socket: Socket | undefined;
      try {
        if (options.dial) {
          options.debug?.(`Connecting to ${candidate.name} port ${port} through the jump host.`);
          stream = await options.dial(candidate.name, port);
        } else {
          options.debug?.(`Connecting to ${candidate.name} [${candidate.address}] port ${port}.`);
          socket = await tcpAttempt(candidate.address!, port, options);
          options.debug?.('Connection established.');
          stream = socket;
        }
      } catch (error) {
        // A jump host refusing to open the channel (ChannelOpenError) passes the name over like a refused TCP connect.
        if (!(error instanceof ConnectError) && !options.dial) throw error;
        const reason = (error as ConnectError & { reason?: string }).reason ?? (error as Error).message;
        if (candidate.address !== undefined) options.debug?.(`connect to address ${candidate.address} port ${port}: ${reason}`);
        lastError = options.dial ? (error as Error) : new ConnectError(`connect to host ${candidate.name} port ${port}: ${reason}`);
        continue;
      }
      try {
        return await options.establish(stream, socket, candidate);
      } catch (error) {
        stream.destroy();
        if (isLast) throw error;
        options.debug?.(`${candidate.name}${candidate.address ? ` [${candidate.address}]` : ''} port ${port} not accepted: ${(error as Error).message}`);
        options.onPassedOver?.(candidate, error as Error);
        lastError = error as Error;
      }
    }
  }
  throw lastError!;
}
