/**
 * Dynamic forwarding (-D, DynamicForward): a local SOCKS4/4a/5 server whose CONNECT requests each become a
 * direct-tcpip channel to the requested host, resolved on the server's side. The SOCKS reply waits for the
 * channel, so a refused destination is refused to the SOCKS client too.
 */
import type { Socket } from 'node:net';
import { ChannelOpenError } from '../../connection/connection.ts';
import { CHANNEL_OPEN_FAILURE } from '../../wire/message-numbers.ts';
import { negotiateSocks, SOCKS5_REPLY } from '../socks.ts';
import { bridge } from '../../connection/socket-bridge.ts';
import { currentConnection, openDirect, originatorOf, type ConnectionSource } from './direct.ts';
import { ForwardListener, type ListenSpec } from './listener.ts';
import { describeOpenFailure } from './report.ts';

export interface DynamicForwardOptions extends ListenSpec {
  onError?: (message: string) => void;
  debug?: (message: string) => void;
}

/** The SOCKS5 reply code matching why the channel open failed (RFC 1928 §6, RFC 4254 §5.1). */
function socksCodeFor(error: Error): number {
  if (!(error instanceof ChannelOpenError)) return SOCKS5_REPLY.GENERAL_FAILURE;
  if (error.reason === CHANNEL_OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED) return SOCKS5_REPLY.NOT_ALLOWED;
  if (error.reason === CHANNEL_OPEN_FAILURE.CONNECT_FAILED) return SOCKS5_REPLY.CONNECTION_REFUSED;
  return SOCKS5_REPLY.GENERAL_FAILURE;
}

async function handleSocksClient(connection: ConnectionSource, socket: Socket, options: DynamicForwardOptions): Promise<void> {
  socket.on('error', () => socket.destroy());
  let negotiated;
  try {
    negotiated = await negotiateSocks(socket);
  } catch (error) {
    options.debug?.(`dynamic forward: ${(error as Error).message}`);
    socket.destroy();
    return;
  }
  const { request, reply } = negotiated;
  options.debug?.(`dynamic forward: SOCKS${request.version} CONNECT ${request.host}:${request.port}`);
  let channel;
  try {
    channel = await openDirect(currentConnection(connection), { host: request.host, port: request.port }, originatorOf(socket));
  } catch (error) {
    options.onError?.(describeOpenFailure(error as Error));
    reply(socksCodeFor(error as Error));
    socket.end();
    return;
  }
  reply(SOCKS5_REPLY.SUCCEEDED);
  socket.removeAllListeners('error');
  await bridge(socket, channel);
}

export function forwardDynamic(connection: ConnectionSource, options: DynamicForwardOptions): Promise<ForwardListener> {
  return ForwardListener.open(options, (socket) => void handleSocksClient(connection, socket, options));
}
