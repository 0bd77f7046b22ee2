/**
 * The peers every case runs against, started once per run on 127.0.0.1: OpenSSH's sshd and `tether server`,
 * each with its own temporary configuration and host key, both letting the test user in with one client key;
 * and the two clients, /usr/bin/ssh and `tether ssh`, with the same arguments.
 *
 * The remote shell's start-up is neutralised identically for both servers (shared/PERFORMANCE-NOTES.md):
 * both log in the test user, whose login shell is /bin/sh (no start-up files for `sh -c`), and both
 * configurations say `SetEnv SHLVL=1`. Both run the same remote commands.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startSshd, publicKeyLine, tempDir, type RunningSshd } from '../test/helpers/openssh.ts';
import { descendants, startServerProcess, TEST_USER, type ServerProcess } from '../test/helpers/server-process.ts';
import { TETHER_BIN } from '../test/helpers/tether.ts';
import { benchScript, commandName, resetPeak, statusKiB, type Command } from './measure.ts';

export const SHELL_NOTE = `remote shell start-up neutralised alike: both servers log in ${TEST_USER} (login shell /bin/sh, no start-up files) with SetEnv SHLVL=1, running the same commands`;

/**
 * Every case pins the key exchange to curve25519-sha256, as the figures: OpenSSH 9.2's default
 * sntrup761 hybrid costs ~100 ms more per connection (more on a loaded machine, and 20 at once), which would
 * measure the kex rather than the programs; the cases' clients add their cipher after it.
 */
export const KEX = ['-o', 'KexAlgorithms=curve25519-sha256'];

/** Concurrent sessions the idle-memory case opens at most: both servers are configured to accept them all. */
const MAX_CONNECTIONS = 1000;

export type ServerKind = 'sshd' | 'tether';
export type ClientKind = 'ssh' | 'tether';

export interface BenchServer {
  kind: ServerKind;
  /** "sshd" or "tether server". */
  label: string;
  port: number;
  /** The listening process. */
  pid: number;
  /**
   * The processes that serve connections: sshd's per-connection children (monitor and user child, not the
   * listener, the shells or the commands they run); the tether server's own process.
   */
  connectionProcesses(): number[];
}

/** Peak memory of a server during one run. */
export interface PeakWatch {
  sample(): void;
  /** KiB: sshd's per-connection processes summed, each at its highest seen; the tether server's VmHWM. */
  finish(): number;
}

export interface Peers {
  sshd: BenchServer;
  tether: BenchServer;
  home: string;
  /** The client key's path (authorized for TEST_USER on both servers). */
  key: string;
  user: string;
  /** A client command against `server`: options first, then the destination and the remote command. */
  client(kind: ClientKind, server: BenchServer, options: string[], remoteCommand?: string): Command;
  watchPeak(server: BenchServer): PeakWatch;
  stop(): Promise<void>;
}

function sshdServer(sshd: RunningSshd): BenchServer {
  return {
    kind: 'sshd',
    label: 'sshd',
    port: sshd.port,
    pid: sshd.pid,
    connectionProcesses: () => descendants(sshd.pid).filter((pid) => commandName(pid) === 'sshd'),
  };
}

function tetherServer(server: ServerProcess): BenchServer {
  return { kind: 'tether', label: 'tether server', port: server.port, pid: server.pid, connectionProcesses: () => [server.pid] };
}

