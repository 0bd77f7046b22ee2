/**
 * The embedded default configuration: what `tether demo` writes to ./.state/sshd_config and what
 * `tether server` uses when no configuration file exists. It listens on the loopback address only.
 *
 * Algorithm choices (checked by ssh-audit in test/interop/server-audit.test.ts): OpenSSH 9.2's default
 * lists, minus
 *   - the NIST-curve key exchanges and the ECDSA host-key algorithm, which ssh-audit fails ("weak elliptic
 *     curves"); the ECDSA host key is still generated and listed by `tether fingerprints`, so clients
 *     that pinned it keep a record, and it can be re-enabled with one HostKeyAlgorithms line;
 *   - the SHA-1 and UMAC MACs (SHA-1 is weak; UMAC is not implemented).
 * sntrup761x25519-sha512 (OpenSSH's first choice) is not implemented yet.
 */
export interface DefaultConfigOptions {
  port: number;
  /** Directory holding the host keys (absolute). */
  stateDir: string;
  /** PermitRootLogin: "yes" only when the demo user is root. */
  permitRootLogin?: 'yes' | 'no' | 'prohibit-password';
  listenAddress?: string;
}

export const DEFAULT_KEX_ALGORITHMS = [
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'diffie-hellman-group-exchange-sha256',
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group18-sha512',
  'diffie-hellman-group14-sha256',
];
export const DEFAULT_HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256'];
export const DEFAULT_MACS = ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'];

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
    'Subsystem sftp /usr/lib/openssh/sftp-server',
    `KexAlgorithms ${DEFAULT_KEX_ALGORITHMS.join(',')}`,
    `HostKeyAlgorithms ${DEFAULT_HOST_KEY_ALGORITHMS.join(',')}`,
    `MACs ${DEFAULT_MACS.join(',')}`,
    '',
  ].join('\n');
}
