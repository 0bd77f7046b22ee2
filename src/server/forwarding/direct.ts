/**
 * Channels the client opens to reach something from the server: `direct-tcpip` (RFC 4254 §7.2; ssh -L, -D,
 * -W, -J) and `direct-streamlocal@openssh.com` (OpenSSH PROTOCOL §2.4; -L to a socket path). The server
 * connects first and confirms the channel only once connected, as sshd does, so a failure reaches the
 * client as CHANNEL_OPEN_FAILURE with the system's reason and the session carries on. While it connects the
 * open holds its channel number (the connection layer counts it against MaxChannels and MaxPendingOpens),
 * and its socket holds a descriptor from the server's forwarding budget for as long as it lives.
 */
import { connect, type Socket } from 'node:net';
import { CHANNEL_OPEN_FAILURE } from '../../wire/message-numbers.ts';
import { DecodeError } from '../../wire/errors.ts';
import type { IncomingChannelOpen } from '../../connection/connection.ts';
import type { ChannelOpenHandler, HandlerContext } from '../handlers.ts';
import { sanitizeForLog } from '../logger.ts';
import { bridge } from '../../connection/socket-bridge.ts';
import { SocketReads, type SocketOnRead } from '../../transport/socket-reads.ts';
import { systemErrorText } from './error-text.ts';
import { decodeDirectStreamlocal, decodeDirectTcpip } from '../../connection/forwarding-messages.ts';
import { openPermitted, streamLocalForwardingAllowed, STREAMLOCAL_PORT, tcpForwardingAllowed, type ForwardingRules } from './policy.ts';
import { checkMayConnect } from './user-access.ts';

/** sshd's description for every policy refusal; the reason code says the rest. */
const REFUSED = 'open failed';

export function forwardingRules(context: HandlerContext): ForwardingRules {
  return { settings: context.session.settings, restrictions: context.session.restrictions };
}

function refuse(request: IncomingChannelOpen): void {
  request.reject(CHANNEL_OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, REFUSED);
}

/**
 * Connects a socket (`open` creates it), then accepts the channel and bridges the two; a failed connect
 * refuses the channel. Without a descriptor to spare the open is refused as a resource shortage.
 */
function connectThenAccept(request: IncomingChannelOpen, open: (onread: SocketOnRead) => Socket, context: HandlerContext, what: string): void {
  const { connection } = context;
  const held = context.resources.takeSocket(`${request.type} to ${what}`);
  if (!held) return request.reject(CHANNEL_OPEN_FAILURE.RESOURCE_SHORTAGE, 'open failed');
  let socket: Socket;
  // What the target sends goes into the channel from one reused buffer (borrowed-reads.ts).
  const reads = new SocketReads();
  try {
    socket = reads.bind(open(reads.onread));
  } catch (error) {
    // connect() throws synchronously for some arguments (EMFILE, a bad path) rather than emitting 'error'.
    held.release();
    return request.reject(CHANNEL_OPEN_FAILURE.CONNECT_FAILED, systemErrorText(error as Error));
  }
  socket.once('close', () => held.release());
  // A connection that ends while we are still connecting takes the attempt with it; the open is answered
  // by no one then, and the connection layer has already let its number go.
  const abandon = (): void => void socket.destroy();
  connection.once('close', abandon);
  socket.once(
    'error',
    connection.contain((error: Error) => {
      connection.off('close', abandon);
      context.log.debug(`connect_to ${what}: failed: ${systemErrorText(error)}`);
      request.reject(CHANNEL_OPEN_FAILURE.CONNECT_FAILED, systemErrorText(error));
    }),
  );
  socket.once(
    'connect',
    connection.contain(() => {
      connection.off('close', abandon);
      socket.removeAllListeners('error');
      socket.on('error', () => {}); // the bridge reports later failures as the channel's end
      if (connection.transport.isClosed) return void socket.destroy();
      const channel = request.accept();
      void bridge(socket, channel, reads);
    }),
  );
}

/** `direct-tcpip`: AllowTcpForwarding (local), no-port-forwarding, DisableForwarding, PermitOpen, permitopen=. */
export const directTcpip: ChannelOpenHandler = (request, context) => {
  let target;
  try {
    target = decodeDirectTcpip(request.data);
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
    return request.reject(CHANNEL_OPEN_FAILURE.CONNECT_FAILED, 'malformed direct-tcpip request');
  }
  const { host, port, originator } = target;
  const rules = forwardingRules(context);
  const shownHost = sanitizeForLog(host, 100);
  if (!tcpForwardingAllowed(rules, 'local')) {
    context.log.info(
      `refused local port forward: originator ${sanitizeForLog(originator.address, 100)} port ${originator.port}, target ${shownHost} port ${port}`,
    );
    return refuse(request);
  }
  if (port > 0xffff || !openPermitted(rules, host, port)) {
    const { peer } = context.session;
    context.log.info(`Received request from ${peer.address} port ${peer.port} to connect to host ${shownHost} port ${port}, but the request was denied.`);
    return refuse(request);
  }
  context.log.debug(`server_request_direct_tcpip: originator ${sanitizeForLog(originator.address, 100)} port ${originator.port}, target ${shownHost} port ${port}`);
  connectThenAccept(request, (onread) => connect({ host, port, allowHalfOpen: true, noDelay: true, onread }), context, `${shownHost} port ${port}`);
};

/** `direct-streamlocal@openssh.com`: AllowStreamLocalForwarding (local), no-port-forwarding, DisableForwarding. */
export const directStreamlocal: ChannelOpenHandler = (request, context) => {
  let path: string;
  try {
    path = decodeDirectStreamlocal(request.data).path;
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
    return request.reject(CHANNEL_OPEN_FAILURE.CONNECT_FAILED, 'malformed direct-streamlocal request');
  }
  const rules = forwardingRules(context);
  const shownPath = sanitizeForLog(path, 100);
  const { peer, account, switchUser } = context.session;
  if (!streamLocalForwardingAllowed(rules, 'local')) {
    context.log.info(`refused streamlocal port forward: originator ${peer.address} port ${peer.port}, target ${shownPath}`);
    return refuse(request);
  }
  // PermitOpen applies to paths too, where only a `*:*`-style entry can match (channel_connect_to_path).
  if (!openPermitted(rules, path, STREAMLOCAL_PORT)) {
    context.log.info(`Received request to connect to path ${shownPath}, but the request was denied.`);
    return refuse(request);
  }
  if (switchUser) {
    try {
      checkMayConnect(path, account);
    } catch (error) {
      return request.reject(CHANNEL_OPEN_FAILURE.CONNECT_FAILED, systemErrorText(error as Error));
    }
  }
  context.log.debug(`server_request_direct_streamlocal: originator ${peer.address} port ${peer.port}, target ${shownPath}`);
  connectThenAccept(request, (onread) => connect({ path, allowHalfOpen: true, onread }), context, `path ${shownPath}`);
};
