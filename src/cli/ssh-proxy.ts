/**
 * ProxyJump and ProxyCommand for `tether ssh`: the byte stream the SSH transport runs over when the
 * destination is not reached by a direct TCP connection.
 *
 * ProxyJump is resolved as ssh resolves it: `-J a,b c` makes ssh run `ssh -J a -W c:port b`, so the last
 * hop is reached through the hops before it, each hop's own Host block applies (its user, port, keys,
 * known hosts, and its own ProxyCommand or ProxyJump when it is the first hop), and only -F and -v are
 * carried over from the command line. Here that recursion happens in-process: each hop is an SshClient
 * whose direct-tcpip channel carries the next hop's connection.
 */
import type { Duplex } from 'node:stream';
import type { JumpHop, ResolvedSshConfig } from '../config/ssh/index.ts';
import { connect, ConnectError } from '../client/client.ts';
import { spawnProxyCommand } from '../client/proxy-command.ts';
import { describeOpenFailure } from '../client/forwarding/report.ts';
import { ChannelOpenError } from '../connection/connection.ts';
import { resolveClientSettings } from './ssh-settings.ts';
import { buildConnectOptions, describeFailure } from './ssh.ts';

export interface ProxyContext {
  log: (level: number, message: string) => void;
  debug: ((message: string) => void) | undefined;
  /** -F, carried to every hop as ssh does. */
  configFile?: string;
  /** -v count, carried to every hop. */
  verbose?: number;
  /** No one can answer a host-key question (a reconnect): every hop refuses unknown keys (ConnectOptions.unattended). */
  unattended?: boolean;
}

/** Deeper than this, a ProxyJump chain is taken to loop through its own configuration. */
const MAX_HOPS = 16;

/** A hop in ProxyJump syntax (`user@host:port`, IPv6 in brackets). */
export function formatHop(hop: JumpHop): string {
  const host = hop.host.includes(':') ? `[${hop.host}]` : hop.host;
  return `${hop.user ? `${hop.user}@` : ''}${host}${hop.port ? `:${hop.port}` : ''}`;
}

/** The stream to the destination through ProxyJump/ProxyCommand, or undefined for a direct connection. */
export async function openProxyStream(config: ResolvedSshConfig, context: ProxyContext, depth = 0): Promise<Duplex | undefined> {
  if (config.proxyJump?.length) return openThroughJump(config, config.proxyJump, context, depth);
  if (config.proxyCommand) {
    context.debug?.(`Executing proxy command: exec ${config.proxyCommand}`);
    return spawnProxyCommand(config.proxyCommand);
  }
  return undefined;
}

async function openThroughJump(config: ResolvedSshConfig, hops: JumpHop[], context: ProxyContext, depth: number): Promise<Duplex> {
  if (depth >= MAX_HOPS) throw new ConnectError(`ProxyJump chain is longer than ${MAX_HOPS} hops (a loop in the configuration?)`);
  const last = hops[hops.length - 1]!;
  const earlier = hops.slice(0, -1);
  // What ssh passes to the jump ssh: -l, -p, -J for the earlier hops, -F and -v; nothing else.
  const settings = await resolveClientSettings({
    destination: last.host,
    command: [],
    options: [],
    flags: {
      ...(last.user !== undefined ? { user: last.user } : {}),
      ...(last.port !== undefined ? { port: last.port } : {}),
      ...(earlier.length > 0 ? { proxyJump: earlier.map(formatHop).join(',') } : {}),
      ...(context.verbose ? { verbose: context.verbose } : {}),
    },
    configFile: context.configFile,
    printConfig: false,
  });
  const hop = settings.resolved;
  context.debug?.(`jump host ${hop.user}@${hop.hostname} port ${hop.port} for ${config.hostname} port ${config.port}`);
  let client;
  try {
    client = await connect({
      ...buildConnectOptions(settings, context.log, context.debug),
      unattended: context.unattended,
      stream: await openProxyStream(hop, context, depth + 1),
    });
  } catch (error) {
    // The inner ssh would have said what went wrong with the jump host; the outer one then sees its stream end.
    context.log(1, describeFailure(error as Error, hop.user, hop.hostname, hop.port));
    throw new ConnectError('kex_exchange_identification: Connection closed by remote host');
  }
  try {
    const channel = await client.openDirect(config.hostname, config.port);
    // The hop lives as long as the channel that carries the next connection.
    channel.once('close', () => client.end());
    void client.closed.then(() => channel.destroy());
    return channel;
  } catch (error) {
    client.end();
    if (error instanceof ChannelOpenError) {
      context.log(2, describeOpenFailure(error));
      context.log(1, 'stdio forwarding failed');
    }
    throw new ConnectError('kex_exchange_identification: Connection closed by remote host');
  }
}
