/**
 * Joins a local socket and an SSH channel into one forwarded connection. Data flows both ways with
 * backpressure (pipe(), or reused buffers and direct writes where the socket allows), so a slow reader on
 * either end stops the sender (the channel withholds window, the socket stops reading)
 * instead of growing buffers. Half-closes carry across: the socket's EOF becomes CHANNEL_EOF and the
 * channel's EOF ends the socket's write side (RFC 4254 §5.3). The channel is closed once both directions
 * are done, or at once when either side fails.
 */
import type { Socket } from 'node:net';
import type { Channel } from './channel.ts';
import { sendBorrowedReads } from './borrowed-reads.ts';
import { consumeInto } from './descriptor-writes.ts';
import type { SocketReads } from '../transport/socket-reads.ts';

/**
 * Resolves once the socket is gone and the channel closed; never rejects. `reads`: the socket was made with
 * its onread option, and what it reads goes into the channel from the reused buffer (borrowed-reads.ts).
 */
export function bridge(socket: Socket, channel: Channel, reads?: SocketReads): Promise<void> {
  return new Promise((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      channel.close();
      if (!socket.destroyed) socket.destroy();
      resolve();
    };

    if (reads) void sendBorrowedReads(channel, reads).then(() => channel.end());
    else socket.pipe(channel);
    if (consumeInto(channel, socket)) channel.once('end', () => socket.end());
    else channel.pipe(socket);

    // A reset or other socket failure: nothing more can be delivered either way.
    socket.on('error', () => finish());
    channel.on('error', () => finish());

    // Both socket directions are done (with allowHalfOpen the socket closes only after end + finish). The
    // channel is closed once its own EOF has left, i.e. after every byte read from the socket was sent.
    socket.once('close', (hadError) => {
      if (hadError || channel.writableFinished || channel.isClosing) finish();
      else channel.once('finish', finish);
    });

    // The peer closed the channel: whatever it sent is still delivered (the channel ends the socket after
    // its last data), but nothing more can be sent, so stop reading and let the socket go once flushed.
    channel.once('channel-closed', () => {
      if (reads) reads.pause();
      else socket.unpipe(channel);
      if (socket.writableFinished) finish();
      else socket.once('finish', finish);
    });
  });
}

/**
 * A stdio forward (-W, or a mux client's MUX_C_NEW_STDIO_FWD) is over once both directions are at EOF, as
 * ssh's channel state machine decides: then the channel is closed.
 */
export function closeWhenBothEnded(channel: Channel): void {
  let sent = false;
  let received = false;
  const closeIfDone = () => sent && received && channel.close();
  channel.once('finish', () => {
    sent = true;
    closeIfDone();
  });
  channel.once('end', () => {
    received = true;
    closeIfDone();
  });
}
