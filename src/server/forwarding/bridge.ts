/**
 * Carries one forwarded connection between a socket (TCP or Unix) and an SSH channel, both ways, with the
 * backpressure of pipe(): a socket that cannot take more stops the channel granting window to the client,
 * and a channel without window stops us reading the socket. Half-closes cross over as sshd carries them
 * (RFC 4254 §5.3): the socket's end becomes CHANNEL_EOF, the client's EOF ends the socket's write side. The
 * channel is closed when both directions are finished, or at once when either side fails.
 */
import type { Socket } from 'node:net';
import type { Channel } from '../../connection/channel.ts';

/** Resolves once the socket is gone and the channel closed; never rejects. */
export function bridgeSocket(socket: Socket, channel: Channel): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      channel.close();
      socket.destroy();
      resolve();
    };

    socket.pipe(channel);
    channel.pipe(socket);

    // A reset, a write after the peer vanished: nothing more can be carried in either direction.
    socket.on('error', finish);
    channel.on('error', finish);

    // With allowHalfOpen the socket closes only after both of its directions ended. Our EOF to the client
    // leaves once every byte read from the socket has been sent, and only then the CLOSE.
    socket.once('close', (hadError: boolean) => {
      if (hadError || channel.writableFinished || channel.isClosing) finish();
      else channel.once('finish', finish);
    });

    // The client closed the channel: what it sent before is still written out (the channel ends the socket
    // after its last data), then the socket goes.
    channel.once('channel-closed', () => {
      socket.unpipe(channel);
      if (socket.writableFinished || socket.destroyed) finish();
      else socket.once('finish', finish);
    });
  });
}
