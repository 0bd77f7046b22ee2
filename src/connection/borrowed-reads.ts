/**
 * Sending what a BorrowedReads source reads into a channel (issue 17): Channel.sendBorrowed copies only what
 * window or transport make wait, and reading pauses until that has gone.
 */
import type { BorrowedReads } from '../transport/socket-reads.ts';
import type { Channel } from './channel.ts';

/**
 * Sends everything `source` reads into `channel` as data; resolves once the source has ended and all of it
 * has been handed to the channel (so an EOF sent afterwards follows the last byte).
 */
export function sendBorrowedReads(channel: Channel, source: BorrowedReads): Promise<void> {
  return new Promise((resolve) => {
    let ended = false;
    // A read can be taken in several pieces (frames); each that had to wait is counted until it has gone.
    let waiting = 0;
    const pieceSent = () => {
      if (--waiting > 0) return;
      if (ended) resolve();
      else source.resume();
    };
    source.start(
      (bytes) => {
        if (channel.isClosing) return true;
        if (!channel.sendBorrowed(bytes, pieceSent)) waiting++;
        return waiting === 0;
      },
      () => {
        ended = true;
        if (waiting === 0) resolve();
      },
      () => channel.sendRoom,
    );
  });
}
