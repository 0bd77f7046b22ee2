/**
 * Gateways for failover tests (issue 16): known_hosts key text, and two stock sshd gateways that listen on
 * 127.0.0.2 and 127.0.0.3 at one port and present one host key, as a jump host with a backup does
 * (`HostName 127.0.0.2,127.0.0.3` in its Host block). Each also listens on 127.0.0.1 at a port of its own.
 */
import { readFileSync } from 'node:fs';
import { freePort, startSshd, type RunningSshd } from './openssh.ts';
import { descendants } from './server-process.ts';

/** The `type base64` of a public key file, as known_hosts holds it. */
export const keyText = (privateKeyPath: string) => readFileSync(`${privateKeyPath}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');

export interface GatewayPair {
  a: RunningSshd;
  b: RunningSshd;
  /** The port both listen on, A on 127.0.0.2 and B on 127.0.0.3. */
  port: number;
  /** The host key both present. */
  hostKey: string;
  stop(): Promise<void>;
}

/** Starts the pair; `authorizedKeys` may log in as root. Retries when another test took the port meanwhile. */
export async function startGatewayPair(authorizedKeys: string[]): Promise<GatewayPair> {
  const common = { authorizedKeys, hostKeyTypes: ['ed25519' as const] };
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    let a: RunningSshd | undefined;
    try {
      // ListenAddress after sshd's Port line (config, not overrides): sshd wants ports before addresses.
      a = await startSshd({ ...common, config: ['AllowTcpForwarding yes', `ListenAddress 127.0.0.2:${port}`] });
      // sshd offers the first HostKey of a type: B presents A's key.
      const b = await startSshd({ ...common, overrides: [`HostKey ${a.hostKeys.ed25519}`], config: ['AllowTcpForwarding yes', `ListenAddress 127.0.0.3:${port}`] });
      const pair = { a, b, port, hostKey: a.hostKeys.ed25519! };
      return { ...pair, stop: async () => void (await Promise.all([b.stop(), pair.a.stop()])) };
    } catch (error) {
      await a?.stop();
      if (attempt >= 5) throw error;
    }
  }
}

/**
 * Kills a gateway as a crash would: SIGKILL, by PID, to sshd and every process it started (the per-connection
 * sshd that carries a jump host's forward), so its connections end without a word.
 */
export function killGateway(gateway: RunningSshd): void {
  for (const pid of [...descendants(gateway.pid), gateway.pid]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
