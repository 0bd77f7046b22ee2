/**
 * The connection protocol (RFC 4254): channel multiplexing, channel and global requests, for either role.
 * Channel types and request types are not hard-coded here: the client and server layers register what they
 * accept, so new kinds (X11, agent forwarding, streamlocal) plug in without touching this file.
 */
import { AsyncResource } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { CHANNEL_OPEN_FAILURE, SSH_MSG } from '../wire/message-numbers.ts';
import { DecodeError, DisconnectError, ProtocolError } from '../wire/errors.ts';
import { DISCONNECT_REASON } from '../wire/message-numbers.ts';
import type { Transport } from '../transport/transport.ts';
import { Channel, DEFAULT_MAX_PACKET, DEFAULT_WINDOW, type ChannelHost, type ChannelRequest } from './channel.ts';
import { GlobalRequests } from './global-requests.ts';
import { ConnectionFault, DEFAULT_CONNECTION_LIMITS, type ConnectionLimits, type LimitEvent } from './limits.ts';

export { ConnectionFault, DEFAULT_CONNECTION_LIMITS, type ConnectionLimits, type LimitEvent } from './limits.ts';
import { ChannelOpenError, type IncomingChannelOpen, type IncomingGlobalRequest } from './requests.ts';
export { ChannelOpenError, type IncomingChannelOpen, type IncomingGlobalRequest } from './requests.ts';

export interface ConnectionOptions {
  limits?: Partial<ConnectionLimits>;
}

/**
 * A peer that keeps asking past its limits is slowed down rather than answered at full speed: after this
 * many refusals, its input pauses for a moment. Every connection shares one event loop, and refusing is
 * cheap but not free; this bounds what one flooding connection takes from the others.
 */
const REFUSALS_BEFORE_PAUSE = 32;
const REFUSAL_PAUSE_MS = 25;

export class Connection extends EventEmitter implements ChannelHost {
  readonly transport: Transport;
  private readonly channels = new Map<number, Channel>();
  private readonly pendingOpens = new Map<number, { channel: Channel; resolve: (c: Channel) => void; reject: (e: Error) => void }>();
  private readonly globalRequests: GlobalRequests;
  private nextChannelId = 0;
  /** Channel numbers relayed for another client (a mux proxy client, PROTOCOL.mux §9): raw messages by number. */
  private readonly relayed = new Map<number, (payload: Buffer) => void>();
  /**
   * Numbers reserved for the peer's opens still being processed (a direct-tcpip still connecting): they
   * count against maxChannels from the moment the open arrives, so a burst cannot overshoot it.
   */
  private readonly incomingOpens = new Set<number>();
  readonly limits: Readonly<ConnectionLimits>;
  /** Runs packet handling in the async scope the connection was created in (see the constructor). */
  private readonly inScope: <T>(fn: () => T) => T;
  private refusals = 0;
  /** Set once enough refusals accumulated: the packet being handled then pauses input (see noteRefusal). */
  private pacing: Promise<void> | undefined;

  /** Decides on channel-open requests from the peer; unset means every type is unknown. */
  onChannelOpen: ((request: IncomingChannelOpen) => void) | undefined;
  /** Decides on global requests from the peer; unset means every request fails (RFC 4254 §4). */
  onGlobalRequest: ((request: IncomingGlobalRequest) => void) | undefined;

  /**
   * `earlierPackets` are connection-protocol messages that arrived while authentication still owned the
   * transport; they are handled first, after the caller has had a chance to install its handlers.
   */
  constructor(transport: Transport, earlierPackets: Buffer[] = [], options: ConnectionOptions = {}) {
    super();
    this.transport = transport;
    this.limits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
    this.globalRequests = new GlobalRequests({
      send: (payload) => this.send(payload),
      get isClosed() {
        return transport.isClosed;
      },
      onLimit: (max, name) => this.emit('limit', { limit: 'pending-global-requests', max, name } satisfies LimitEvent),
    }, this.limits.maxPendingGlobalRequests);
    // Packets arrive in the socket's callbacks, whose async context is the listener's; handling them in the
    // context this connection was created in makes every socket, timer and child process a handler starts
    // belong to the connection (the server's last-resort guard attributes a failure by it).
    const scope = new AsyncResource('SshConnection');
    this.inScope = (fn) => scope.runInAsyncScope(fn);
    transport.packetHandler = (payload, borrowed) => this.inScope(() => this.handle(payload, borrowed) ?? this.takePacing());
    if (earlierPackets.length > 0) {
      queueMicrotask(() => {
        try {
          for (const payload of earlierPackets) this.handle(payload, false);
        } catch (error) {
          transport.fail(error as Error);
        }
      });
    }
    transport.on('drain', () => this.emit('transport-drain'));
    this.setMaxListeners(0);
    transport.closed.then((error) => this.onTransportClosed(error));
  }

