/**
 * Who may forward what, decided as sshd decides it (serverloop.c, channels.c) from the connection's
 * resolved sshd_config settings and the authorized_keys options of the key that logged in. Pure functions:
 * no sockets here, so every rule is unit-tested on its own.
 *
 *  - AllowTcpForwarding / AllowStreamLocalForwarding: yes | all (both directions), local (direct-* only),
 *    remote (*-forward only), no.
 *  - DisableForwarding overrides all of them, and agent and X11 forwarding too.
 *  - authorized_keys `no-port-forwarding` (also implied by `restrict`) refuses every kind of port forward.
 *  - PermitOpen (admin) and `permitopen=` (user) must both allow a direct-tcpip target; PermitListen and
 *    `permitlisten=` likewise for a tcpip-forward listen address.
 */
import type { EffectiveSshdSettings, ForwardingPolicy } from '../../config/sshd/index.ts';
import type { SessionRestrictions } from '../../auth/server-auth.ts';
import { asciiLower, matchPattern } from '../../match/patterns.ts';

/** The settings and key options that decide forwarding for one connection. */
export interface ForwardingRules {
  settings: Pick<
    EffectiveSshdSettings,
    | 'allowTcpForwarding'
    | 'allowStreamLocalForwarding'
    | 'allowAgentForwarding'
    | 'disableForwarding'
    | 'permitOpen'
    | 'permitListen'
    | 'gatewayPorts'
  >;
  restrictions: Pick<SessionRestrictions, 'permitPortForwarding' | 'permitAgentForwarding' | 'permitOpen' | 'permitListen'>;
}

/** Forwards started by the client's side (direct-*) are "local"; listeners on the server are "remote". */
export type ForwardDirection = 'local' | 'remote';

function policyAllows(policy: ForwardingPolicy, direction: ForwardDirection): boolean {
  return policy === 'yes' || policy === direction;
}

/** AllowTcpForwarding, `no-port-forwarding` and DisableForwarding for one direction of TCP forwarding. */
export function tcpForwardingAllowed(rules: ForwardingRules, direction: ForwardDirection): boolean {
  return policyAllows(rules.settings.allowTcpForwarding, direction) && rules.restrictions.permitPortForwarding && !rules.settings.disableForwarding;
}

/** AllowStreamLocalForwarding, `no-port-forwarding` and DisableForwarding for Unix-domain socket forwarding. */
export function streamLocalForwardingAllowed(rules: ForwardingRules, direction: ForwardDirection): boolean {
  return (
    policyAllows(rules.settings.allowStreamLocalForwarding, direction) &&
    rules.restrictions.permitPortForwarding &&
    !rules.settings.disableForwarding
  );
}

/** AllowAgentForwarding, `no-agent-forwarding` (or `restrict`) and DisableForwarding. */
export function agentForwardingAllowed(rules: ForwardingRules): boolean {
  return rules.settings.allowAgentForwarding && rules.restrictions.permitAgentForwarding && !rules.settings.disableForwarding;
}

/** A parsed `host:port` permission; port null means `*` (any port). */
interface Permission {
  host: string;
  port: number | null;
}

/** Splits `host:port`, `[v6]:port` or `host:*`; undefined for entries that are not of that form. */
export function parsePermission(entry: string): Permission | undefined {
  const match = /^(?:\[([^\]]*)\]|([^:]*)):(\d+|\*)$/.exec(entry);
  if (!match) return undefined;
  const host = match[1] ?? match[2] ?? '';
  const port = match[3] === '*' ? null : Number(match[3]);
  return { host, port };
}

/** A port that no permission's number can equal: OpenSSH's PORT_STREAMLOCAL for socket-path targets. */
export const STREAMLOCAL_PORT = -2;

/**
 * open_match(): the host compares exactly (or `*` for any host) and the port exactly (or `*`). No other
 * wildcards: `permitopen="*.example.com:22"` names a host literally called that, as in sshd.
 */
function openMatches(permission: Permission, host: string, port: number): boolean {
  if (permission.port !== null && permission.port !== port) return false;
  return permission.host === '*' || permission.host === host;
}

/**
 * Whether a direct-tcpip (or direct-streamlocal, with STREAMLOCAL_PORT) target passes PermitOpen and
 * `permitopen=`. An empty list or `any` permits everything; `none` permits nothing.
 */
export function openPermitted(rules: ForwardingRules, host: string, port: number): boolean {
  const user = rules.restrictions.permitOpen;
  const userAllows = user.length === 0 || user.some((entry) => permissionList([entry], (p) => openMatches(p, host, port)));
  return userAllows && permissionList(rules.settings.permitOpen, (p) => openMatches(p, host, port));
}

/**
 * remote_open_match(): the port exactly (or `*`), and the listen host as a case-insensitive wildcard
 * pattern against the bind address the client sent. `PermitListen 8080` was stored as `*:8080`.
 */
function listenMatches(permission: Permission, bindAddress: string, port: number): boolean {
  if (permission.port !== null && permission.port !== port) return false;
  return matchPattern(asciiLower(bindAddress), permission.host);
}

/** Whether a tcpip-forward passes PermitListen and `permitlisten=` (bare ports mean any listen host). */
export function listenPermitted(rules: ForwardingRules, bindAddress: string, port: number): boolean {
  const user = rules.restrictions.permitListen.map((entry) => (entry.includes(':') ? entry : `*:${entry}`));
  const userAllows = user.length === 0 || permissionList(user, (p) => listenMatches(p, bindAddress, port));
  return userAllows && permissionList(rules.settings.permitListen, (p) => listenMatches(p, bindAddress, port));
}

/** Evaluates an sshd_config permission list: empty or `any` allows all, `none` nothing, else any entry matching. */
function permissionList(entries: readonly string[], matches: (permission: Permission) => boolean): boolean {
  if (entries.length === 0 || entries[0] === 'any') return true;
  if (entries[0] === 'none') return false;
  return entries.some((entry) => {
    const permission = parsePermission(entry);
    return permission !== undefined && matches(permission);
  });
}

/** Below this only root may listen (sshd's bind_permitted, IPPORT_RESERVED). */
const FIRST_UNPRIVILEGED_PORT = 1024;

export function listenPortPermitted(port: number, uid: number): boolean {
  return port === 0 || port >= FIRST_UNPRIVILEGED_PORT || uid === 0;
}

/**
 * Where a tcpip-forward listens (channel_fwd_bind_addr): `loopback` means every loopback address,
 * `wildcard` every address, `address` that one address or name.
 */
export type BindTarget = { kind: 'loopback' } | { kind: 'wildcard'; overridden?: string } | { kind: 'address'; address: string };

/**
 * GatewayPorts decides: `no` listens on loopback whatever was asked (an explicit 127.0.0.1 or ::1 picks
 * that family); `yes` on every address (the request is overridden and the client told so); `clientspecified`
 * as asked, where "" and "*" mean every address and "localhost" every loopback address.
 */
export function bindTarget(gatewayPorts: ForwardingRules['settings']['gatewayPorts'], requested: string): BindTarget {
  const explicitLoopback = requested === '127.0.0.1' || requested === '::1';
  if (gatewayPorts === 'no') return explicitLoopback ? { kind: 'address', address: requested } : { kind: 'loopback' };
  const meansAll = requested === '' || requested === '*' || requested === '0.0.0.0';
  if (gatewayPorts === 'yes') return meansAll ? { kind: 'wildcard' } : { kind: 'wildcard', overridden: requested };
  if (requested === '' || requested === '*') return { kind: 'wildcard' };
  if (requested === 'localhost') return { kind: 'loopback' };
  return { kind: 'address', address: requested };
}
