/**
 * The client's stdin, when it is a pipe or a socket, read into one reused buffer and sent straight into the
 * session's channel (connection/borrowed-reads.ts): an upload then allocates nothing per read (issue 17).
 * It reads a duplicate of fd 0 (native/fdpass), so process.stdin, which other code may have looked at, is
 * left as it is. Terminals and files keep process.stdin; so does a build without the addon.
 */
import { closeSync, fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import { fdPass, widenPipe } from '../crypto/fdpass.ts';
import { CLIENT_PIPE_CAPACITY } from './stdout-writer.ts';
import { readsOnStart, type BorrowedReads, type SocketOnRead } from '../transport/socket-reads.ts';

export interface BorrowedStdin extends BorrowedReads {
  /** Stops reading and closes the duplicate (fd 0 stays open). */
  destroy(): void;
}

export function borrowedStdin(): BorrowedStdin | undefined {
  let fd: number;
  try {
    const stat = fstatSync(0);
    if (!stat.isFIFO() && !stat.isSocket()) return undefined;
    fd = fdPass().dup(0);
    if (stat.isFIFO()) widenPipe(fd, CLIENT_PIPE_CAPACITY);
  } catch {
    return undefined;
  }
  let socket: Socket | undefined;
  const open = (onread: SocketOnRead) => {
    socket = new Socket({ fd, readable: true, writable: false, onread });
    socket.on('error', () => {});
    return socket;
  };
  return {
    ...readsOnStart(open),
    destroy() {
      if (socket) socket.destroy();
      else closeSync(fd);
    },
  };
}
