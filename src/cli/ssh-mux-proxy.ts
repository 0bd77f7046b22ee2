/**
 * `tether ssh -O proxy` (PROTOCOL.mux §9): the session runs over the control socket as SSH
 * connection-protocol messages, the master relaying them on its connection. The session itself is the
 * ordinary one (ssh.c goes straight to ssh_session2 over the socket), without key exchange or
 * authentication.
 */
import { SshClient } from '../client/client.ts';
import { Connection } from '../connection/connection.ts';
import { MuxProxyTransport } from '../client/mux/proxy-transport.ts';
import type { MuxSocket } from '../client/mux/mux-socket.ts';
import type { ClientSettings } from './ssh-settings.ts';
import { LOG, type SshLog } from './ssh-log.ts';
import { startForwarding, type ActiveForwarding } from './ssh-forwarding.ts';
import { runInteractiveSession, sessionForwards, sessionOptions } from './ssh-session.ts';

export async function runMuxProxySession(socket: MuxSocket, settings: ClientSettings, log: SshLog): Promise<number> {
  const config = settings.resolved;
  const transport = new MuxProxyTransport(socket);
  const client = new SshClient(transport.asTransport(), new Connection(transport.asTransport()));
  let forwarding: ActiveForwarding | undefined;
  try {
    forwarding = await startForwarding(client, config, { log: log.log, debug: log.debug });
    if (forwarding.stdioForward) return await forwarding.stdioForward;
    // As on a connection of our own (ssh.ts): the master passes the agent and X11 channels the server
    // opens for our session back to us (proxy-transport.ts).
    return await runInteractiveSession(client, { ...sessionOptions(settings, forwarding, log.log), ...(await sessionForwards(client, settings, log.log, log.debug)) });
  } catch (error) {
    log.log(LOG.error, `mux proxy: ${(error as Error).message}`);
    client.end();
    return 255;
  } finally {
    forwarding?.close();
  }
}
