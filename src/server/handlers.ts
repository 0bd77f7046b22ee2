/**
 * What an authenticated connection answers to channel-open and global requests, by name. The session
 * channel is the server's own; everything else is a registered handler, so port forwarding, agent
 * forwarding or X11 can be added later by registering entries rather than editing the connection code.
 * Until then the forwarding requests are refused explicitly, so clients are told rather than left waiting.
 */
import { CHANNEL_OPEN_FAILURE } from '../wire/message-numbers.ts';
import type { Connection, IncomingChannelOpen, IncomingGlobalRequest } from '../connection/connection.ts';
import type { ServerLogger } from './logger.ts';
import type { SessionContext } from './session-environment.ts';

/** What a handler may use: the connection, who is logged in, and the log. */
export interface HandlerContext {
  connection: Connection;
  session: SessionContext;
  log: ServerLogger;
}

export type ChannelOpenHandler = (request: IncomingChannelOpen, context: HandlerContext) => void;
export type GlobalRequestHandler = (request: IncomingGlobalRequest, context: HandlerContext) => void;

export interface ServerHandlers {
  channels: Map<string, ChannelOpenHandler>;
  globalRequests: Map<string, GlobalRequestHandler>;
}

const refuseChannel =
  (what: string): ChannelOpenHandler =>
  (request, context) => {
    context.log.verbose(`refused ${what} channel: not available on this server`);
    request.reject(CHANNEL_OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, 'open failed');
  };

const refuseRequest =
  (what: string): GlobalRequestHandler =>
  (request, context) => {
    context.log.verbose(`refused ${what} request: not available on this server`);
    request.reply(false);
  };

/** The handlers a server starts with: forwarding of every kind refused (RFC 4254 §7, OpenSSH PROTOCOL §2.4). */
export function defaultHandlers(): ServerHandlers {
  return {
    channels: new Map<string, ChannelOpenHandler>([
      ['direct-tcpip', refuseChannel('direct-tcpip')],
      ['direct-streamlocal@openssh.com', refuseChannel('direct-streamlocal')],
    ]),
    globalRequests: new Map<string, GlobalRequestHandler>([
      ['tcpip-forward', refuseRequest('tcpip-forward')],
      ['cancel-tcpip-forward', refuseRequest('cancel-tcpip-forward')],
      ['streamlocal-forward@openssh.com', refuseRequest('streamlocal-forward')],
      ['cancel-streamlocal-forward@openssh.com', refuseRequest('cancel-streamlocal-forward')],
    ]),
  };
}
