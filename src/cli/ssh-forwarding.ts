/**
 * Port forwarding for `tether ssh`: -L, -R (to a target, or as a SOCKS proxy without one), -D and -W from the
 * resolved configuration, with ssh's messages (ssh.c ssh_init_forwarding, ssh_confirm_remote_forward),
 * PermitRemoteOpen and ExitOnForwardFailure, and the `~C` command
 * line's -L/-R/-D/-KL/-KR/-KD (clientloop.c process_cmdline). The forwarding itself is the library's
 * (src/client/forwarding); this file maps configuration onto it and words the outcome like ssh. When a held
 * session resumes on a new connection (docs/PROTOCOL.sessions §4), the -L/-D listeners stay and open their
 * channels on the new one, and the -R forwards are asked for again there.
 */
import type { SshClient } from '../client/client.ts';
import type { ForwardSpec, ResolvedSshConfig } from '../config/ssh/index.ts';
import { parseForward, PORT_STREAMLOCAL, type Forward } from '../config/ssh/forward.ts';
import type { ForwardListener, ListenSpec } from '../client/forwarding/listener.ts';
import type { ForwardTarget } from '../client/forwarding/direct.ts';
import type { RemoteListen } from '../client/forwarding/remote.ts';
import { parsePermitRemoteOpen } from '../client/forwarding/remote-socks.ts';
import { describeOpenFailure } from '../client/forwarding/report.ts';
import { forwardLocal } from '../client/forwarding/local.ts';
import { forwardDynamic } from '../client/forwarding/dynamic.ts';
import { closeWhenBothEnded } from '../connection/socket-bridge.ts';

export interface ForwardingContext {
  log: (level: number, message: string) => void;
  debug: ((message: string) => void) | undefined;
}

export interface ActiveForwarding {
  /** With -W: resolves with ssh's exit status once the stdio forward ends. */
  stdioForward?: Promise<number>;
  /** Runs a `~C` command line and resolves with ssh's answer (CR LF terminated). */
  commandLine(line: string): Promise<string>;
  /** Cancels a forward in effect (-KL/-KR/-KD, or a mux client's -O cancel); false when there is none. */
  cancel(kind: 'L' | 'R' | 'D', bindAddress: string | undefined, port: number): Promise<boolean>;
  /** A held session resumed on `client`: forwards carry on over it (-R asked for again). */
  reconnected(client: SshClient): Promise<void>;
  close(): void;
}

/** A forward could not be set up and ExitOnForwardFailure is on; the message is ssh's fatal() text. */
export class ForwardingError extends Error {
  override readonly name = 'ForwardingError';
}

const ERROR = 2;
const INFO = 3;

function describeListen(listen: ForwardSpec['listen'], gatewayPorts: boolean): string {
  if ('path' in listen) return listen.path;
  return `${listen.host ?? (gatewayPorts ? '*' : 'LOCALHOST')}:${listen.port}`;
}

function describeTarget(target: ForwardTarget): string {
  return 'path' in target ? target.path : `${target.host}:${target.port}`;
}

/** The config library's Forward (as parsed from a `~C` line) in the resolved ForwardSpec shape. */
function toSpec(f: Forward): ForwardSpec {
  const listen = f.listenPort === PORT_STREAMLOCAL ? { path: f.listenPath! } : { host: f.listenHost, port: f.listenPort };
  if (f.connectHost === 'socks') return { listen };
  const connect = f.connectPort === PORT_STREAMLOCAL ? { path: f.connectPath! } : { host: f.connectHost!, port: f.connectPort };
  return { listen, connect };
}

interface LocalEntry {
  dynamic: boolean;
  bindAddress: string | undefined;
  port: number;
  listener: ForwardListener;
}

/** A remote forward in effect, as it is asked for again on a new connection (with the port it was given). */
interface RemoteEntry {
  listen: RemoteListen;
  target: ForwardTarget | undefined;
}

class Forwarding {
  /** The connection in use: the first, then each a held session resumed on. */
  private client: SshClient;
  private readonly config: ResolvedSshConfig;
  private readonly context: ForwardingContext;
  private readonly locals: LocalEntry[] = [];
  private remotes: RemoteEntry[] = [];

  constructor(client: SshClient, config: ResolvedSshConfig, context: ForwardingContext) {
    this.client = client;
    this.config = config;
    this.context = context;
    this.configureRemote(client);
  }

  private configureRemote(client: SshClient): void {
    client.remoteForwards.onError = (message) => this.context.log(ERROR, message);
    client.remoteForwards.debug = this.context.debug;
    client.remoteForwards.permitted = parsePermitRemoteOpen(this.config.permitRemoteOpen);
  }

