/**
 * Standard output as an asynchronous stream, for the programs that speak a protocol on it (sftp-server,
 * scp -t/-f): Node writes to a pipe on stdout synchronously, which would stop everything else while the
 * peer is slow to read.
 */
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';

export function asyncStdout(): Writable {
  try {
    return new Socket({ fd: 1, readable: false, writable: true });
  } catch {
    return process.stdout;
  }
}
