/**
 * Port forwarding on the server, as registry entries for defaultHandlers(): the channel types the client
 * opens (RFC 4254 §7.2, OpenSSH PROTOCOL §2.4) and the global requests that set up listeners (§7.1).
 */
import type { ChannelOpenHandler, GlobalRequestHandler } from '../handlers.ts';
import { directStreamlocal, directTcpip } from './direct.ts';
import { cancelStreamlocalForward, cancelTcpipForward, streamlocalForward, tcpipForward } from './remote.ts';

export function forwardingChannelHandlers(): Array<[string, ChannelOpenHandler]> {
  return [
    ['direct-tcpip', directTcpip],
    ['direct-streamlocal@openssh.com', directStreamlocal],
  ];
}

export function forwardingGlobalRequestHandlers(): Array<[string, GlobalRequestHandler]> {
  return [
    ['tcpip-forward', tcpipForward],
    ['cancel-tcpip-forward', cancelTcpipForward],
    ['streamlocal-forward@openssh.com', streamlocalForward],
    ['cancel-streamlocal-forward@openssh.com', cancelStreamlocalForward],
  ];
}

export { bindTarget, listenPermitted, openPermitted, tcpForwardingAllowed, streamLocalForwardingAllowed, agentForwardingAllowed } from './policy.ts';
export type { ForwardingRules, BindTarget } from './policy.ts';