  // ---- ChannelHost ---------------------------------------------------------------------------------------

  send(payload: Buffer): boolean {
    return this.transport.send(payload);
  }

  sendEncoded(length: number, encode: (target: Buffer, offset: number) => void): boolean {
    return this.transport.sendEncoded(length, encode);
  }

  get transportWritable(): boolean {
    return this.transport.writable;
  }

  onceTransportDrain(callback: () => void): void {
    this.once('transport-drain', callback);
  }

  releaseChannel(localId: number): void {
    this.channels.delete(localId);
    if (this.channels.size === 0) this.emit('idle');
  }

  get channelCount(): number {
    return this.channels.size;
  }

  /** Channel numbers in use: open, being opened either way, or relayed. */
  private get usedIds(): number {
    return this.channels.size + this.pendingOpens.size + this.relayed.size + this.incomingOpens.size;
  }

  /**
   * Counts a request refused for a limit (the connection layer's own, or one the application enforces, e.g.
   * a remote-forward cap); every REFUSALS_BEFORE_PAUSE refusals, input pauses for REFUSAL_PAUSE_MS.
   */
  noteRefusal(): void {
    if (++this.refusals < REFUSALS_BEFORE_PAUSE || this.pacing) return;
    this.refusals = 0;
    this.pacing = new Promise((resolve) => setTimeout(resolve, REFUSAL_PAUSE_MS));
  }

  private takePacing(): Promise<void> | undefined {
    const pacing = this.pacing;
    this.pacing = undefined;
    return pacing;
  }

  /**
   * Wraps an event callback (a socket's, a timer's, a child process's) that acts for this connection: an
   * exception in it ends this connection with a DISCONNECT and a 'fault' event, never the process.
   */
  contain<A extends unknown[]>(callback: (...args: A) => void): (...args: A) => void {
    return (...args: A) => {
      try {
        callback(...args);
      } catch (error) {
        this.fault(error as Error);
      }
    };
  }

  /**
   * Ends the connection because handling its traffic failed. A decoding or protocol error is the peer's and
   * is reported to it as such (RFC 4253 §11.1); anything else is our fault, so the peer only learns that
   * the connection ended, and listeners of 'fault' (the server's log) get the error itself.
   */
  fault(error: Error): void {
    if (this.transport.isClosed) return;
    if (error instanceof ProtocolError || error instanceof DecodeError) return this.transport.fail(error);
    const fault = error instanceof ConnectionFault ? error : new ConnectionFault(error);
    this.emit('fault', fault);
    this.transport.fail(new DisconnectError('internal error', DISCONNECT_REASON.BY_APPLICATION, false));
  }

  // ---- outgoing ------------------------------------------------------------------------------------------

  /** A free channel number; throws ChannelOpenError (resource shortage) when maxChannels are in use. */
  private allocateId(): number {
    const max = this.limits.maxChannels;
    if (this.usedIds >= max) {
      throw new ChannelOpenError(CHANNEL_OPEN_FAILURE.RESOURCE_SHORTAGE, 'too many channels');
    }
    const inUse = (id: number) => this.channels.has(id) || this.pendingOpens.has(id) || this.relayed.has(id) || this.incomingOpens.has(id);
    // Terminates: fewer than `max` numbers below `max` are in use.
    while (inUse(this.nextChannelId)) this.nextChannelId = (this.nextChannelId + 1) % max;
    const id = this.nextChannelId;
    this.nextChannelId = (this.nextChannelId + 1) % max;
    return id;
  }

  /**
   * Reserves a channel number whose messages from the peer (open confirmation/failure and every message
   * addressed to a channel) go to `handler` as they arrived, for a relay that rewrites and passes them on
   * (a ControlMaster's proxy clients, PROTOCOL.mux §9). Release it once both sides closed the channel.
   */
  reserveRelayedChannel(handler: (payload: Buffer) => void): number {
    const id = this.allocateId();
    this.relayed.set(id, handler);
    return id;
  }

  releaseRelayedChannel(id: number): void {
    this.relayed.delete(id);
  }

