/**
 * Streams over descriptors a mux client passed (PROTOCOL.mux §2, §3): its stdin, stdout and stderr, which
 * may be terminals, pipes, sockets, files or /dev/null. Each kind gets the Node stream that reads it without
 * blocking the event loop; pipes and sockets are put back to blocking mode before they are closed, as ssh's
 * channels restore them (channels.c restore_block), so the client's shell is left as it was.
 */
import { createReadStream, createWriteStream, fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import { isatty, ReadStream as TtyReadStream, WriteStream as TtyWriteStream } from 'node:tty';
import type { Readable, Writable } from 'node:stream';
import { fdPass } from '../../crypto/fdpass.ts';

export interface PassedInput {
  stream: Readable;
  isTty: boolean;
  close(): void;
}

export interface PassedOutput {
  stream: Writable;
  /** The terminal, when the fd is one: its size is what a pty request and window changes report. */
  tty: TtyWriteStream | undefined;
  /** Resolves once everything written has reached the fd. */
  flushed(): Promise<void>;
  close(): Promise<void>;
}

function isStream(fd: number): boolean {
  try {
    const stat = fstatSync(fd);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}

function restoreBlocking(fd: number): void {
  try {
    fdPass().setBlocking(fd, true);
  } catch {
    // Already closed by the peer's side of the description; nothing to restore.
  }
}

export function openPassedInput(fd: number): PassedInput {
  if (isatty(fd)) {
    const stream = new TtyReadStream(fd);
    return { stream, isTty: true, close: () => stream.destroy() };
  }
  if (isStream(fd)) {
    const stream = new Socket({ fd, readable: true, writable: false });
    return {
      stream,
      isTty: false,
      close: () => {
        restoreBlocking(fd);
        stream.destroy();
      },
    };
  }
  const stream = createReadStream('', { fd, autoClose: true, highWaterMark: 64 * 1024 });
  return { stream, isTty: false, close: () => stream.destroy() };
}

function flushedStream(stream: Writable): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    stream.write('', () => resolve());
    stream.once('error', () => resolve());
    stream.once('close', () => resolve());
  });
}

export function openPassedOutput(fd: number): PassedOutput {
  let stream: Writable;
  let tty: TtyWriteStream | undefined;
  let restore = false;
  if (isatty(fd)) {
    tty = new TtyWriteStream(fd);
    stream = tty;
  } else if (isStream(fd)) {
    stream = new Socket({ fd, readable: false, writable: true });
    restore = true;
  } else {
    stream = createWriteStream('', { fd, autoClose: true });
  }
  // A reader that went away (EPIPE) ends this output, not the master.
  stream.on('error', () => stream.destroy());
  return {
    stream,
    tty,
    flushed: () => flushedStream(stream),
    async close() {
      await flushedStream(stream);
      if (restore) restoreBlocking(fd);
      stream.destroy();
    },
  };
}
