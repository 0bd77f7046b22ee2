/**
 * Client side of X11 forwarding (RFC 4254 §6.3; ssh -X / -Y; OpenSSH clientloop.c and channels.c).
 *
 * The session asks the server for X11 forwarding with a *fake* cookie (x11-req). The server hands that cookie
 * to remote X clients, and each connection they make comes back to us as an `x11` channel. For each one we
 * connect to the local display named by $DISPLAY, read the client's connection setup, check it presents the
 * fake cookie (constant time), put the real cookie in its place, and from then on pass bytes through both
 * ways. The real cookie never leaves this machine, so a server can only reach our display through us.
 *
 * Trusted forwarding (-Y, or ForwardX11Trusted yes, Debian's default) uses the user's own cookie from
 * `xauth list`. Untrusted forwarding (ForwardX11Trusted no) asks the X server for a fresh untrusted cookie
 * (`xauth generate … untrusted`), which confines remote clients through the SECURITY extension; with a
 * ForwardX11Timeout, new x11 channels are refused once it has passed.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { IncomingChannelOpen } from '../connection/connection.ts';
import type { Channel } from '../connection/channel.ts';
import { CHANNEL_OPEN_FAILURE } from '../wire/message-numbers.ts';
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import type { SshClient } from './client.ts';
import type { Session } from './session.ts';
import { bridge } from '../connection/socket-bridge.ts';
import { DisplayError, isValidDisplay, parseDisplay, type DisplayTarget } from './x11/display.ts';
import { connectToDisplay } from './x11/connect-display.ts';
import { substituteAuthorization, type SpoofedAuthorization } from './x11/connection-setup.ts';
import { MIT_MAGIC_COOKIE, readXauthCookie, XauthDataError, type XauthCookie } from './x11/xauth.ts';

export { DisplayError, parseDisplay, type DisplayTarget } from './x11/display.ts';
export { substituteAuthorization, type SetupResult, type SpoofedAuthorization } from './x11/connection-setup.ts';

/** ssh's log levels as tether ssh numbers them (ssh-settings.ts). */
const ERROR = 2;
const INFO = 3;
const VERBOSE = 4;

/** Length of the made-up cookie when xauth has none (clientloop.c: 16 random bytes). */
const FALLBACK_COOKIE_BYTES = 16;

export interface X11ForwardingOptions {
  /** $DISPLAY of this process; undefined when unset. */
  display: string | undefined;
  /** XAuthLocation (ssh's default /usr/bin/xauth). */
  xauthLocation: string;
  /** ForwardX11Trusted (-Y sets it). */
  trusted: boolean;
  /** ForwardX11Timeout in seconds (untrusted only; 0 = never). */
  timeoutSeconds: number;
  /** Messages at ssh's log levels (2 error, 3 info, 4 verbose). */
  log: (level: number, message: string) => void;
  /** debug1 messages, when -v asked for them. */
  debug?: (message: string) => void;
}

/** Everything needed to spoof and forward X11 for one connection. */
export interface X11Authorization extends SpoofedAuthorization {
  readonly display: string;
  readonly target: DisplayTarget;
  readonly screen: number;
  /** performance.now() after which new X11 connections are refused (untrusted with a timeout), else undefined. */
  readonly refuseAfter: number | undefined;
}

/** X11 forwarding set up on a connection: ask for it on a session with `request`. */
export interface X11Forwarding {
  readonly authorization: X11Authorization;
  /** Sends x11-req on `session`; call before exec/shell/subsystem. */
  request(session: Session): void;
}

/**
 * Decides whether and how to forward X11 (clientloop.c client_x11_get_proto): the display, the real cookie,
 * and a random fake cookie of the same length. Undefined, after ssh's message, when forwarding cannot be set up.
 */
export async function prepareX11Authorization(options: X11ForwardingOptions): Promise<X11Authorization | undefined> {
  const { display, log, debug } = options;
  if (display === undefined || display === '') {
    debug?.('X11 forwarding requested but DISPLAY not set');
    return undefined;
  }
  if (!isValidDisplay(display)) {
    log(INFO, `DISPLAY "${display}" invalid; disabling X11 forwarding`);
    return undefined;
  }
  let target: DisplayTarget;
  try {
    target = parseDisplay(display);
  } catch (error) {
    if (!(error instanceof DisplayError)) throw error;
    log(ERROR, error.message);
    return undefined;
  }
  // The refusal clock starts when the untrusted cookie is made, one second late as in ssh.
  const refuseAfter = !options.trusted && options.timeoutSeconds > 0
    ? performance.now() + (options.timeoutSeconds + 1) * 1000
    : undefined;
  let cookie: XauthCookie | undefined;
  try {
    cookie = await readXauthCookie({ xauthLocation: options.xauthLocation, display, trusted: options.trusted, timeoutSeconds: options.timeoutSeconds, debug });
  } catch (error) {
    if (!(error instanceof XauthDataError)) throw error;
    log(ERROR, `X11 forwarding disabled: ${error.message}`);
    return undefined;
  }
  if (!cookie && !options.trusted) {
    // Never fall back to a made-up cookie in untrusted mode: it would give remote clients full trust.
    log(ERROR, 'Warning: untrusted X11 forwarding setup failed: xauth key data not generated');
    return undefined;
  }
  if (!cookie) {
    // The X server will ignore this data and authorize the local connection however it otherwise would.
    log(INFO, 'Warning: No xauth data; using fake authentication data for X11 forwarding.');
    cookie = { protocol: MIT_MAGIC_COOKIE, data: randomBytes(FALLBACK_COOKIE_BYTES) };
  }
  return {
    display,
    target,
    screen: target.screen,
    protocol: cookie.protocol,
    realData: cookie.data,
    fakeData: randomBytes(cookie.data.length),
    refuseAfter,
  };
}

