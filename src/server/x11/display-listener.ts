/**
 * The TCP listener behind a forwarded X11 display, as sshd's channels.c x11_create_display_inet() makes it:
 * display N is TCP port 6000 + N (X Window System Protocol, "Connection Setup"), and a session gets the
 * first N at or above X11DisplayOffset (and below the display limit) whose port can be bound on every
 * address wanted. X11UseLocalhost yes binds the loopback addresses only (127.0.0.1, and ::1 where the host
 * has IPv6), no the wildcard ones; AddressFamily picks the families, as sshd's getaddrinfo() hints do.
 * Nothing is ever bound beyond those addresses.
 *
 * An address of a family the host does not have (no ::1, IPv6 off) is skipped, as sshd skips a socket()
 * that fails with EAFNOSUPPORT; any other bind failure means the display is someone else's, and the next
 * number is tried. Binding is one address at a time, so two sessions asking at once simply get different
 * numbers: the kernel, not this process, decides who has a port.
 */
import type { Server, Socket } from 'node:net';
import { listenTcp } from '../tcp-listener.ts';

/** Display N listens on port 6000 + N. */
export const X11_BASE_PORT = 6000;
/** The errors that say an address's family is missing here rather than the port being taken. */
const FAMILY_MISSING = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT']);

export type AddressFamily = 'any' | 'inet' | 'inet6';

export interface DisplayListenOptions {
  /** X11DisplayOffset: the first display number tried. */
  offset: number;
  /** Display numbers stay below this (sshd's MAX_DISPLAYS, 1000). */
  maxDisplays: number;
  /** X11UseLocalhost. */
  useLocalhost: boolean;
  /** AddressFamily. */
  addressFamily: AddressFamily;
  /** Each connection accepted on any of the display's sockets, paused until something reads it. */
  onConnection: (socket: Socket) => void;
  /** bind failures, for the debug log. */
  debug?: (message: string) => void;
}

/** No display could be allocated; the message is sshd's log line. */
export class X11DisplayError extends Error {
  override readonly name = 'X11DisplayError';
}

/** The addresses bound for a display, in sshd's order (getaddrinfo's: IPv6 first). */
export function displayAddresses(useLocalhost: boolean, family: AddressFamily): string[] {
  const v4 = useLocalhost ? '127.0.0.1' : '0.0.0.0';
  const v6 = useLocalhost ? '::1' : '::';
  if (family === 'inet') return [v4];
  if (family === 'inet6') return [v6];
  return [v6, v4];
}


function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** One display's listening sockets. */
export class X11DisplayListener {
  readonly display: number;
  readonly port: number;
  private readonly servers: Server[];
  private closing: Promise<void> | undefined;

  constructor(display: number, servers: Server[]) {
    this.display = display;
    this.port = X11_BASE_PORT + display;
    this.servers = servers;
  }

  /** How many sockets listen (one per address family bound). */
  get socketCount(): number {
    return this.servers.length;
  }

  get listening(): boolean {
    return this.closing === undefined;
  }

  /** Stops listening on every socket; connections already accepted are not touched. */
  close(): Promise<void> {
    this.closing ??= Promise.all(this.servers.map(closeServer)).then(() => {});
    return this.closing;
  }
}

/** Listens on the first free display, or throws X11DisplayError when every number up to the limit is taken. */
export async function listenOnFreeDisplay(options: DisplayListenOptions): Promise<X11DisplayListener> {
  const addresses = displayAddresses(options.useLocalhost, options.addressFamily);
  const missing = new Set<string>();
  const last = Math.min(options.maxDisplays, 0x10000 - X11_BASE_PORT);
  for (let display = options.offset; display < last; display++) {
    const port = X11_BASE_PORT + display;
    const servers: Server[] = [];
    let taken = false;
    for (const address of addresses) {
      if (missing.has(address)) continue;
      try {
        servers.push(await listenTcp(address, port, options.onConnection));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        options.debug?.(`x11_create_display_inet: bind port ${port}: ${(error as Error).message}`);
        // A family the host lacks is left out from now on; anything else is the port being in use.
        if (FAMILY_MISSING.has(code) && addresses.length > 1) {
          missing.add(address);
          continue;
        }
        taken = true;
        break;
      }
    }
    if (taken || servers.length === 0) {
      await Promise.all(servers.map(closeServer));
      if (!taken) break; // no address could be bound at all: no display number will do better
      continue;
    }
    return new X11DisplayListener(display, servers);
  }
  throw new X11DisplayError('Failed to allocate internet-domain X11 display socket.');
}
