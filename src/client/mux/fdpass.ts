/**
 * The native part of connection multiplexing: passing file descriptors over a Unix-domain socket
 * (SCM_RIGHTS), which PROTOCOL.mux §2 and §3 need and Node cannot do. The addon (native/fdpass, Node-API,
 * built by `npm install`) offers sendmsg/recvmsg with fds, O_NONBLOCK control and a poll watcher; this module
 * finds it and gives it types.
 */
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { findNativeAddon, requireNativeAddon } from '../../crypto/native-addon.ts';

/** The addon is not built (no compiler at install time): multiplexing cannot pass descriptors. */
export class FdPassingUnavailableError extends Error {
  override readonly name = 'FdPassingUnavailableError';
}

/** libuv's poll events (uv.h UV_READABLE, UV_WRITABLE). */
export const POLL_READABLE = 1;
export const POLL_WRITABLE = 2;

export interface PollHandle {
  readonly __poll: unique symbol;
}

export interface FdPassAddon {
  /** Bytes written, or -1 when the socket would block. Throws an Error with `code` (EPIPE …). */
  sendmsg(fd: number, data: Buffer, fds?: number[]): number;
  /** [bytes read, ...received fds]; [0] at end of stream; null when nothing is waiting. */
  recvmsg(fd: number, buffer: Buffer): number[] | null;
  /** A new close-on-exec descriptor for the same open file. */
  dup(fd: number): number;
  /** A connected non-blocking stream socket to a Unix-domain path; throws "connect: No such file or directory". */
  connectUnix(path: string): number;
  /** Sets or clears O_NONBLOCK; returns whether the fd was non-blocking before. */
  setBlocking(fd: number, blocking: boolean): boolean;
  pollOpen(fd: number, callback: (status: number, events: number) => void): PollHandle;
  /** 0 stops watching until started again. */
  pollStart(handle: PollHandle, events: number): void;
  pollClose(handle: PollHandle): void;
}

let loaded: FdPassAddon | undefined;

export function fdPass(): FdPassAddon {
  if (loaded) return loaded;
  const path = findNativeAddon('fdpass', 'fdpass.node', dirname(fileURLToPath(import.meta.url)));
  if (!path) throw new FdPassingUnavailableError('file descriptor passing is unavailable: native/fdpass is not built (run npm install)');
  loaded = requireNativeAddon<FdPassAddon>(path);
  return loaded;
}
