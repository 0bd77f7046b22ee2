/**
 * Proxy mode (PROTOCOL.mux §9), both ends of the control socket. After MUX_S_PROXY it carries SSH
 * connection-protocol messages unencrypted and unpadded: `uint32 length`, `byte 0` (padding length), then
 * the message. The client end runs an ordinary Connection over it (no key exchange, no authentication: the
 * master's connection already has both); the master end relays the whole connection protocol to its own
 * connection: channels both ways, renumbered so they cannot collide with the master's (channels.c
 * channel_proxy_downstream / channel_proxy_upstream), and global requests with their replies.
 */
import { EventEmitter } from 'node:events';
import type { IncomingChannelOpen } from '../../connection/connection.ts';
import type { SshClient } from '../client.ts';
import type { Transport } from '../../transport/transport.ts';
import { Reader } from '../../wire/reader.ts';
import { Writer } from '../../wire/writer.ts';
import { CHANNEL_OPEN_FAILURE, SSH_MSG } from '../../wire/message-numbers.ts';
import type { MuxSocket } from './mux-socket.ts';

/** RFC 4254's message numbers: only these cross the socket (packet.c ssh_packet_send_mux drops the rest). */
const CONNECTION_MIN = 80;
const CONNECTION_MAX = 127;
/** Stop reporting the link writable past this much unsent output. */
const OUTPUT_HIGH_WATER = 1024 * 1024;

function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out.writeUInt32BE(payload.length + 1, 0);
  out[4] = 0;
  payload.copy(out, 5);
  return out;
}

/**
 * The client end: what Connection and SshClient use of a Transport, over the control socket. `closed`
 * resolves (with null) when the master closes the socket or we disconnect.
 */
export class MuxProxyTransport extends EventEmitter {
  private readonly socket: MuxSocket;
  packetHandler: ((payload: Buffer) => void | Promise<void>) | undefined;
  readonly closed: Promise<Error | null>;
  private resolveClosed!: (error: Error | null) => void;
  isClosed = false;
  packetsReceived = 0;
  lastPacketAt = performance.now();

  constructor(socket: MuxSocket) {
    super();
    this.socket = socket;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    void this.readLoop();
  }

  /** This object stands in for the Transport a Connection is built on. */
  asTransport(): Transport {
    return this as unknown as Transport;
  }

  private async readLoop(): Promise<void> {
    try {
      for (;;) {
        const body = await this.socket.readPacket();
        if (!body) break;
        if (body.length < 2) throw new Error('short proxy packet');
        this.packetsReceived++;
        this.lastPacketAt = performance.now();
        await this.packetHandler?.(body.subarray(1));
      }
      this.finish(null);
    } catch (error) {
      this.finish(error as Error);
    }
  }

  get writable(): boolean {
    return this.socket.pendingOutput < OUTPUT_HIGH_WATER;
  }

  /** `framed`: the payload already inside its proxy frame (sendEncoded), written as it is. */
  send(payload: Buffer, framed?: Buffer): boolean {
    if (this.isClosed) return false;
    const type = payload[0]!;
    if (type < CONNECTION_MIN || type > CONNECTION_MAX) return true;
    this.socket.write(framed ?? frame(payload));
    if (this.writable) return true;
    void this.socket.flushed().then(() => this.emit('drain'));
    return false;
  }

  /** Transport.sendEncoded's stand-in: channel data is encoded straight into its proxy frame. */
  sendEncoded(length: number, encode: (target: Buffer, offset: number) => void): boolean {
    if (this.isClosed) return false;
    const out = Buffer.allocUnsafe(5 + length);
    out.writeUInt32BE(length + 1, 0);
    out[4] = 0;
    encode(out, 5);
    return this.send(out.subarray(5), out);
  }

  /** Proxy packets carry no sequence numbers, so there is nothing to name in an UNIMPLEMENTED reply. */
  sendUnimplemented(): void {}

  fail(error: Error): void {
    this.finish(error);
  }

  /** Ends the proxy session; ssh's DISCONNECT is not a connection-protocol message, so it is not sent. */
  disconnect(): void {
    void this.socket.flushed().then(() => this.finish(null));
  }

  private finish(error: Error | null): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.socket.close();
    this.resolveClosed(error);
  }
}

interface RelayedChannel {
  /** Our number for the channel (what the server knows it by as its peer's). */
  local: number;
  /** The proxy client's number. */
  downstream: number;
  /** The server's number, once it confirmed (or from the start, for a channel the server opened). */
  remote?: number;
  closeSent: boolean;
  closeReceived: boolean;
}

/** What the proxy client asked the server for, so the channels the server opens for it reach it. */
interface Wanted {
  tcp: Array<{ host: string; port: number }>;
  paths: Set<string>;
  /** It sent x11-req / auth-agent-req@openssh.com on one of its sessions. */
  x11: boolean;
  agent: boolean;
}

