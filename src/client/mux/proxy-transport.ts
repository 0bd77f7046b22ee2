/**
 * Proxy mode (PROTOCOL.mux §9), both ends of the control socket. After MUX_S_PROXY it carries SSH
 * connection-protocol messages unencrypted and unpadded: `uint32 length`, `byte 0` (padding length), then
 * the message. The client end runs an ordinary Connection over it (no key exchange, no authentication: the
 * master's connection already has both); the master end relays each message to its own connection,
 * renumbering the channels the proxy client opens so they cannot collide with the master's
 * (channels.c channel_proxy_downstream / channel_proxy_upstream).
 */
import { EventEmitter } from 'node:events';
import type { Connection } from '../../connection/connection.ts';
import type { Transport } from '../../transport/transport.ts';
import { Reader } from '../../wire/reader.ts';
import { Writer } from '../../wire/writer.ts';
import { SSH_MSG } from '../../wire/message-numbers.ts';
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

  send(payload: Buffer): boolean {
    if (this.isClosed) return false;
    const type = payload[0]!;
    if (type < CONNECTION_MIN || type > CONNECTION_MAX) return true;
    this.socket.write(frame(payload));
    if (this.writable) return true;
    void this.socket.flushed().then(() => this.emit('drain'));
    return false;
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
  /** The server's number, once it confirmed. */
  remote?: number;
  closeSent: boolean;
  closeReceived: boolean;
}

/**
 * The master end: relays one proxy client over the master's connection until either goes away. Only
 * channels the client opens are relayed; global requests (remote forwards) are refused here.
 */
export async function relayProxyClient(socket: MuxSocket, connection: Connection, debug?: (message: string) => void): Promise<void> {
  const byLocal = new Map<number, RelayedChannel>();
  const byRemote = new Map<number, RelayedChannel>();
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
        const reader = new Reader(message, 1);
        const name = reader.text(256);
        debug?.(`mux proxy: refusing global request ${name}`);
        if (reader.boolean()) socket.write(frame(Buffer.from([SSH_MSG.REQUEST_FAILURE])));
      } else if (type >= SSH_MSG.CHANNEL_WINDOW_ADJUST && type <= SSH_MSG.CHANNEL_FAILURE && message.length >= 5) {
        // Addressed to the server's number: passed on unchanged.
        const channel = byRemote.get(message.readUInt32BE(1));
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
    socket.close();
    // The proxy client is gone: its channels are closed on its behalf.
    for (const channel of [...byLocal.values()]) closeUpstream(channel);
  }
}
