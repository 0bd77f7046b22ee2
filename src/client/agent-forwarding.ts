/**
 * Client side of agent forwarding (OpenSSH PROTOCOL §2.1 "auth-agent@openssh.com"): the session asks the
 * server to offer an agent, and each agent connection the server opens back to us is piped to the local
 * agent's socket.
 */
import { connect } from 'node:net';
import { CHANNEL_OPEN_FAILURE } from '../wire/message-numbers.ts';
import type { SshClient } from './client.ts';
import type { Session } from './session.ts';

/** Accepts the server's `auth-agent@openssh.com` channels and connects each to `socketPath`. */
export function acceptForwardedAgent(client: SshClient, socketPath: string): void {
  client.channelHandlers.set('auth-agent@openssh.com', (request) => {
    const socket = connect(socketPath);
    socket.once('error', () => request.reject(CHANNEL_OPEN_FAILURE.CONNECT_FAILED, 'cannot reach the local agent'));
    socket.once('connect', () => {
      const channel = request.accept();
      socket.on('error', () => channel.destroy());
      channel.on('error', () => socket.destroy());
      socket.pipe(channel);
      channel.pipe(socket);
    });
  });
}

/** Asks the server to provide a forwarded agent in this session (sent without want-reply, as ssh does). */
export function requestAgentForwarding(session: Session): void {
  void session.channel.request('auth-agent-req@openssh.com', Buffer.alloc(0), false);
}
