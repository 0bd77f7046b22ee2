/**
 * The name in the client's GSS-API target "host@<name>" (RFC 4462 §3.2 leaves the name to the
 * implementation; Debian's ssh, which has these keywords, chooses it in userauth_gssapi): GSSAPIServerIdentity
 * when set; with GSSAPITrustDns the name DNS gives the address the connection reached (a reverse lookup,
 * confirmed forward, as canohost.c remote_hostname does: the address itself when there is no confirmed name),
 * or the host name when there is no address (ProxyCommand, a jump host's channel); otherwise the host name as
 * connected to.
 */
import { ipFamily } from '../../match/addresses.ts';

// Loaded when used: node:dns/promises sets up a resolver (reading /etc/resolv.conf) as it loads, which every
// start of ssh would pay for otherwise (issue 17).
const dns = () => process.getBuiltinModule('node:dns/promises');

export interface GssapiTargetOptions {
  /** The host name the connection was made to (HostName, or the alternate reached). */
  host: string;
  /** GSSAPIServerIdentity. */
  serverIdentity?: string;
  /** GSSAPITrustDns. */
  trustDns?: boolean;
  /** The peer's address, when the connection is a TCP socket of ours. */
  peerAddress?: string;
  /** The peer's port (getnameinfo wants one; it does not change the name). */
  peerPort?: number;
}

export async function gssapiTargetHost(options: GssapiTargetOptions): Promise<string> {
  if (options.serverIdentity) return options.serverIdentity;
  if (!options.trustDns || !options.peerAddress) return options.host;
  // An IPv4-mapped IPv6 address is the IPv4 address (canohost.c ipv64_normalise_mapped).
  const address = options.peerAddress.startsWith('::ffff:') && ipFamily(options.peerAddress.slice(7)) === 4 ? options.peerAddress.slice(7) : options.peerAddress;
  return (await confirmedName(address, options.peerPort ?? 22)) ?? address;
}

/** The address's name from the system resolver (getnameinfo), if its forward lookup leads back to it. */
async function confirmedName(plain: string, port: number): Promise<string | undefined> {
  let name: string;
  try {
    ({ hostname: name } = await dns().lookupService(plain, port));
  } catch {
    return undefined;
  }
  // canohost.c: a name that parses as an address is a spoofing attempt, not a name.
  if (ipFamily(name) !== 0) return undefined;
  name = name.toLowerCase();
  try {
    const addresses = await dns().lookup(name, { all: true });
    return addresses.some((entry) => entry.address === plain) ? name : undefined;
  } catch {
    return undefined;
  }
}
