/**
 * The connection TOKENS of ssh_config(5) and which keywords may use them. Values are computed once the
 * configuration is final (host name, port and user known), as ssh does before it connects.
 */
import { createHash } from 'node:crypto';
import type { TokenTable } from './expand.ts';

/** %C: SHA-1 (hex) of %l%h%p%r, used to name ControlPath sockets. */
export function connectionHash(thisHost: string, host: string, port: string, user: string): string {
  return createHash('sha1').update(thisHost + host + port + user).digest('hex');
}

export interface ConnectionInfo {
  /** %h: the remote host name after HostName and lower-casing. */
  remoteHost: string;
  /** %n: the host as given on the command line. */
  hostArg: string;
  /** %p */
  port: number;
  /** %r */
  remoteUser: string;
  /** %u */
  localUser: string;
  /** %d */
  homeDir: string;
  /** %i */
  uid: number;
  /** %l: this machine's full host name; %L is its first label. */
  thisHost: string;
  /** %k: HostKeyAlias if set, else the host argument. */
  hostKeyAlias: string | undefined;
}

/**
 * The tokens most keywords accept (ControlPath, IdentityAgent, IdentityFile, CertificateFile,
 * LocalForward/RemoteForward paths, RemoteCommand, UserKnownHostsFile, LocalCommand): %C %L %i %k %l %n %p
 * %d %h %r %u.
 */
export function defaultClientTokens(c: ConnectionInfo): TokenTable {
  const port = String(c.port);
  return {
    C: connectionHash(c.thisHost, c.remoteHost, port, c.remoteUser),
    L: c.thisHost.split('.')[0]!,
    i: String(c.uid),
    k: c.hostKeyAlias ?? c.hostArg,
    l: c.thisHost,
    n: c.hostArg,
    p: port,
    d: c.homeDir,
    h: c.remoteHost,
    r: c.remoteUser,
    u: c.localUser,
  };
}

/** ProxyCommand accepts only %h %k %n %p %r (and %%); no `${ENV}` and no `~`. */
export function proxyCommandTokens(c: ConnectionInfo): TokenTable {
  return {
    h: c.remoteHost,
    k: c.hostKeyAlias ?? c.hostArg,
    n: c.hostArg,
    p: String(c.port),
    r: c.remoteUser,
  };
}
