/**
 * The connection protocol (RFC 4254): channel multiplexing, channel and global requests, for either role.
 * Channel types and request types are not hard-coded here: the client and server layers register what they
 * accept, so new kinds (X11, agent forwarding, streamlocal) plug in without touching this file.
 */
import { EventEmitter } from 'node:events';
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { CHANNEL_OPEN_FAILURE, SSH_MSG } from '../wire/message-numbers.ts';
import { ProtocolError } from '../wire/errors.ts';
import type { Transport } from '../transport/transport.ts';
import { Channel, DEFAULT_MAX_PACKET, DEFAULT_WINDOW, type ChannelHost, type ChannelRequest } from './channel.ts';

/** More concurrent channels than this on one connection is refused as a resource shortage. */
const MAX_CHANNELS = 4096;

const FAILURE_TEXT: Record<number, string> = {
  [CHANNEL_OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED]: 'administratively prohibited',
  [CHANNEL_OPEN_FAILURE.CONNECT_FAILED]: 'connect failed',
  [CHANNEL_OPEN_FAILURE.UNKNOWN_CHANNEL_TYPE]: 'unknown channel type',
  [CHANNEL_OPEN_FAILURE.RESOURCE_SHORTAGE]: 'resource shortage',
};

/** The peer refused to open a channel (RFC 4254 §5.1). The message reads like OpenSSH's. */
export class ChannelOpenError extends Error {
  override readonly name = 'ChannelOpenError';
  readonly reason: number;
  readonly description: string;
  /** Our number for the refused channel, for messages like ssh's "channel 3: open failed: …". */
  readonly channelId: number | undefined;
  constructor(reason: number, description: string, channelId?: number) {
    super(`open failed: ${FAILURE_TEXT[reason] ?? `reason ${reason}`}: ${description}`);
    this.reason = reason;
    this.description = description;
    this.channelId = channelId;
  }
}

/** A channel the peer asks to open; the handler must call accept() or reject() once. */
export interface IncomingChannelOpen {
  readonly type: string;
  /** Type-specific data following the common fields (e.g. direct-tcpip's host and port). */
  readonly data: Buffer;
  accept(options?: { window?: number; maxPacket?: number }): Channel;
  reject(reason: number, description: string): void;
}

export interface IncomingGlobalRequest {
  readonly name: string;
  readonly wantReply: boolean;
  readonly data: Buffer;
  reply(success: boolean, data?: Buffer): void;
}

export class Connection extends EventEmitter implements ChannelHost {
  readonly transport: Transport;
  private readonly channels = new Map<number, Channel>();
  private readonly pendingOpens = new Map<number, { channel: Channel; resolve: (c: Channel) => void; reject: (e: Error) => void }>();
  private readonly pendingGlobalReplies: Array<(success: boolean, data: Buffer) => void> = [];
  /** Replies we owe the peer, in request order; each is sent once it and all before it are answered. */
  private readonly globalReplyLine: Array<{ answer?: Buffer }> = [];
  private nextChannelId = 0;
  /** Channel numbers relayed for another client (a mux proxy client, PROTOCOL.mux §9): raw messages by number. */
  private readonly relayed = new Map<number, (payload: Buffer) => void>();

  /** Decides on channel-open requests from the peer; unset means every type is unknown. */
  onChannelOpen: ((request: IncomingChannelOpen) => void) | undefined;
  /** Decides on global requests from the peer; unset means every request fails (RFC 4254 §4). */
  onGlobalRequest: ((request: IncomingGlobalRequest) => void) | undefined;