export async function startPeers(): Promise<Peers> {
  // The tether server with V8's default heap settings, as a user runs it (the test helper pins the young
  // generation for its memory checks), and limits high enough for the idle-session case.
  const tether = await startServerProcess({
    // A SIGUSR2 handler (gc-on-signal.ts) for the idle-memory case to collect garbage before it reads.
    nodeFlags: ['--expose-gc', `--import=${pathToFileURL(benchScript('gc-on-signal')).href}`],
    // internal-sftp, as Tether's generated configuration says, for the file-transfer cases (cases-sftp.ts).
    config: [`MaxStartups ${MAX_CONNECTIONS * 2}`, `MaxSessionsPerUser ${MAX_CONNECTIONS * 2}`, 'Subsystem sftp internal-sftp'],
  });
  let sshd: RunningSshd;
  try {
    sshd = await startSshd({
      authorizedKeys: [publicKeyLine(tether.clientKey)],
      hostKeyTypes: ['ed25519'],
      overrides: [`MaxStartups ${MAX_CONNECTIONS * 2}`],
      // OpenSSH's own sftp-server for the file-transfer cases (cases-sftp.ts); the tether server's default is internal-sftp.
      config: ['Subsystem sftp /usr/lib/openssh/sftp-server'],
    });
  } catch (error) {
    await tether.stop();
    throw error;
  }
  const home = tempDir('tether-bench-');
  const servers = { sshd: sshdServer(sshd), tether: tetherServer(tether) };
  return {
    ...servers,
    home,
    key: tether.clientKey,
    user: TEST_USER,
    client(kind, server, options, remoteCommand) {
      const args = [
        '-F', 'none',
        '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`,
        '-o', 'StrictHostKeyChecking=no',
        '-o', 'LogLevel=ERROR',
        '-o', 'BatchMode=yes',
        '-o', 'IdentitiesOnly=yes',
        '-i', tether.clientKey,
        '-p', String(server.port),
        ...options,
        `${TEST_USER}@127.0.0.1`,
        ...(remoteCommand === undefined ? [] : [remoteCommand]),
      ];
      const env = { ...process.env, HOME: home };
      return kind === 'ssh' ? { program: '/usr/bin/ssh', args, env } : { program: process.execPath, args: [TETHER_BIN, 'ssh', ...args], env };
    },
    watchPeak(server) {
      if (server.kind === 'tether') {
        resetPeak(server.pid);
        return { sample: () => {}, finish: () => statusKiB(server.pid, 'VmHWM') ?? 0 };
      }
      const peaks = new Map<number, number>();
      const sample = () => {
        for (const pid of server.connectionProcesses()) {
          const peak = statusKiB(pid, 'VmHWM');
          if (peak !== undefined) peaks.set(pid, Math.max(peaks.get(pid) ?? 0, peak));
        }
      };
      return { sample, finish: () => [...peaks.values()].reduce((sum, peak) => sum + peak, 0) };
    },
    async stop() {
      await Promise.allSettled([sshd.stop(), tether.stop()]);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

// ---- the pairings of the table ------------------------------------------------------------------------

export interface Pairing {
  /** The column of the table this pairing fills; "baseline" is ssh → sshd, the denominator. */
  id: 'baseline' | 'client' | 'server' | 'both';
  client: ClientKind;
  server: ServerKind;
  label: string;
}

export const BASELINE: Pairing = { id: 'baseline', client: 'ssh', server: 'sshd', label: 'ssh → sshd' };
export const TETHER_CLIENT: Pairing = { id: 'client', client: 'tether', server: 'sshd', label: 'tether ssh → sshd' };
export const TETHER_SERVER: Pairing = { id: 'server', client: 'ssh', server: 'tether', label: 'ssh → tether server' };
export const TETHER_BOTH: Pairing = { id: 'both', client: 'tether', server: 'tether', label: 'tether → tether' };
/** Baseline first: the ABBA order then starts and ends with OpenSSH. */
export const ALL_PAIRINGS: readonly Pairing[] = [BASELINE, TETHER_CLIENT, TETHER_SERVER, TETHER_BOTH];

export function serverOf(peers: Peers, pairing: Pairing): BenchServer {
  return pairing.server === 'sshd' ? peers.sshd : peers.tether;
}

/** The command for `pairing` (its client against its server). */
export function pairingCommand(peers: Peers, pairing: Pairing, options: string[], remoteCommand?: string): Command {
  return peers.client(pairing.client, serverOf(peers, pairing), options, remoteCommand);
}
