// sshd_config support: parse and check a server configuration exactly as OpenSSH 9.2's sshd does, resolve it
// for a connection (Match), and print it as `sshd -T` does.
export {
  checkSshdConfig,
  dashTSettings,
  loadSshdConfig,
  parseConnectionSpec,
  parseSshdConfigText,
  resolveForConnection,
  resolveMatches,
  type ConnectionParams,
  type SshdConfig,
  type SshdConfigCheck,
  type SshdConfigOverrides,
} from './sshd-config.ts';
export { formatDashT } from './dump.ts';
export { ConnectionSpecError, SshdConfigError, SshdConfigErrors } from './errors.ts';
export type { ConnectionInfo } from './match.ts';
export type { EffectiveSshdSettings, ForwardingPolicy, ListenAddress, PermitRootLogin, Subsystem } from './settings.ts';
export { expandAuthorizedKeysPath } from '../../auth/authorized-keys-path.ts';