  /**
   * The session resumed on `client`: local listeners open their channels there from now on (they ask for the
   * current connection), and every remote forward is asked for again, with the port it had, since the old
   * connection's went with it. One refused is reported as ssh reports a refused -R.
   */
  async reconnected(client: SshClient): Promise<void> {
    if (client === this.client) return;
    this.client = client;
    this.configureRemote(client);
    const previous = this.remotes;
    this.remotes = [];
    await Promise.all(previous.map(async (entry) => {
      try {
        await client.remoteForwards.add(entry.listen, entry.target);
        this.remotes.push(entry);
      } catch {
        const what = 'bindPath' in entry.listen ? `listen path ${entry.listen.bindPath}` : `listen port ${entry.listen.bindPort}`;
        this.context.log(INFO, `Warning: remote port forwarding failed for ${what}`);
      }
    }));
  }

  private listenSpec(listen: ForwardSpec['listen']): ListenSpec {
    if ('path' in listen) {
      return { bindPath: listen.path, bindMask: this.config.streamLocalBindMask, bindUnlink: this.config.streamLocalBindUnlink };
    }
    return { bindAddress: listen.host, bindPort: listen.port, gatewayPorts: this.config.gatewayPorts };
  }

  /** -L or -D: starts a listener; logs ssh's error and returns false when it cannot listen. */
  async addLocal(spec: ForwardSpec): Promise<boolean> {
    const onError = (message: string) => this.context.log(ERROR, message);
    const where = describeListen(spec.listen, this.config.gatewayPorts);
    try {
      let listener: ForwardListener;
      if (spec.connect) {
        this.context.debug?.(`Local connections to ${where} forwarded to remote address ${describeTarget(spec.connect)}`);
        listener = await forwardLocal(() => this.client.connection, { ...this.listenSpec(spec.listen), target: spec.connect, onError });
      } else {
        this.context.debug?.(`Local connections to ${where} forwarded to remote address socks:0`);
        listener = await forwardDynamic(() => this.client.connection, { ...this.listenSpec(spec.listen), onError, debug: this.context.debug });
      }
      this.locals.push({
        dynamic: !spec.connect,
        bindAddress: 'path' in spec.listen ? undefined : spec.listen.host,
        port: listener.port,
        listener,
      });
      return true;
    } catch (error) {
      this.context.log(ERROR, (error as Error).message);
      return false;
    }
  }

  /**
   * -R: asks the server to listen; prints the allocated port for port 0, as ssh does. Without a target the
   * forward is a remote dynamic one, and ssh names its target "socks:0".
   */
  async addRemote(spec: ForwardSpec): Promise<boolean> {
    const listen: RemoteListen = 'path' in spec.listen ? { bindPath: spec.listen.path } : { bindAddress: spec.listen.host, bindPort: spec.listen.port };
    const target = spec.connect ? describeTarget(spec.connect) : 'socks:0';
    this.context.debug?.(`Remote connections from ${'path' in spec.listen ? spec.listen.path : `${spec.listen.host ?? 'LOCALHOST'}:${spec.listen.port}`} forwarded to local address ${target}`);
    try {
      const forward = await this.client.remoteForwards.add(listen, spec.connect);
      this.remotes.push({ listen: 'bindPort' in listen ? { ...listen, bindPort: forward.port ?? listen.bindPort } : listen, target: spec.connect });
      if ('bindPort' in listen && listen.bindPort === 0) {
        this.context.log(INFO, `Allocated port ${forward.port} for remote forward to ${target}`);
      }
      return true;
    } catch {
      return false;
    }
  }

  /** ssh_init_forwarding: every configured forward, then ExitOnForwardFailure's verdict. */
  async start(): Promise<void> {
    const locals = [...this.config.localForwards, ...this.config.dynamicForwards];
    let succeeded = 0;
    for (const spec of locals) if (await this.addLocal(spec)) succeeded++;
    if (locals.length > 0 && succeeded !== locals.length && this.config.exitOnForwardFailure) {
      throw new ForwardingError('Could not request local forwarding.');
    }
    if (locals.length > 0 && succeeded === 0) this.context.log(ERROR, 'Could not request local forwarding.');

    // Remote requests go out together; their replies come back in order (RFC 4254 §4).
    const outcomes = await Promise.all(this.config.remoteForwards.map((spec) => this.addRemote(spec)));
    outcomes.forEach((ok, index) => {
      if (ok) return;
      const listen = this.config.remoteForwards[index]!.listen;
      const what = 'path' in listen ? `listen path ${listen.path}` : `listen port ${listen.port}`;
      if (this.config.exitOnForwardFailure) throw new ForwardingError(`Error: remote port forwarding failed for ${what}`);
      this.context.log(INFO, `Warning: remote port forwarding failed for ${what}`);
    });
  }

