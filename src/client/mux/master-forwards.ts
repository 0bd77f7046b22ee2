/**
 * Forwards a master opens and closes for mux clients (PROTOCOL.mux §6, §7; mux.c
 * mux_master_process_open_fwd / _close_fwd): -L and -D listen here, -R asks the server; a request identical
 * to one already in effect succeeds without a second listener, and a cancel must name one that exists.
 */
import type { SshClient } from '../client.ts';
import type { ForwardListener, ListenSpec } from '../forwarding/listener.ts';
import { forwardLocal } from '../forwarding/local.ts';
import { forwardDynamic } from '../forwarding/dynamic.ts';
import type { ForwardTarget } from '../forwarding/direct.ts';
import type { RemoteListen } from '../forwarding/remote.ts';
import { MUX_FWD, MUX_PORT_STREAMLOCAL, type MuxForward } from './protocol.ts';

export interface ForwardPolicy {
  gatewayPorts: boolean;
  streamLocalBindMask: number;
  streamLocalBindUnlink: boolean;
  onError?: (message: string) => void;
  debug?: (message: string) => void;
  /**
   * Cancels a forward the master set up itself (its own -L/-R/-D), which mux.c finds in the same option
   * lists as the ones mux clients added; resolves false when there is none such.
   */
  cancelOwn?: (kind: 'L' | 'R' | 'D', bindAddress: string | undefined, port: number) => Promise<boolean>;
}

export type ForwardOutcome = { ok: true; port?: number } | { ok: false; reason: string };

interface Entry {
  forward: MuxForward;
  listener?: ForwardListener;
  /** The server's port for a remote forward (the allocated one for port 0). */
  remotePort?: number;
}

function sameForward(a: MuxForward, b: MuxForward): boolean {
  const local = (k: number) => (k === MUX_FWD.REMOTE ? MUX_FWD.REMOTE : MUX_FWD.LOCAL);
  return local(a.kind) === local(b.kind) && a.listenHost === b.listenHost && a.listenPort === b.listenPort &&
    a.connectHost === b.connectHost && a.connectPort === b.connectPort;
}

/** "" (no address) is the default bind; mux clients send "*" for an explicitly empty one (mux.c). */
function bindAddress(host: string): string | undefined {
  return host === '' ? undefined : host;
}

/** mux.c format_forward, for debug and refusal messages. */
export function describeForward(f: MuxForward, gatewayPorts: boolean): string {
  const listen = f.listenPort === MUX_PORT_STREAMLOCAL ? f.listenHost : `${f.listenHost || (f.kind !== MUX_FWD.REMOTE && gatewayPorts ? '*' : 'LOCALHOST')}:${f.listenPort}`;
  const port = (p: number) => (p === MUX_PORT_STREAMLOCAL ? -2 : p);
  const listenText = f.listenPort === MUX_PORT_STREAMLOCAL ? `${listen}:-2` : listen;
  if (f.kind === MUX_FWD.DYNAMIC) return `dynamic forward ${listenText} -> *`;
  const connect = `${f.connectHost}:${port(f.connectPort)}`;
  return `${f.kind === MUX_FWD.REMOTE ? 'remote' : 'local'} forward ${listenText} -> ${connect}`;
}

export class MasterForwards {
  private readonly client: SshClient;
  private readonly policy: ForwardPolicy;
  private readonly entries: Entry[] = [];

  constructor(client: SshClient, policy: ForwardPolicy) {
    this.client = client;
    this.policy = policy;
  }

  /** mux.c's validity checks; a reason for MUX_S_FAILURE, or undefined when the request is well-formed. */
  static invalid(f: MuxForward): string | undefined {
    if (f.kind !== MUX_FWD.LOCAL && f.kind !== MUX_FWD.REMOTE && f.kind !== MUX_FWD.DYNAMIC) return 'Invalid forwarding request';
    if (f.kind === MUX_FWD.DYNAMIC && f.listenPort === MUX_PORT_STREAMLOCAL) return 'Invalid forwarding request';
    if (f.kind === MUX_FWD.LOCAL && f.connectPort === 0) return 'Invalid forwarding request';
    if (f.kind !== MUX_FWD.DYNAMIC && f.connectHost === '') return 'Invalid forwarding request';
    return undefined;
  }

