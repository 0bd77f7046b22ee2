/**
 * OpenSSH client configuration (ssh_config(5)), read as OpenSSH 9.2's ssh reads it.
 *
 *   const cfg = await resolveSshConfig({ host: 'example', commandLineOptions: ['Port=2222'] });
 *   cfg.hostname, cfg.port, cfg.identityFiles, ...; formatDashG(cfg) is what `ssh -G example` prints.
 */
export { resolveSshConfig, resolveSshConfigSync, parseDashG } from './resolve.ts';
export type { CommandLineItem, ResolveRequest, ResolvedSshConfig, ForwardSpec, JumpHop, StrictHostKeyChecking } from './resolve.ts';
export { formatDashG, DASH_G_KEYWORDS } from './dump.ts';
export { applyFlags, flagsToOptions } from './flags.ts';
export type { SshFlags } from './flags.ts';
export { ConfigError } from './errors.ts';
export type { ConfigDiagnostic, ConfigWarning } from './errors.ts';
export { parseDestination } from './destination.ts';
export type { Destination } from './destination.ts';
export {
  ALGORITHM_OPTIONS, assembleAlgorithms, clientProposal, implementedSubset, resolveAlgorithmOption, supportedAlgorithms,
} from './algorithms.ts';
export type { AlgorithmOption, AlgorithmFamily } from './algorithms.ts';
export { KEYWORDS } from './keywords.ts';
export { expandString, expandTilde, ExpansionError } from './expand.ts';
export { defaultClientTokens, proxyCommandTokens, connectionHash } from './tokens.ts';
export type { ConnectionInfo } from './tokens.ts';