/** The server-opened channel types that follow a proxy client's requests (clientloop.c client_input_channel_open). */
function wantedBy(wanted: Wanted, request: IncomingChannelOpen): boolean {
  try {
    const reader = new Reader(request.data);
    if (request.type === 'forwarded-tcpip') {
      const host = reader.text(1024);
      const port = reader.uint32();
      return wanted.tcp.some((listen) => listen.host === host && listen.port === port);
    }
    if (request.type === 'forwarded-streamlocal@openssh.com') return wanted.paths.has(reader.text(4096));
  } catch {
    return false;
  }
  if (request.type === 'x11') return wanted.x11;
  if (request.type === 'auth-agent@openssh.com') return wanted.agent;
  return false;
}

/**
 * The master end: relays one proxy client over the master's connection until either goes away
 * (channels.c channel_proxy_downstream / channel_proxy_upstream). Its channels are renumbered; its global
 * requests go to the server and the replies come back to it, in order (RFC 4254 §4: replies carry no
 * id, and the connection answers its requests first come, first served); the channels the server opens
 * for the forwards it asked for (and for X11 or the agent, once it asked for them) are passed to it.
 */
export async function relayProxyClient(socket: MuxSocket, client: SshClient, debug?: (message: string) => void): Promise<void> {
  const connection = client.connection;
  const byLocal = new Map<number, RelayedChannel>();
  const byRemote = new Map<number, RelayedChannel>();
  /** Server-opened channels passed down, not yet answered by the proxy client: by the server's number. */
  const offered = new Set<number>();
  const wanted: Wanted = { tcp: [], paths: new Set(), x11: false, agent: false };
  const release = (channel: RelayedChannel) => {
    connection.releaseRelayedChannel(channel.local);
    byLocal.delete(channel.local);
    if (channel.remote !== undefined) byRemote.delete(channel.remote);
  };
  const closeUpstream = (channel: RelayedChannel) => {
    if (channel.closeSent || channel.remote === undefined) return;
    channel.closeSent = true;
    connection.send(new Writer(8).byte(SSH_MSG.CHANNEL_CLOSE).uint32(channel.remote).finish());
    if (channel.closeReceived) release(channel);
  };
  // From the server, for a relayed channel: renumbered and passed down (channel_proxy_upstream).
  const upstream = (channel: RelayedChannel) => (payload: Buffer) => {
    const type = payload[0]!;
    if (type === SSH_MSG.CHANNEL_OPEN_CONFIRMATION && payload.length >= 9) {
      channel.remote = payload.readUInt32BE(5);
      byRemote.set(channel.remote, channel);
      if (socket.closed) closeUpstream(channel);
    }
    if (!socket.closed) {
      const copy = Buffer.from(payload);
      copy.writeUInt32BE(channel.downstream, 1);
      socket.write(frame(copy));
    }
    if (type === SSH_MSG.CHANNEL_OPEN_FAILURE) release(channel);
    if (type === SSH_MSG.CHANNEL_CLOSE) {
      channel.closeReceived = true;
      if (channel.closeSent) release(channel);
      else if (socket.closed) closeUpstream(channel);
    }
  };
  // A channel the server opens for one of this client's forwards goes down as it came, with the server's
  // number as sender; the client's confirmation is renumbered on its way up (channel_proxy_downstream).
  const route = (request: IncomingChannelOpen): boolean => {
    if (socket.closed || !request.message || !request.handOff || !wantedBy(wanted, request)) return false;
    request.handOff();
    offered.add(request.message.readUInt32BE(5 + request.message.readUInt32BE(1)));
    socket.write(frame(request.message));
    return true;
  };
  client.channelRouters.add(route);
  /** The proxy client's global request, sent on; its reply goes back once the server's arrives. */
  const relayGlobal = (message: Buffer) => {
    const reader = new Reader(message, 1);
    const name = reader.text(256);
    const wantReply = reader.boolean();
    const data = reader.rest();
    const forward = parseForwardRequest(name, data);
    void connection.globalRequest(name, data, wantReply).then((reply) => {
      if (reply.success && forward) {
        if ('path' in forward) {
          if (forward.cancel) wanted.paths.delete(forward.path);
          else wanted.paths.add(forward.path);
        } else if (forward.cancel) wanted.tcp = wanted.tcp.filter((listen) => listen.host !== forward.host || listen.port !== forward.port);
        // Port 0: the server allocated one and says which (RFC 4254 §7.1).
        else wanted.tcp.push({ host: forward.host, port: forward.port === 0 && reply.data.length >= 4 ? reply.data.readUInt32BE(0) : forward.port });
      }
      if (!wantReply || socket.closed) return;
      socket.write(frame(Buffer.concat([Buffer.from([reply.success ? SSH_MSG.REQUEST_SUCCESS : SSH_MSG.REQUEST_FAILURE]), reply.success ? reply.data : Buffer.alloc(0)])));
    });
  };
  const stop = () => socket.close();
  void connection.transport.closed.then(stop);
  try {
    for (;;) {
      const body = await socket.readPacket();
      if (!body) break;
      if (body.length < 2) throw new Error('short message');
      const type = body[1]!;
      const message = body.subarray(1);
      if (type === SSH_MSG.CHANNEL_OPEN) {
        const reader = new Reader(message, 1);
        const channelType = reader.text(256);
        const channel: RelayedChannel = { local: -1, downstream: reader.uint32(), closeSent: false, closeReceived: false };
        channel.local = connection.reserveRelayedChannel(upstream(channel));
        byLocal.set(channel.local, channel);
        connection.send(new Writer(64 + message.length).byte(type).string(channelType).uint32(channel.local).raw(reader.rest()).finish());
      } else if (type === SSH_MSG.GLOBAL_REQUEST) {
        relayGlobal(message);
      } else if ((type === SSH_MSG.CHANNEL_OPEN_CONFIRMATION || type === SSH_MSG.CHANNEL_OPEN_FAILURE) && message.length >= 5 && offered.delete(message.readUInt32BE(1))) {
        const remote = message.readUInt32BE(1);
        if (type === SSH_MSG.CHANNEL_OPEN_FAILURE || message.length < 9) {
          connection.send(Buffer.from(message));
          continue;
        }
        const channel: RelayedChannel = { local: -1, downstream: message.readUInt32BE(5), remote, closeSent: false, closeReceived: false };
        channel.local = connection.reserveRelayedChannel(upstream(channel));
        byLocal.set(channel.local, channel);
        byRemote.set(remote, channel);
        const up = Buffer.from(message);
        up.writeUInt32BE(channel.local, 5);
        connection.send(up);
      } else if (type >= SSH_MSG.CHANNEL_WINDOW_ADJUST && type <= SSH_MSG.CHANNEL_FAILURE && message.length >= 5) {
        // Addressed to the server's number: passed on unchanged.
        const channel = byRemote.get(message.readUInt32BE(1));
        if (type === SSH_MSG.CHANNEL_REQUEST && channel) noteSessionRequest(message, wanted);
        if (type === SSH_MSG.CHANNEL_CLOSE && channel) {
          if (channel.closeSent) continue;
          channel.closeSent = true;
          connection.send(Buffer.from(message));
          if (channel.closeReceived) release(channel);
          continue;
        }
        connection.send(Buffer.from(message));
      } else {
        debug?.(`mux proxy: dropping message ${type}`);
      }
    }
  } catch (error) {
    debug?.(`mux proxy: ${(error as Error).message}`);
  } finally {
    client.channelRouters.delete(route);
    socket.close();
    // The proxy client is gone: its channels are closed on its behalf, and opens it never answered refused.
    for (const channel of [...byLocal.values()]) closeUpstream(channel);
    for (const remote of offered) {
      connection.send(new Writer(64).byte(SSH_MSG.CHANNEL_OPEN_FAILURE).uint32(remote).uint32(CHANNEL_OPEN_FAILURE.CONNECT_FAILED).string('mux client gone').string('').finish());
    }
  }
}

/** tcpip-forward / streamlocal-forward@openssh.com and their cancels (RFC 4254 §7.1, PROTOCOL §2.4). */
function parseForwardRequest(name: string, data: Buffer): ({ host: string; port: number } | { path: string }) & { cancel: boolean } | undefined {
  try {
    const reader = new Reader(data);
    if (name === 'tcpip-forward' || name === 'cancel-tcpip-forward') {
      return { host: reader.text(1024), port: reader.uint32(), cancel: name.startsWith('cancel') };
    }
    if (name === 'streamlocal-forward@openssh.com' || name === 'cancel-streamlocal-forward@openssh.com') {
      return { path: reader.text(4096), cancel: name.startsWith('cancel') };
    }
  } catch {
    // Malformed: the server will refuse it; nothing to route.
  }
  return undefined;
}

/** x11-req and auth-agent-req@openssh.com on a proxied session: the server will open such channels for it. */
function noteSessionRequest(message: Buffer, wanted: Wanted): void {
  try {
    const name = new Reader(message, 5).text(256);
    if (name === 'x11-req') wanted.x11 = true;
    if (name === 'auth-agent-req@openssh.com') wanted.agent = true;
  } catch {
    // Malformed: passed on for the server to refuse.
  }
}