  private listenSpec(f: MuxForward): ListenSpec {
    if (f.listenPort === MUX_PORT_STREAMLOCAL) {
      return { bindPath: f.listenHost, bindMask: this.policy.streamLocalBindMask, bindUnlink: this.policy.streamLocalBindUnlink };
    }
    return { bindAddress: bindAddress(f.listenHost), bindPort: f.listenPort, gatewayPorts: this.policy.gatewayPorts };
  }

  private static target(f: MuxForward): ForwardTarget {
    return f.connectPort === MUX_PORT_STREAMLOCAL ? { path: f.connectHost } : { host: f.connectHost, port: f.connectPort };
  }

  async open(f: MuxForward): Promise<ForwardOutcome> {
    const existing = this.entries.find((e) => sameForward(e.forward, f));
    if (existing) return { ok: true, port: f.kind === MUX_FWD.REMOTE && f.listenPort === 0 ? existing.remotePort : undefined };
    if (f.kind === MUX_FWD.REMOTE) return this.openRemote(f);
    const onError = this.policy.onError;
    try {
      const listener = f.kind === MUX_FWD.DYNAMIC
        ? await forwardDynamic(this.client.connection, { ...this.listenSpec(f), onError, debug: this.policy.debug })
        : await forwardLocal(this.client.connection, { ...this.listenSpec(f), target: MasterForwards.target(f), onError });
      this.entries.push({ forward: f, listener });
      return { ok: true };
    } catch (error) {
      onError?.((error as Error).message);
      return { ok: false, reason: 'Port forwarding failed' };
    }
  }

  private async openRemote(f: MuxForward): Promise<ForwardOutcome> {
    const listen: RemoteListen = f.listenPort === MUX_PORT_STREAMLOCAL
      ? { bindPath: f.listenHost }
      : { bindAddress: bindAddress(f.listenHost), bindPort: f.listenPort };
    try {
      const forward = await this.client.remoteForwards.add(listen, MasterForwards.target(f));
      this.entries.push({ forward: f, remotePort: forward.port });
      return { ok: true, port: f.listenPort === 0 ? forward.port : undefined };
    } catch {
      const what = f.listenPort === MUX_PORT_STREAMLOCAL ? `listen path ${f.listenHost}` : `listen port ${f.listenPort}`;
      return { ok: false, reason: `remote port forwarding failed for ${what}` };
    }
  }

  async close(f: MuxForward): Promise<ForwardOutcome> {
    const index = this.entries.findIndex((e) => sameForward(e.forward, f));
    if (index < 0) {
      const kind = f.kind === MUX_FWD.REMOTE ? 'R' : f.kind === MUX_FWD.DYNAMIC ? 'D' : 'L';
      const own = f.listenPort !== MUX_PORT_STREAMLOCAL && (await this.policy.cancelOwn?.(kind, bindAddress(f.listenHost), f.listenPort));
      return own ? { ok: true } : { ok: false, reason: 'port not forwarded' };
    }
    const entry = this.entries[index]!;
    if (entry.listener) {
      entry.listener.close();
    } else {
      const match = f.listenPort === MUX_PORT_STREAMLOCAL
        ? { path: f.listenHost }
        : { bindAddress: bindAddress(f.listenHost), port: entry.remotePort ?? f.listenPort };
      if (!(await this.client.cancelRemoteForward(match))) return { ok: false, reason: 'port not in permitted opens' };
    }
    this.entries.splice(index, 1);
    return { ok: true };
  }

  closeAll(): void {
    for (const entry of this.entries.splice(0)) entry.listener?.close(true);
  }
}
