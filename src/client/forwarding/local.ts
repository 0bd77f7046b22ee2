/**
 * Local forwarding (-L, LocalForward): a local listener whose connections each become a direct-tcpip or
 * direct-streamlocal channel to the target. A refused channel is reported the way ssh reports it and only
 * that connection is dropped; the session goes on.
 */
import type { Socket } from 'node:net';
import { bridge } from '../../connection/socket-bridge.ts';
import { currentConnection, openDirect, originatorOf, type ConnectionSource, type ForwardTarget } from './direct.ts';
import { ForwardListener, type ListenSpec } from './listener.ts';
import { describeOpenFailure } from './report.ts';

export interface LocalForwardOptions extends ListenSpec {
  target: ForwardTarget;
  /** Told about connections that could not be forwarded (ssh prints these as errors). */
  onError?: (message: string) => void;
}

export async function forwardLocal(connection: ConnectionSource, options: LocalForwardOptions): Promise<ForwardListener> {
  return ForwardListener.open(options, (socket: Socket) => {
    // Hold the socket's data until the channel exists; pipe() resumes it.
    socket.pause();
    openDirect(currentConnection(connection), options.target, originatorOf(socket)).then(
      (channel) => void bridge(socket, channel),
      (error: Error) => {
        options.onError?.(describeOpenFailure(error));
        socket.destroy();
      },
    );
  });
}
