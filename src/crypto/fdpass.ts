/**
 * The descriptor calls Node lacks (native/fdpass, Node-API, built by `npm install`): passing file
 * descriptors over a Unix-domain socket (SCM_RIGHTS), which connection multiplexing needs (PROTOCOL.mux §2,
 * §3), dup, O_NONBLOCK control, a poll watcher, pipe(2) with a chosen capacity for session programs
 * (sessions/program-pipes.ts), and a write(2) that keeps no reference to its buffer (channel data written
 * from where it was decrypted, connection/descriptor-writes.ts). This module finds the addon, gives it
 * types, and takes descriptors from sockets (descriptorOf, adoptDescriptor); it sits beside native-addon.ts
 * so that the client and the sessions below the server share one loader.
 */
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { findNativeAddon, requireNativeAddon } from './native-addon.ts';

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
  /** Asks for a socket send buffer of `bytes` (SO_SNDBUF, capped at net.core.wmem_max); the size the kernel then reports. */
  setSendBuffer(fd: number, bytes: number): number;
  /** Asks for a pipe capacity of `bytes` (F_SETPIPE_SZ, capped at fs.pipe-max-size); the capacity the kernel then reports. */
  setPipeSize(fd: number, bytes: number): number;
  pollOpen(fd: number, callback: (status: number, events: number) => void): PollHandle;
  /** 0 stops watching until started again. */
  pollStart(handle: PollHandle, events: number): void;
  pollClose(handle: PollHandle): void;
  /**
   * [read end, write end], both close-on-exec and blocking (libuv makes the end it opens non-blocking); the
   * capacity is asked of the kernel and may be refused. Throws (EMFILE, ENFILE) when no pipe can be made.
   */
  pipe(capacity: number): [number, number];
  /**
   * write(2) of all of `data` or what fits: bytes written, or -1 when a non-blocking descriptor is full.
   * With `head`, one writev(2) of `head` then `data`, and the count covers both. Nothing refers to either
   * afterwards. Throws an Error with `code` (EPIPE …).
   */
  write(fd: number, data: Buffer, head?: Buffer): number;
  /** The same for 1 to MAX_WRITE_PARTS buffers in one writev(2). Absent from an addon built before it. */
  writev?(fd: number, parts: Buffer[]): number;
}

/** Most buffers one writev() takes (MAX_WRITE_PARTS in fdpass.c). */
export const MAX_WRITE_PARTS = 64;

/** The addon, null once it is known not to be built. */
let loaded: FdPassAddon | null | undefined;

/** The addon, or undefined when it is not built (callers that have a slower way without it). */
export function fdPassIfBuilt(): FdPassAddon | undefined {
  if (loaded === undefined) {
    const path = findNativeAddon('fdpass', 'fdpass.node', dirname(fileURLToPath(import.meta.url)));
    loaded = path ? requireNativeAddon<FdPassAddon>(path) : null;
  }
  return loaded ?? undefined;
}

/** The descriptor under a libuv stream (a net.Socket: TCP, Unix or pipe) once it has one; undefined otherwise. */
export function descriptorOf(stream: unknown): number | undefined {
  const fd = (stream as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * Takes over the connection under `socket` (accepted by a net.Server with pauseOnConnect, so it has read
 * nothing): a duplicate of its descriptor, the socket itself let go. Throws when it has no descriptor or
 * none can be made (EMFILE); the socket is left as it was then.
 */
export function adoptDescriptor(socket: { destroy(): void }): number {
  const fd = descriptorOf(socket);
  if (fd === undefined) throw Object.assign(new Error('adopt: Bad file descriptor'), { code: 'EBADF' });
  const copy = fdPass().dup(fd);
  socket.destroy();
  return copy;
}

/**
 * Asks for a pipe of `bytes` under `fd` (the client's stdin or stdout when a shell pipeline made them), where
 * the addon is built: a larger pipe lets the other end write or read more per wake-up, and lets us write a
 * whole burst of decrypted packets at once rather than copy what a full pipe refuses (issue 17). Refusals
 * (fs.pipe-max-size, a user's pipe quota, not a pipe) leave the pipe as it was.
 */
export function widenPipe(fd: number, bytes: number): void {
  try {
    fdPassIfBuilt()?.setPipeSize(fd, bytes);
  } catch {
    // As it was: correct, only slower.
  }
}

/** The same for a socket we write bulk data to: its send buffer (SO_SNDBUF, capped at net.core.wmem_max). */
export function widenSendBuffer(fd: number, bytes: number): void {
  try {
    fdPassIfBuilt()?.setSendBuffer(fd, bytes);
  } catch {
    // As it was: correct, only slower.
  }
}

export function fdPass(): FdPassAddon {
  const addon = fdPassIfBuilt();
  if (!addon) throw new FdPassingUnavailableError('file descriptor passing is unavailable: native/fdpass is not built (run npm install)');
  return addon;
}
