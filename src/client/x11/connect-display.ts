/**
 * Opens a connection to the local X server named by $DISPLAY (channels.c x11_connect_display): its Unix socket
 * for local displays, TCP port 6000 + N for host:N. Only ever where DISPLAY points.
 */
import { connect, type Socket } from 'node:net';
import type { DisplayTarget } from './display.ts';

/** The local X server could not be reached; the message is ssh's. */
export class DisplayConnectError extends Error {
  override readonly name = 'DisplayConnectError';
}

/** "No such file or directory" for ENOENT, like strerror(3) in ssh's message (libuv's text, capitalized as glibc's). */
function describe(error: NodeJS.ErrnoException): string {
  if (typeof error.errno !== 'number') return error.message;
  const text = process.getBuiltinModule('node:util').getSystemErrorMessage(error.errno);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function open(options: { path: string } | { host: string; port: number }): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // allowHalfOpen: the X client's EOF and the server's are carried separately across the channel.
    const socket = connect({ ...options, allowHalfOpen: true, ...('port' in options ? { noDelay: true } : {}) });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

export async function connectToDisplay(target: DisplayTarget): Promise<Socket> {
  if (target.kind === 'tcp') {
    try {
      return await open({ host: target.host, port: target.port });
    } catch (error) {
      throw new DisplayConnectError(`connect ${target.host} port ${target.port}: ${describe(error as NodeJS.ErrnoException)}`);
    }
  }
  let lastError: DisplayConnectError | undefined;
  for (const path of target.paths) {
    try {
      return await open({ path });
    } catch (error) {
      lastError = new DisplayConnectError(`connect ${path}: ${describe(error as NodeJS.ErrnoException)}`);
    }
  }
  throw lastError ?? new DisplayConnectError('no X11 socket to connect to');
}
