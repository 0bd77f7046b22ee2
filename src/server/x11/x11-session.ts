/**
 * X11 forwarding on the server (RFC 4254 §6.3; sshd session.c session_x11_req / session_setup_x11fwd and
 * channels.c). A session's `x11-req` carries the client's *fake* cookie; the server listens on the first
 * free display at or above X11DisplayOffset (display-listener.ts), gives the session DISPLAY=localhost:N.S,
 * and has the cookie filed for that display in the user's X authority before the program starts (user-rc.ts:
 * ~/.ssh/rc or /etc/ssh/sshrc get it on stdin, else `xauth add`). Each connection an X program makes to the
 * display becomes an `x11` channel to the client with the originator's address and port (§6.3.2), which the
 * client checks for the fake cookie and joins to the real display. A single-connection request stops
 * listening after the first connection.
 *
 * When the session's channel closes (or the connection goes) the display stops taking connections, its
 * xauth entry is removed as the user, and then its sockets close: the number stays bound until the entry is
 * gone, so no later session can be given this display and lose its own fresh entry to this removal.
 * Connections already forwarded go on until the X programs end them, as in sshd.
 *
 * Refusals are logged as sshd logs them, and the session goes on without X11 (the client prints
 * "X11 forwarding request failed on channel N").
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Socket } from 'node:net';
import type { Channel } from '../../connection/channel.ts';
import { bridge } from '../../connection/socket-bridge.ts';
import { Reader } from '../../wire/reader.ts';
import { Writer } from '../../wire/writer.ts';
import { sendDebugMessage } from '../forwarding/debug-message.ts';
import type { HandlerContext, SessionRequestHandler } from '../handlers.ts';
import type { Grant } from '../resource-limits.ts';
import { stripMappedPrefix } from '../server-connection.ts';
import type { SessionProgram } from '../../sessions/session-process.ts';
import type { X11Authority } from '../user-rc.ts';
import { listenOnFreeDisplay, X11DisplayError, type X11DisplayListener } from './display-listener.ts';
import { removeXauthEntry } from './xauth-cleanup.ts';

export const X11_REQUEST = 'x11-req';
export const X11_CHANNEL_TYPE = 'x11';

/** RFC 4254 §6.3.1 x11-req data, after "want reply". */
export interface X11Request {
  singleConnection: boolean;
  protocol: string;
  /** The (fake) cookie, hex as the client sent it. */
  cookie: string;
  screen: number;
}

export function decodeX11Request(data: Buffer): X11Request {
  const reader = new Reader(data);
  // Bounded: a protocol name is a few bytes, a cookie a few dozen hex digits.
  const request = { singleConnection: reader.boolean(), protocol: reader.text(256), cookie: reader.text(2048), screen: reader.uint32() };
  reader.end('x11-req');
  return request;
}

/** RFC 4254 §6.3.2: the `x11` channel's originator address and port. */
export function encodeX11Originator(address: string, port: number): Buffer {
  return new Writer(16 + address.length).string(address).uint32(port).finish();
}

/**
 * session.c xauth_valid_string(): the protocol and cookie go to xauth (and rc files) as text, so nothing
 * beyond letters, digits and . : / - _ is let through.
 */
export function validXauthString(text: string): boolean {
  return /^[A-Za-z0-9.:/_-]*$/.test(text);
}

/** What a session gets from an accepted x11-req. */
export interface X11SessionDisplay {
  /** DISPLAY for the session ("localhost:10.0"). */
  readonly display: string;
  /** What xauth and the rc files are given. */
  readonly authority: X11Authority;
}

/** One session's forwarded display. */
export class X11Forward implements X11SessionDisplay {
  readonly display: string;
  readonly authority: X11Authority;
  readonly listener: X11DisplayListener;
  private readonly context: HandlerContext;
  private readonly singleConnection: boolean;
  private readonly held: Grant[];
  private program: SessionProgram | undefined;
  private ending: Promise<void> | undefined;

  constructor(context: HandlerContext, listener: X11DisplayListener, request: X11Request, held: Grant[]) {
    this.context = context;
    this.listener = listener;
    this.singleConnection = request.singleConnection;
    this.held = held;
    const { settings } = context.session;
    const number = `${listener.display}.${request.screen}`;
    // A localhost display's cookie is filed under the local ("unix") family, which is what X clients
    // connecting to localhost:N look up; a wildcard display is reached by this host's name.
    const name = settings.x11UseLocalhost ? 'localhost' : hostname();
    this.display = `${name}:${number}`;
    this.authority = {
      display: settings.x11UseLocalhost ? `unix:${number}` : this.display,
      protocol: request.protocol,
      cookie: request.cookie,
      xauthLocation: settings.xauthLocation ?? undefined,
    };
  }

  /** The session's program has been started with this display: its xauth entry is removed at the end. */
  started(program: SessionProgram): void {
    this.program = program;
  }