  /**
   * `earlierPackets` are connection-protocol messages that arrived while authentication still owned the
   * transport; they are handled first, after the caller has had a chance to install its handlers.
   */
  constructor(transport: Transport, earlierPackets: Buffer[] = []) {
    super();
    this.transport = transport;
    transport.packetHandler = (payload) => this.handle(payload);
    if (earlierPackets.length > 0) {
      queueMicrotask(() => {
        try {
          for (const payload of earlierPackets) this.handle(payload);
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

  // ---- outgoing ------------------------------------------------------------------------------------------

  private allocateId(): number {
    if (this.channels.size + this.pendingOpens.size + this.relayed.size >= MAX_CHANNELS) {
      throw new ChannelOpenError(CHANNEL_OPEN_FAILURE.RESOURCE_SHORTAGE, 'too many channels');
    }
    while (this.channels.has(this.nextChannelId) || this.pendingOpens.has(this.nextChannelId) || this.relayed.has(this.nextChannelId)) {
      this.nextChannelId = (this.nextChannelId + 1) % MAX_CHANNELS;
    }
    const id = this.nextChannelId;
    this.nextChannelId = (this.nextChannelId + 1) % MAX_CHANNELS;
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

  /** Opens a channel of `type` (RFC 4254 §5.1) with type-specific `data`; rejects with ChannelOpenError. */
  openChannel(type: string, data: Buffer = Buffer.alloc(0), options: { window?: number; maxPacket?: number } = {}): Promise<Channel> {
    if (this.transport.isClosed) return Promise.reject(new Error('connection is closed'));
    const localId = this.allocateId();
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
    const message = new Writer(32 + data.length).byte(SSH_MSG.GLOBAL_REQUEST).string(name).boolean(wantReply).raw(data);
    const reply = wantReply
      ? new Promise<{ success: boolean; data: Buffer }>((resolve) =>
          this.pendingGlobalReplies.push((success, responseData) => resolve({ success, data: responseData })),
        )
      : Promise.resolve({ success: true, data: Buffer.alloc(0) });
    this.send(message.finish());
    return reply;
  }

  // ---- incoming ------------------------------------------------------------------------------------------

  private handle(payload: Buffer): void {
    const type = payload[0]!;
    if (this.relayed.size > 0 && type >= SSH_MSG.CHANNEL_OPEN_CONFIRMATION && type <= SSH_MSG.CHANNEL_FAILURE && payload.length >= 5) {
      const relay = this.relayed.get(payload.readUInt32BE(1));
      if (relay) return relay(payload);
    }
    const reader = new Reader(payload, 1);
    switch (type) {
      case SSH_MSG.GLOBAL_REQUEST:
        return this.onGlobalRequestMessage(reader);
      case SSH_MSG.REQUEST_SUCCESS:
      case SSH_MSG.REQUEST_FAILURE: {
        const reply = this.pendingGlobalReplies.shift();
        if (!reply) throw new ProtocolError('unexpected global request reply');
        return reply(type === SSH_MSG.REQUEST_SUCCESS, reader.rest());
      }
      case SSH_MSG.CHANNEL_OPEN:
        return this.onChannelOpenMessage(reader);
      case SSH_MSG.CHANNEL_OPEN_CONFIRMATION:
        return this.onOpenConfirmation(reader);
      case SSH_MSG.CHANNEL_OPEN_FAILURE:
        return this.onOpenFailure(reader);
    }
    if (type >= SSH_MSG.CHANNEL_WINDOW_ADJUST && type <= SSH_MSG.CHANNEL_FAILURE) {
      const channel = this.channels.get(reader.uint32());
      if (!channel) throw new ProtocolError(`message ${type} for unknown channel`);
      return this.onChannelMessage(type, channel, reader);
    }
    // Messages of other layers arriving now (e.g. a late USERAUTH message) are not ours to answer.
    this.emit('unhandled', payload);
    this.transport.sendUnimplemented();
  }

  private onChannelMessage(type: number, channel: Channel, reader: Reader): void {
    switch (type) {
      case SSH_MSG.CHANNEL_WINDOW_ADJUST:
        return channel.receiveWindowAdjust(reader.uint32());
      case SSH_MSG.CHANNEL_DATA:
        return channel.receiveData(reader.string(channel.localMaxPacket));
      case SSH_MSG.CHANNEL_EXTENDED_DATA: {
        const dataType = reader.uint32();
        return channel.receiveData(reader.string(channel.localMaxPacket), dataType);
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

  private onChannelOpenMessage(reader: Reader): void {
    const type = reader.text(256);
    const remoteId = reader.uint32();
    const window = reader.uint32();
    const maxPacket = reader.uint32();
    const data = reader.rest();
    let answered = false;
    const reject = (reason: number, description: string) => {
      if (answered) return;
      answered = true;
      this.send(
        new Writer(64).byte(SSH_MSG.CHANNEL_OPEN_FAILURE).uint32(remoteId).uint32(reason).string(description).string('').finish(),
      );
    };
    const accept = (options: { window?: number; maxPacket?: number } = {}): Channel => {
      if (answered) throw new Error('channel open already answered');
      answered = true;
      const localId = this.allocateId();
      const channel = new Channel(this, type, localId, options.window ?? DEFAULT_WINDOW, options.maxPacket ?? DEFAULT_MAX_PACKET);
      channel.attach(remoteId, window, maxPacket);
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
    if (this.channels.size + this.pendingOpens.size >= MAX_CHANNELS) {
      return reject(CHANNEL_OPEN_FAILURE.RESOURCE_SHORTAGE, 'too many channels');
    }
    if (!this.onChannelOpen) return reject(CHANNEL_OPEN_FAILURE.UNKNOWN_CHANNEL_TYPE, `unknown channel type ${type}`);
    try {
      this.onChannelOpen({ type, data, accept, reject });
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

  private onGlobalRequestMessage(reader: Reader): void {
    const name = reader.text(256);
    const wantReply = reader.boolean();
    const data = reader.rest();
    // RFC 4254 §4: replies carry no request id, so they must leave in request order even when a handler
    // answers later than one after it (tcpip-forward binds first). Each request takes a place in line.
    const place: { answer?: Buffer } = {};
    if (wantReply) this.globalReplyLine.push(place);
    const reply = (success: boolean, responseData: Buffer = Buffer.alloc(0)) => {
      if (!wantReply || place.answer) return;
      place.answer = Buffer.from(
        new Writer(8 + responseData.length).byte(success ? SSH_MSG.REQUEST_SUCCESS : SSH_MSG.REQUEST_FAILURE).raw(responseData).finish(),
      );
      while (this.globalReplyLine[0]?.answer) this.send(this.globalReplyLine.shift()!.answer!);
    };
    if (!this.onGlobalRequest) return reply(false);
    this.onGlobalRequest({ name, wantReply, data, reply });
  }

  private onTransportClosed(error: Error | null): void {
    const reason = error ?? new Error('connection closed');
    for (const pending of this.pendingOpens.values()) pending.reject(reason);
    this.pendingOpens.clear();
    for (const reply of this.pendingGlobalReplies.splice(0)) reply(false, Buffer.alloc(0));
    for (const channel of this.channels.values()) {
      // Not destroyed: whatever the peer sent before going away is still delivered to the reader.
      channel.receiveClose();
    }
    this.channels.clear();
    this.emit('close', error);
  }
}
