/**
 * Port forwarding for `tether ssh`: -L, -R, -D and -W from the resolved configuration. (To be completed by
 * the tunnels work.)
 */
import type { SshClient } from '../client/client.ts';
import type { ResolvedSshConfig } from '../config/ssh/index.ts';

export interface ForwardingContext {
  log: (level: number, message: string) => void;
  debug: ((message: string) => void) | undefined;
}

export interface ActiveForwarding {
  /** With -W: resolves with ssh's exit status once the stdio forward ends. */
  stdioForward?: Promise<number>;
  close(): void;
}

export async function startForwarding(_client: SshClient, config: ResolvedSshConfig, _context: ForwardingContext): Promise<ActiveForwarding> {
  if (config.localForwards.length || config.remoteForwards.length || config.dynamicForwards.length || config.stdioForward) {
    throw new Error('port forwarding is not supported yet');
  }
  return { close() {} };
}