  /**
   * Opens a channel of `type` (RFC 4254 §5.1) with type-specific `data`; rejects with ChannelOpenError, also
   * when maxChannels are in use (never throws: callers are often socket callbacks).
   */
  openChannel(type: string, data: Buffer = Buffer.alloc(0), options: { window?: number; maxPacket?: number } = {}): Promise<Channel> {
    if (this.transport.isClosed) return Promise.reject(new Error('connection is closed'));
    let localId: number;
    try {
      localId = this.allocateId();
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const channel = new Channel(this, type, localId, options.window ?? DEFAULT_WINDOW, options.maxPacket ?? DEFAULT_MAX_PACKET);
    const message = new Writer(64 + data.length)
      .byte(SSH_MSG.CHANNEL_OPEN)
      .string(type)
      .uint32(localId)
      .uint32(options.window ?? DEFAULT_WINDOW)
      .uint32(options.maxPacket ?? DEFAULT_MAX_PACKET)
      .raw(data);
    return new Promise((resolve, reject) => {
      this.pendingOpens.set(localId, { channel, resolve, reject });
      this.send(message.finish());
    });
  }

  /** Sends a global request (RFC 4254 §4); with want-reply, resolves to the outcome and any response data. */
  globalRequest(name: string, data: Buffer = Buffer.alloc(0), wantReply = true): Promise<{ success: boolean; data: Buffer }> {
    return this.globalRequests.send(name, data, wantReply);
  }

  // ---- incoming ------------------------------------------------------------------------------------------

  /** One message; a `borrowed` one (channel data) is valid only until this returns (Transport's PacketHandler). */
  private handle(payload: Buffer, borrowed: boolean): void | Promise<void> {
    const type = payload[0]!;
    if (this.relayed.size > 0 && type >= SSH_MSG.CHANNEL_OPEN_CONFIRMATION && type <= SSH_MSG.CHANNEL_FAILURE && payload.length >= 5) {
      const relay = this.relayed.get(payload.readUInt32BE(1));
      if (relay) return relay(borrowed ? Buffer.from(payload) : payload);
    }
    const reader = new Reader(payload, 1);
    switch (type) {
      case SSH_MSG.GLOBAL_REQUEST:
        return this.globalRequests.receiveRequest(reader, this.onGlobalRequest);
      case SSH_MSG.REQUEST_SUCCESS:
      case SSH_MSG.REQUEST_FAILURE:
        return this.globalRequests.receiveReply(type === SSH_MSG.REQUEST_SUCCESS, reader.rest());
      case SSH_MSG.CHANNEL_OPEN:
        return this.onChannelOpenMessage(reader, payload);
      case SSH_MSG.CHANNEL_OPEN_CONFIRMATION:
        return this.onOpenConfirmation(reader);
      case SSH_MSG.CHANNEL_OPEN_FAILURE:
        return this.onOpenFailure(reader);
    }
    if (type >= SSH_MSG.CHANNEL_WINDOW_ADJUST && type <= SSH_MSG.CHANNEL_FAILURE) {
      const channel = this.channels.get(reader.uint32());
      if (!channel) throw new ProtocolError(`message ${type} for unknown channel`);
      return this.onChannelMessage(type, channel, reader, borrowed);
    }
    // Messages of other layers arriving now (e.g. a late USERAUTH message) are not ours to answer.
    this.emit('unhandled', payload);
    this.transport.sendUnimplemented();
  }

  private onChannelMessage(type: number, channel: Channel, reader: Reader, borrowed: boolean): void {
    switch (type) {
      case SSH_MSG.CHANNEL_WINDOW_ADJUST:
        return channel.receiveWindowAdjust(reader.uint32());
      case SSH_MSG.CHANNEL_DATA:
        return channel.receiveData(reader.string(channel.localMaxPacket), undefined, borrowed);
      case SSH_MSG.CHANNEL_EXTENDED_DATA: {
        const dataType = reader.uint32();
        return channel.receiveData(reader.string(channel.localMaxPacket), dataType, borrowed);
      }
      case SSH_MSG.CHANNEL_EOF:
        return channel.receiveEof();
      case SSH_MSG.CHANNEL_CLOSE:
        return channel.receiveClose();
      case SSH_MSG.CHANNEL_REQUEST:
        return this.onChannelRequest(channel, {
          type: reader.text(256),
          wantReply: reader.boolean(),
          data: reader.rest(),
        });
      case SSH_MSG.CHANNEL_SUCCESS:
      case SSH_MSG.CHANNEL_FAILURE:
        return channel.receiveRequestReply(type === SSH_MSG.CHANNEL_SUCCESS);
    }
  }

  private onChannelRequest(channel: Channel, request: ChannelRequest): void {
    // exit-status / exit-signal (RFC 4254 §6.10) are recorded for every session channel.
    if (request.type === 'exit-status') {
      channel.exitStatus = { code: new Reader(request.data).uint32() };
      channel.emit('exit', channel.exitStatus);
      return;
    }
    if (request.type === 'exit-signal') {
      const reader = new Reader(request.data);
      channel.exitStatus = { signal: reader.text(64), coreDumped: reader.boolean(), errorMessage: reader.text(4096) };
      channel.emit('exit', channel.exitStatus);
      return;
    }
    let replied = false;
    const reply = (success: boolean) => {
      if (replied || !request.wantReply) return;
      replied = true;
      channel.replyToRequest(success);
    };
    if (channel.listenerCount('request') === 0) return reply(false);
    channel.emit('request', request, reply);
  }

  private onChannelOpenMessage(reader: Reader, payload: Buffer): void {
    const type = reader.text(256);
    const remoteId = reader.uint32();
    const window = reader.uint32();
    const maxPacket = reader.uint32();
    const data = reader.rest();
    const sendFailure = (reason: number, description: string): void => {
      this.send(new Writer(64).byte(SSH_MSG.CHANNEL_OPEN_FAILURE).uint32(remoteId).uint32(reason).string(description).string('').finish());
    };
    // Limits first, before any handler runs: the open takes its channel number now, not once its connect
    // succeeds, so opens still connecting count too and a burst is refused here as sshd refuses what it
    // cannot take, with RESOURCE_SHORTAGE (RFC 4254 §5.1).
    const shortage = this.usedIds >= this.limits.maxChannels
      ? ({ limit: 'channels', max: this.limits.maxChannels, type } as const)
      : this.incomingOpens.size >= this.limits.maxPendingOpens
        ? ({ limit: 'pending-opens', max: this.limits.maxPendingOpens, type } as const)
        : undefined;
    if (shortage) {
      this.noteRefusal();
      this.emit('limit', shortage satisfies LimitEvent);
      return sendFailure(CHANNEL_OPEN_FAILURE.RESOURCE_SHORTAGE, shortage.limit === 'channels' ? 'too many channels' : 'too many channel opens in progress');
    }
    if (!this.onChannelOpen) return sendFailure(CHANNEL_OPEN_FAILURE.UNKNOWN_CHANNEL_TYPE, `unknown channel type ${type}`);
    const localId = this.allocateId();
    this.incomingOpens.add(localId);
    let answered = false;
    const reject = (reason: number, description: string) => {
      if (answered) return;
      answered = true;
      this.incomingOpens.delete(localId);
      sendFailure(reason, description);
    };
    const accept = (options: { window?: number; maxPacket?: number } = {}): Channel => {
      if (answered) throw new Error('channel open already answered');
      answered = true;
      this.incomingOpens.delete(localId);
      const channel = new Channel(this, type, localId, options.window ?? DEFAULT_WINDOW, options.maxPacket ?? DEFAULT_MAX_PACKET);
      channel.attach(remoteId, window, maxPacket);
      if (this.transport.isClosed) {
        // The connection ended while the open was processed: the channel is born closed, so whatever the
        // caller joins to it (a socket just connected) is let go at once.
        channel.destroy();
        return channel;
      }
      this.channels.set(localId, channel);
      this.send(
        new Writer(32)
          .byte(SSH_MSG.CHANNEL_OPEN_CONFIRMATION)
          .uint32(remoteId)
          .uint32(localId)
          .uint32(options.window ?? DEFAULT_WINDOW)
          .uint32(options.maxPacket ?? DEFAULT_MAX_PACKET)
          .finish(),
      );
      return channel;
    };
    try {
      const handOff = () => {
        answered = true;
        this.incomingOpens.delete(localId);
      };
      this.onChannelOpen({ type, data, accept, reject, message: Buffer.from(payload), handOff });
    } catch (error) {
      reject(CHANNEL_OPEN_FAILURE.CONNECT_FAILED, (error as Error).message);
    }
  }

  private onOpenConfirmation(reader: Reader): void {
    const localId = reader.uint32();
    const pending = this.pendingOpens.get(localId);
    if (!pending) throw new ProtocolError(`open confirmation for unknown channel ${localId}`);
    this.pendingOpens.delete(localId);
    pending.channel.attach(reader.uint32(), reader.uint32(), reader.uint32());
    this.channels.set(localId, pending.channel);
    pending.resolve(pending.channel);
  }

  private onOpenFailure(reader: Reader): void {
    const localId = reader.uint32();
    const pending = this.pendingOpens.get(localId);
    if (!pending) throw new ProtocolError(`open failure for unknown channel ${localId}`);
    this.pendingOpens.delete(localId);
    const reason = reader.uint32();
    const description = reader.text(1024);
    pending.reject(new ChannelOpenError(reason, description, localId));
  }

  private onTransportClosed(error: Error | null): void {
    const reason = error ?? new Error('connection closed');
    for (const pending of this.pendingOpens.values()) pending.reject(reason);
    this.pendingOpens.clear();
    this.globalRequests.close();
    this.incomingOpens.clear();
    for (const channel of this.channels.values()) {
      // Not destroyed: whatever the peer sent before going away is still delivered to the reader.
      channel.receiveClose();
    }
    this.channels.clear();
    this.emit('close', error);
  }
}