  /** A connection to the display: an `x11` channel to the client, joined to it. */
  accept(socket: Socket): void {
    socket.on('error', () => {});
    if (this.ending) return void socket.destroy();
    if (this.singleConnection) {
      this.context.log.debug('single_connection: closing X11 listener.');
      void this.listener.close();
    }
    const { connection, log, resources } = this.context;
    const held = resources.takeSocket('X11 connection');
    if (!held) return void socket.destroy();
    socket.once('close', () => held.release());
    const address = stripMappedPrefix(socket.remoteAddress ?? '');
    const port = socket.remotePort ?? 0;
    log.debug('X11 connection requested.');
    connection.openChannel(X11_CHANNEL_TYPE, encodeX11Originator(address, port)).then(
      (channel) => {
        if (socket.destroyed) return channel.close();
        void bridge(socket, channel);
      },
      (error: Error) => {
        log.debug(`${X11_CHANNEL_TYPE} channel for ${address} port ${port} refused by the client: ${error.message}`);
        socket.destroy();
      },
    );
  }

  /** The session ended: stop taking connections, remove the xauth entry, then close the sockets. */
  end(): Promise<void> {
    this.ending ??= (async () => {
      const xauthLocation = this.authority.xauthLocation;
      if (this.program && xauthLocation) {
        const removed = await removeXauthEntry({ xauthLocation, authDisplay: this.authority.display, program: this.program });
        if (!removed) this.context.log.debug(`xauth remove ${this.authority.display} failed`);
      }
      await this.listener.close();
      this.held.forEach((grant) => grant.release());
    })();
    return this.ending;
  }
}

const forwardsBySession = new WeakMap<Channel, X11Forward>();

/** The forwarded display of a session channel, once its x11-req was accepted. */
export function x11ForwardOf(channel: Channel): X11Forward | undefined {
  return forwardsBySession.get(channel);
}

/** session_setup_x11fwd()'s checks, in its order; the refusal is logged (and told the client) as sshd does. */
function refusal(context: HandlerContext): string | undefined {
  const { settings, restrictions } = context.session;
  if (!restrictions.permitX11Forwarding) {
    sendDebugMessage(context.connection, 'X11 forwarding disabled by key options.');
    return 'X11 forwarding disabled by key options.';
  }
  // DisableForwarding covers X11 too (sshd_config(5); sshd 9.2 itself only honours it from 9.8 on).
  if (!settings.x11Forwarding || settings.disableForwarding) return 'X11 forwarding disabled in server configuration file.';
  if (settings.xauthLocation === null || !existsSync(settings.xauthLocation)) {
    sendDebugMessage(context.connection, 'No xauth program; cannot forward X11.');
    return 'No xauth program; cannot forward X11.';
  }
  return undefined;
}

/**
 * `x11-req` on a session channel (sshd session_x11_req), before the program starts: one per session,
 * X11Forwarding (after Match), the key's no-X11-forwarding / restrict, DisableForwarding and XAuthLocation
 * decide; then a display is allocated. Answers once the display listens.
 */
export const x11ForwardingRequest: SessionRequestHandler = async (request, context) => {
  const { channel, log } = context;
  if (forwardsBySession.has(channel)) {
    log.error(`session_x11_req: session ${channel.localId}: x11 forwarding already active`);
    return false;
  }
  const wanted = decodeX11Request(request.data);
  if (!validXauthString(wanted.protocol) || !validXauthString(wanted.cookie)) {
    log.error('Invalid X11 forwarding data');
    return false;
  }
  const refused = refusal(context);
  if (refused) {
    log.debug(refused);
    return false;
  }
  const { settings } = context.session;
  // Connections that arrive before the forward exists (the reply is not out yet) are dropped.
  const accepting: { forward?: X11Forward } = {};
  let listener: X11DisplayListener;
  try {
    listener = await listenOnFreeDisplay({
      offset: settings.x11DisplayOffset,
      maxDisplays: settings.x11MaxDisplays,
      useLocalhost: settings.x11UseLocalhost,
      addressFamily: settings.addressFamily,
      onConnection: context.connection.contain((socket: Socket) => (accepting.forward ? accepting.forward.accept(socket) : socket.destroy())),
      debug: (message) => log.debug(message),
    });
  } catch (error) {
    if (!(error instanceof X11DisplayError)) throw error;
    log.error(error.message);
    log.debug('x11_create_display_inet failed.');
    return false;
  }
  // The listening sockets come out of the descriptor budget like forwarding's (resource-limits.ts).
  const held: Grant[] = [];
  for (let i = 0; i < listener.socketCount; i++) {
    const grant = context.resources.takeSocket(`X11 display ${listener.display}`);
    if (!grant) {
      held.forEach((g) => g.release());
      await listener.close();
      return false;
    }
    held.push(grant);
  }
  const created = new X11Forward(context, listener, wanted, held);
  accepting.forward = created;
  // The channel or the connection may have gone while the display was being found.
  if (channel.isClosing || context.connection.transport.isClosed) {
    await created.end();
    return false;
  }
  forwardsBySession.set(channel, created);
  // Also emitted for every channel when the connection goes (connection.ts onTransportClosed).
  channel.once('channel-closed', () => void created.end());
  log.debug(`X11 display ${created.display} for session ${channel.localId}`);
  return true;
};
