/**
 * From ssh's command line to the settings a connection needs: the configuration resolved exactly as OpenSSH
 * does (src/config/ssh), then narrowed to what Tether implements.
 */
import {
  clientProposal, defaultClientTokens, formatDashG, implementedSubset, parseDestination, resolveSshConfig, ConfigError, type CommandLineItem,
  type ResolvedSshConfig,
} from '../config/ssh/index.ts';
import { CIPHERS, MACS } from '../crypto/cipher/index.ts';
import { KEX_METHODS } from '../crypto/kex/methods.ts';
import { DEFAULT_HOST_KEY_ALGORITHMS } from '../transport/transport.ts';
import { preferKnownHostKeyTypes } from '../client/host-key-policy.ts';
import { runKnownHostsCommand, type KnownHostsInvocation } from '../client/known-hosts-command.ts';
import type { KnownHostsEntry } from '../keys/known-hosts.ts';
import type { PublicKey } from '../keys/types.ts';
import { DEFAULT_AUTH_METHODS } from '../auth/client-auth.ts';
import { matchWildcard } from '../keys/host-patterns.ts';
import type { SshInvocation } from './ssh-arguments.ts';

/** ssh's LogLevel names as numbers; messages print when their level is at or below the setting. */
const LOG_LEVELS: Record<string, number> = {
  QUIET: 0, SILENT: 0, FATAL: 1, ERROR: 2, INFO: 3, VERBOSE: 4, DEBUG: 5, DEBUG1: 5, DEBUG2: 6, DEBUG3: 7,
};

export interface ClientSettings {
  resolved: ResolvedSshConfig;
  logLevel: number;
  command: string | undefined;
  subsystem: boolean;
  noSession: boolean;
  kex: string[];
  ciphers: string[];
  macs: string[];
  hostKeyAlgorithms: string[];
  authMethods: string[];
  /** Variables to send: SendEnv matches from our environment, then SetEnv. */
  environment: Record<string, string>;
  dashG(): string;
}

/** A configuration or command-line error, already worded as ssh words it. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

function sendEnvironment(resolved: ResolvedSshConfig): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    // SendEnv patterns are wildcards; a leading '-' removes earlier matches (ssh_config(5)).
    let send = false;
    for (const pattern of resolved.sendEnv) {
      if (pattern.startsWith('-')) {
        if (matchWildcard(name, pattern.slice(1))) send = false;
      } else if (matchWildcard(name, pattern)) send = true;
    }
    if (send) environment[name] = value;
  }
  return { ...environment, ...resolved.setEnv };
}

/** KnownHostsCommand for this connection, or undefined when none is configured. */
export type KnownHostsLookup = (invocation: KnownHostsInvocation, name: string, key?: PublicKey) => Promise<KnownHostsEntry[]>;

export function knownHostsLookup(
  resolved: ResolvedSshConfig,
  error: (message: string) => void,
  debug?: (message: string) => void,
): KnownHostsLookup | undefined {
  const command = resolved.knownHostsCommand;
  if (command === undefined || command.toLowerCase() === 'none') return undefined;
  const options = {
    command,
    tokens: defaultClientTokens(resolved.connection),
    fingerprintHash: resolved.fingerprintHash.toLowerCase() === 'md5' ? 'md5' as const : 'sha256' as const,
    error,
    debug,
  };
  return (invocation, name, key) => runKnownHostsCommand(options, invocation, name, key);
}

export async function resolveClientSettings(
  invocation: SshInvocation,
  report: (message: string) => void = (message) => process.stderr.write(`${message}\r\n`),
): Promise<ClientSettings> {
  const destination = parseDestination(invocation.destination);
  if (!destination) throw new SettingsError(`ssh: Could not resolve hostname ${invocation.destination}: Name or service not known`);
  let resolved: ResolvedSshConfig;
  try {
    resolved = await resolveSshConfig({
      host: destination.host,
      ...(invocation.commandLine ? {} : { user: destination.user, port: destination.port }),
      ...(invocation.commandLine
        ? { commandLine: invocation.commandLine.map((item): CommandLineItem => (item === 'destination' ? { destination: { user: destination.user, port: destination.port } } : item)) }
        : { commandLineOptions: invocation.options, flags: invocation.flags }),
      configFile: invocation.configFile,
      command: invocation.command,
    });
  } catch (error) {
    if (error instanceof ConfigError) throw new SettingsError(error.report.replace(/\n$/, ''));
    throw error;
  }
  // ssh logs these while reading its configuration (e.g. `Unsupported option "rsaauthentication"`), so -E
  // takes them too.
  for (const line of resolved.configMessages ?? []) report(line);
  const knownHosts = {
    host: resolved.hostname,
    hostKeyAlias: resolved.hostKeyAlias,
    port: resolved.port,
    userKnownHostsFiles: resolved.userKnownHostsFiles,
    globalKnownHostsFiles: resolved.globalKnownHostsFiles,
  };
  const hostKeyAlgorithms = implementedSubset(resolved.hostKeyAlgorithms, DEFAULT_HOST_KEY_ALGORITHMS);
  const command = invocation.command.length > 0 ? invocation.command.join(' ') : resolved.remoteCommand;
  return {
    resolved,
    logLevel: LOG_LEVELS[resolved.logLevel.toUpperCase()] ?? 3,
    command,
    subsystem: resolved.sessionType === 'subsystem',
    noSession: resolved.sessionType === 'none' || resolved.stdioForward !== undefined,
    // On the wire, OpenSSH 10's default order (ML-KEM first, AES-GCM before CTR); -G keeps 9.2's lists.
    kex: clientProposal('kexAlgorithms', resolved.kexAlgorithms, KEX_METHODS),
    ciphers: clientProposal('ciphers', resolved.ciphers, CIPHERS.keys()),
    macs: implementedSubset(resolved.macs, MACS.keys()),
    // ssh prefers key types it already knows for this host unless HostKeyAlgorithms was set explicitly.
    hostKeyAlgorithms: resolved.hostKeyAlgorithmsConfigured || invocation.printConfig
      ? hostKeyAlgorithms
      // ssh runs KnownHostsCommand here too ("ORDER", with the bare host name as %H).
      : preferKnownHostKeyTypes(hostKeyAlgorithms, knownHosts, (await knownHostsLookup(resolved, report)?.('ORDER', resolved.hostname)) ?? []),
    authMethods: resolved.preferredAuthentications ?? DEFAULT_AUTH_METHODS,
    environment: sendEnvironment(resolved),
    dashG: () => formatDashG(resolved),
  };
}
