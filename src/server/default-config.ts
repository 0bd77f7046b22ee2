/**
 * The embedded default configuration: what `tether demo` writes to ./.state/sshd_config and what
 * `tether server` uses when no configuration file exists. It listens on the loopback address only.
 *
 * Algorithm choices (checked by the newest ssh-audit in test/interop/ssh-audit.test.ts: no failures):
 * OpenSSH 10's server lists where we implement them, minus
 *   - the NIST-curve key exchanges and the ECDSA host-key algorithm, which ssh-audit fails ("weak elliptic
 *     curves"); the ECDSA host key is still generated and listed by `tether fingerprints`, so clients
 *     that pinned it keep a record, and it can be re-enabled with one HostKeyAlgorithms line;
 *   - every encrypt-and-MAC MAC (etm only: ssh-audit warns of the others) and the SHA-1 and UMAC ones;
 * plus OpenSSH 9.2's finite-field groups (10 dropped them from sshd's defaults) for older clients, their
 * group exchange serving moduli of 3072 bits or more (src/server/moduli.ts). The post-quantum hybrids come
 * first. profiles/hardened.conf is the stricter profile (post-quantum kex only: no warnings either).
 */
import { mlkem768Available } from '../crypto/kex/kem.ts';

export interface DefaultConfigOptions {
  port: number;
  /** Directory holding the host keys (absolute). */
  stateDir: string;
  /** PermitRootLogin: "yes" only when the demo user is root. */
  permitRootLogin?: 'yes' | 'no' | 'prohibit-password';
  listenAddress?: string;
}

export const DEFAULT_KEX_ALGORITHMS = [
  // Node 22 has no ML-KEM: the name would be dropped at startup anyway; leaving it out keeps the file honest.
  ...(mlkem768Available() ? ['mlkem768x25519-sha256'] : []),
  'sntrup761x25519-sha512',
  'sntrup761x25519-sha512@openssh.com',
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'diffie-hellman-group-exchange-sha256',
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group18-sha512',
  'diffie-hellman-group14-sha256',
];
export const DEFAULT_HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256'];
export const DEFAULT_MACS = ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com'];

export const HOST_KEY_FILES = ['ssh_host_ed25519_key', 'ssh_host_ecdsa_key', 'ssh_host_rsa_key'];

export function defaultConfigText(options: DefaultConfigOptions): string {
  return [
    '# Tether embedded default (sshd_config syntax). Regenerate by deleting this file and running `tether demo`.',
    `Port ${options.port}`,
    `ListenAddress ${options.listenAddress ?? '127.0.0.1'}`,
    ...HOST_KEY_FILES.map((file) => `HostKey ${options.stateDir}/${file}`),
    // Not /run/sshd.pid: the gateway must not take the system sshd's pid file.
    `PidFile ${options.stateDir}/tether-server.pid`,
    `PermitRootLogin ${options.permitRootLogin ?? 'prohibit-password'}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication yes',
    'KbdInteractiveAuthentication yes',
    'AuthorizedKeysFile .ssh/authorized_keys',
    'MaxAuthTries 6',
    'LoginGraceTime 60',
    'PrintMotd no',
    'AcceptEnv LANG LC_*',
    'Subsystem sftp internal-sftp',
    `KexAlgorithms ${DEFAULT_KEX_ALGORITHMS.join(',')}`,
    `HostKeyAlgorithms ${DEFAULT_HOST_KEY_ALGORITHMS.join(',')}`,
    `MACs ${DEFAULT_MACS.join(',')}`,
    '',
  ].join('\n');
}
