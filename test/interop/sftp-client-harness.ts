/**
 * What the sftp/scp client tests share: stock sshds on 127.0.0.1 running OpenSSH's own sftp-server, and an
 * ssh_config naming each of them (Host target, jump, …) with the key, known_hosts and quiet logging, so
 * stock sftp/scp and tether's read the same file.
 */
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeKey, publicKeyLine, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';

export interface SftpPeers {
  dir: string;
  /** The ssh_config for -F. */
  config: string;
  servers: Record<string, RunningSshd>;
  /** Adds a Host block named `name` to the config, like the others but on `port` (a link proxy's). */
  addHost(name: string, port: number): void;
  stop(): Promise<void>;
}

export async function startSftpPeers(names: string[]): Promise<SftpPeers> {
  const dir = tempDir('tether-sftp-client-');
  const key = makeKey(dir, 'id_ed25519', 'ed25519');
  const servers: Record<string, RunningSshd> = {};
  for (const name of names) {
    servers[name] = await startSshd({ authorizedKeys: [publicKeyLine(key)], hostKeyTypes: ['ed25519'], config: ['Subsystem sftp /usr/lib/openssh/sftp-server'] });
  }
  const config = join(dir, 'ssh_config');
  const common = ['  HostName 127.0.0.1', '  User root', `  IdentityFile ${key}`, '  IdentitiesOnly yes', '  IdentityAgent none',
    `  UserKnownHostsFile ${join(dir, 'known_hosts')}`, '  StrictHostKeyChecking accept-new', '  LogLevel ERROR'];
  writeFileSync(config, names.flatMap((name) => [`Host ${name}`, `  Port ${servers[name]!.port}`, ...common]).join('\n') + '\n');
  return {
    dir,
    config,
    servers,
    addHost(name, port) {
      appendFileSync(config, [`Host ${name}`, `  Port ${port}`, ...common].join('\n') + '\n');
    },
    async stop() {
      for (const server of Object.values(servers)) await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
