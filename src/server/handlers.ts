/**
 * What an authenticated connection answers to channel-open requests, global requests and the session
 * requests beyond the built-in ones, by name. The session channel is the server's own; everything else is a
 * registered handler, so port forwarding, agent forwarding or X11 plug in by registering entries rather
 * than editing the connection code.
 */
import type { Channel, ChannelRequest } from '../connection/channel.ts';
import type { Connection, IncomingChannelOpen, IncomingGlobalRequest } from '../connection/connection.ts';
import { AGENT_FORWARDING_REQUEST, agentForwardingRequest } from './agent-forwarding.ts';
import { forwardingChannelHandlers, forwardingGlobalRequestHandlers } from './forwarding/index.ts';
import { X11_REQUEST, x11ForwardingRequest } from './x11/x11-session.ts';
import type { ServerLogger } from './logger.ts';
import type { SessionContext } from './session-environment.ts';
import type { ConnectionResources } from './resource-limits.ts';

/** What a handler may use: the connection, who is logged in, and the log. */
export interface HandlerContext {
  connection: Connection;
  session: SessionContext;
  log: ServerLogger;
  /**
   * Variables set for every session program started on this connection from now on (SSH_AUTH_SOCK once
   * agent forwarding is set up, as sshd's do_setup_env adds it to every later session).
   */
  sessionEnv: Map<string, string>;
  /** This connection's forwards, sessions and forwarding sockets, counted against its caps (resource-limits.ts). */
  resources: ConnectionResources;
}

export type ChannelOpenHandler = (request: IncomingChannelOpen, context: HandlerContext) => void;
export type GlobalRequestHandler = (request: IncomingGlobalRequest, context: HandlerContext) => void;
/**
 * A session channel request (RFC 4254 §6); the return value is the reply. A promise (x11-req, which must find
 * a free display first) holds back the channel's later requests until it settles, so replies stay in order.
 */
export type SessionRequestHandler = (request: ChannelRequest, context: HandlerContext & { channel: Channel }) => boolean | Promise<boolean>;

export interface ServerHandlers {
  channels: Map<string, ChannelOpenHandler>;
  globalRequests: Map<string, GlobalRequestHandler>;
  /** Session requests the session channel does not handle itself (auth-agent-req@openssh.com, x11-req). */
  sessionRequests?: Map<string, SessionRequestHandler>;
}

/**
 * The handlers a server starts with: TCP and Unix-socket forwarding (RFC 4254 §7, OpenSSH PROTOCOL §2.4),
 * agent forwarding (PROTOCOL §2.1) and X11 forwarding (RFC 4254 §6.3), each doing what the connection's
 * sshd_config and key options allow.
 */
export function defaultHandlers(): ServerHandlers {
  return {
    channels: new Map<string, ChannelOpenHandler>(forwardingChannelHandlers()),
    globalRequests: new Map<string, GlobalRequestHandler>(forwardingGlobalRequestHandlers()),
    sessionRequests: new Map<string, SessionRequestHandler>([
      [AGENT_FORWARDING_REQUEST, agentForwardingRequest],
      [X11_REQUEST, x11ForwardingRequest],
    ]),
  };
}