  /** `~C`: -L/-R/-D spec to add, -KL/-KR/-KD [bind_address:]port to cancel (clientloop.c process_cmdline). */
  async commandLine(input: string): Promise<string> {
    let s = input.trimStart();
    if (s.startsWith('-')) s = s.slice(1);
    if (s === '') return '';
    if (/^[hH?]/.test(s)) return COMMAND_HELP;
    const cancel = s.startsWith('K');
    if (cancel) s = s.slice(1);
    const kind = s[0];
    if (kind !== 'L' && kind !== 'R' && kind !== 'D') return 'Invalid command.\r\n';
    const argument = s.slice(1).trim();
    if (cancel) return this.cancel(kind, argument);
    const name = kind === 'L' ? 'local' : kind === 'R' ? 'remote' : 'dynamic';
    // A -R spec may be a dynamic one too ([bind_address:]port alone), so both forms are tried (clientloop.c).
    const forward = parseForward(argument, kind === 'D', kind === 'R', process.env) ??
      (kind === 'R' ? parseForward(argument, true, true, process.env) : undefined);
    if (!forward) return `Bad ${name} forwarding specification.\r\n`;
    const ok = kind === 'R' ? await this.addRemote(toSpec(forward)) : await this.addLocal(toSpec(forward));
    return ok ? 'Forwarding port.\r\n' : 'Port forwarding failed.\r\n';
  }

  private async cancel(kind: 'L' | 'R' | 'D', argument: string): Promise<string> {
    // [bind_address:]port, the address possibly in brackets.
    const match = /^(?:\[?([^\]]*?)\]?:)?(\d+)$/.exec(argument);
    const port = match ? Number(match[2]) : 0;
    if (!match || port <= 0 || port > 65535) return 'Bad forwarding close port\r\n';
    return (await this.cancelForward(kind, match[1], port)) ? 'Canceled forwarding.\r\n' : 'Unknown port forwarding.\r\n';
  }

  async cancelForward(kind: 'L' | 'R' | 'D', bindAddress: string | undefined, port: number): Promise<boolean> {
    if (kind === 'R') {
      const cancelled = await this.client.cancelRemoteForward({ bindAddress, port });
      if (cancelled) {
        this.remotes = this.remotes.filter(({ listen }) => !('bindPort' in listen && listen.bindPort === port && (bindAddress === undefined || listen.bindAddress === bindAddress)));
      }
      return cancelled;
    }
    const index = this.locals.findIndex(
      (e) => e.dynamic === (kind === 'D') && e.port === port && (bindAddress === undefined || e.bindAddress === bindAddress),
    );
    if (index < 0) return false;
    this.locals.splice(index, 1)[0]!.listener.close();
    return true;
  }

  close(): void {
    for (const entry of this.locals.splice(0)) entry.listener.close(true);
  }
}

const COMMAND_HELP =
  'Commands:\r\n' +
  '      -L[bind_address:]port:host:hostport    Request local forward\r\n' +
  '      -R[bind_address:]port:host:hostport    Request remote forward\r\n' +
  '      -D[bind_address:]port                  Request dynamic forward\r\n' +
  '      -KL[bind_address:]port                 Cancel local forward\r\n' +
  '      -KR[bind_address:]port                 Cancel remote forward\r\n' +
  '      -KD[bind_address:]port                 Cancel dynamic forward\r\n';

function flushed(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

/**
 * -W host:port: our stdin and stdout become a direct-tcpip channel (ssh.c ssh_init_stdio_forwarding). Ends
 * with 0 when the channel closes, or 255 ("stdio forwarding failed") when the server refuses it.
 */
async function runStdioForward(client: SshClient, target: { host: string; port: number }, context: ForwardingContext): Promise<number> {
  let channel;
  try {
    channel = await client.openDirect(target.host, target.port);
  } catch (error) {
    context.log(ERROR, describeOpenFailure(error as Error));
    context.log(1, 'stdio forwarding failed');
    client.end();
    return 255;
  }
  process.stdin.pipe(channel);
  channel.pipe(process.stdout, { end: false });
  process.stdout.on('error', () => channel.close());
  closeWhenBothEnded(channel);
  // Everything the peer sent is delivered: the channel's readable side ends after its last byte went to stdout.
  const delivered = new Promise<void>((resolve) => {
    if (channel.readableEnded) resolve();
    else channel.once('end', () => resolve()).once('close', () => resolve());
  });
  const connectionError = await Promise.race([
    new Promise<null>((resolve) => channel.once('channel-closed', () => resolve(null))),
    client.closed,
  ]);
  await delivered;
  process.stdin.unpipe(channel);
  process.stdin.destroy();
  await flushed(process.stdout);
  client.end();
  return connectionError ? 255 : 0;
}

export async function startForwarding(client: SshClient, config: ResolvedSshConfig, context: ForwardingContext): Promise<ActiveForwarding> {
  const forwarding = new Forwarding(client, config, context);
  const active: ActiveForwarding = {
    commandLine: (line) => forwarding.commandLine(line),
    cancel: (kind, bindAddress, port) => forwarding.cancelForward(kind, bindAddress, port),
    reconnected: (client) => forwarding.reconnected(client),
    close: () => forwarding.close(),
  };
  if (config.stdioForward) active.stdioForward = runStdioForward(client, config.stdioForward, context);
  try {
    await forwarding.start();
  } catch (error) {
    forwarding.close();
    throw error;
  }
  return active;
}