/** RFC 4254 §6.3.1 x11-req data, after "want reply". */
export function encodeX11Request(request: { singleConnection: boolean; protocol: string; cookieHex: string; screen: number }): Buffer {
  return new Writer(64 + request.cookieHex.length)
    .boolean(request.singleConnection)
    .string(request.protocol)
    .string(request.cookieHex)
    .uint32(request.screen)
    .finish();
}

/** RFC 4254 §6.3.2: the `x11` channel's originator; undefined when a server left it out. */
export function decodeX11Originator(data: Buffer): { address: string; port: number } | undefined {
  try {
    const reader = new Reader(data);
    return { address: reader.text(), port: reader.uint32() };
  } catch {
    return undefined;
  }
}

/**
 * Asks the server to forward X11 in `session` with the fake cookie (sent with want-reply, not awaited, as ssh
 * does: a refusal is only reported).
 */
export function requestX11Forwarding(session: Session, authorization: X11Authorization, options: Pick<X11ForwardingOptions, 'log' | 'debug'>): void {
  options.debug?.('Requesting X11 forwarding with authentication spoofing.');
  const data = encodeX11Request({
    singleConnection: false,
    protocol: authorization.protocol,
    cookieHex: authorization.fakeData.toString('hex'),
    screen: authorization.screen,
  });
  void session.channel.request('x11-req', data, true).then((accepted) => {
    if (!accepted) options.log(ERROR, `X11 forwarding request failed on channel ${session.channel.localId}`);
  });
}

const isRefused = (authorization: X11Authorization) =>
  authorization.refuseAfter !== undefined && performance.now() >= authorization.refuseAfter;

/**
 * Holds the X client's first bytes until its connection setup is complete, swaps the cookie, then joins the
 * channel and the display socket. A client without the fake cookie is cut off before the X server sees a byte.
 */
function spliceAfterSetup(channel: Channel, socket: Socket, authorization: X11Authorization, options: Pick<X11ForwardingOptions, 'log' | 'debug'>): void {
  let buffered = Buffer.alloc(0);
  const abandon = () => {
    channel.off('data', onData);
    socket.destroy();
    channel.close();
  };
  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (isRefused(authorization)) {
      options.log(VERBOSE, 'Rejected X11 connection after ForwardX11Timeout expired');
      abandon();
      return;
    }
    const result = substituteAuthorization(buffered, authorization);
    if (result.status === 'incomplete') return;
    if (result.status === 'rejected') {
      options.debug?.(result.reason);
      options.log(INFO, 'X11 connection rejected because of wrong authentication.');
      abandon();
      return;
    }
    channel.off('data', onData);
    channel.off('end', abandon);
    channel.off('error', abandon);
    socket.off('close', abandon);
    socket.off('error', abandon);
    socket.write(result.bytes);
    void bridge(socket, channel);
  };
  channel.on('data', onData);
  // Either side going away before the setup is through ends the connection.
  channel.once('end', abandon);
  channel.once('error', abandon);
  socket.once('close', abandon);
  socket.once('error', abandon);
}

/** Accepts the server's `x11` channels (RFC 4254 §6.3.2) and forwards each to the local display. */
export function acceptForwardedX11(client: SshClient, authorization: X11Authorization, options: Pick<X11ForwardingOptions, 'log' | 'debug'>): void {
  client.channelHandlers.set('x11', (request: IncomingChannelOpen) => {
    const originator = decodeX11Originator(request.data);
    options.debug?.(`client_request_x11: request from ${originator?.address ?? '(unknown)'} ${originator?.port ?? 0}`);
    if (isRefused(authorization)) {
      options.log(VERBOSE, 'Rejected X11 connection after ForwardX11Timeout expired');
      request.reject(CHANNEL_OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, 'open failed');
      return;
    }
    connectToDisplay(authorization.target).then(
      (socket) => spliceAfterSetup(request.accept(), socket, authorization, options),
      (error: Error) => {
        options.log(ERROR, error.message);
        request.reject(CHANNEL_OPEN_FAILURE.CONNECT_FAILED, 'open failed');
      },
    );
  });
}

/**
 * ssh's X11 set-up for a connection in one call: prepares the cookies and accepts `x11` channels. Returns
 * undefined (after ssh's message) when X11 cannot be forwarded; otherwise call `request(session)` per session.
 */
export async function startX11Forwarding(client: SshClient, options: X11ForwardingOptions): Promise<X11Forwarding | undefined> {
  const authorization = await prepareX11Authorization(options);
  if (!authorization) return undefined;
  acceptForwardedX11(client, authorization, options);
  return {
    authorization,
    request: (session) => requestX11Forwarding(session, authorization, options),
  };
}
