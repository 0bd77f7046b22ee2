/**
 * ProxyCommand and ProxyJump for `tether ssh`: the byte stream the SSH transport runs over when the
 * destination is not reached by a direct TCP connection. (To be completed by the tunnels work.)
 */
import type { Duplex } from 'node:stream';
import type { ResolvedSshConfig } from '../config/ssh/index.ts';

export interface ProxyContext {
  log: (level: number, message: string) => void;
  debug: ((message: string) => void) | undefined;
}

/** The stream to the destination through ProxyJump/ProxyCommand, or undefined for a direct connection. */
export async function openProxyStream(config: ResolvedSshConfig, _context: ProxyContext): Promise<Duplex | undefined> {
  if (config.proxyJump?.length || config.proxyCommand) throw new Error('ProxyJump and ProxyCommand are not supported yet');
  return undefined;
}
