/**
 * One RFC 4254 channel as a Node Duplex stream. Writes respect the peer's window and maximum packet size
 * (§5.2); reads grant window back only as the consumer drains them, so a slow reader stops the sender rather
 * than growing memory. Extended data (stderr, §5.2) is a separate Readable.
 */
import { Duplex, Readable } from 'node:stream';
import { Writer } from '../wire/writer.ts';
import { SSH_MSG } from '../wire/message-numbers.ts';
import { ProtocolError } from '../wire/errors.ts';

/** OpenSSH's session defaults (CHAN_SES_WINDOW_DEFAULT, CHAN_SES_PACKET_DEFAULT). */
export const DEFAULT_WINDOW = 2 * 1024 * 1024;
export const DEFAULT_MAX_PACKET = 32 * 1024;
/** Upper bound we accept for a peer's maximum packet size: our transport's own packet limit minus headers. */
const PEER_MAX_PACKET_CAP = 256 * 1024 - 1024;

/** What a channel needs from its connection: sending, and being told when the transport can take more. */
export interface ChannelHost {
  send(payload: Buffer): boolean;
  /** send() for a message that `encode` writes straight into the packet (the transport's fast path). */
  sendEncoded?(length: number, encode: (target: Buffer, offset: number) => void): boolean;
  readonly transportWritable: boolean;
  onceTransportDrain(callback: () => void): void;
  /** Called once both sides have sent CHANNEL_CLOSE: the id may be reused. */
  releaseChannel(localId: number): void;
}

export interface ChannelRequest {
  type: string;
  wantReply: boolean;
  /** The request-specific data following `want reply`. */
  data: Buffer;
}

export interface ExitStatus {
  code?: number;
  signal?: string;
  coreDumped?: boolean;
  errorMessage?: string;
}

/**
 * Takes a channel's data as it arrives, each piece only for the length of the call: data read into reused
 * memory reaches its destination with no copy (issue 17). See Channel.consume().
 */
export interface ChannelDataConsumer {
  /**
   * Writes or copies `data` before returning (`borrowed`: it lies in memory reused afterwards; otherwise it
   * may be kept as it is); false when it holds too much and wants no more window granted.
   */
  take(data: Buffer, borrowed: boolean): boolean;
}

/** A source of channel data that a ChannelDataConsumer can take it from: a Channel, a held session's output. */
export interface ConsumableSource {
  consume(consumer: ChannelDataConsumer): void;
  /** The consumer can take more after take() returned false. */
  consumerDrained(): void;
}

interface OutgoingData {
  data: Buffer;
  dataType?: number;
  callback?: (error?: Error | null) => void;
}

/** Runs `then` once `stream` has emitted 'end' (at once if it has). */
function afterEnd(stream: Readable, then: () => void): void {
  if (stream.readableEnded) then();
  else stream.once('end', then);
}

export class Channel extends Duplex implements ConsumableSource {
  readonly type: string;
  readonly localId: number;
  remoteId = -1;
  /** Bytes we may still send (the peer's window). */
  private remoteWindow = 0;
  private remoteMaxPacket = DEFAULT_MAX_PACKET;
  /** Bytes the peer may still send us. */
  private localWindow: number;
  private readonly localWindowSize: number;
  readonly localMaxPacket: number;
  /** Received bytes not yet granted back to the peer. */
  private ungranted = 0;
  private readPaused = false;
  private readonly outgoing: OutgoingData[] = [];
  private waitingForDrain = false;
  private sentEof = false;
  private sentClose = false;
  private receivedClose = false;
  private readonly host: ChannelHost;
  private readonly pendingReplies: Array<(ok: boolean) => void> = [];
  private consumer: ChannelDataConsumer | undefined;

  /** Extended data of type 1 (SSH_EXTENDED_DATA_STDERR). */
  readonly stderr: Readable;
  exitStatus: ExitStatus | undefined;

  constructor(host: ChannelHost, type: string, localId: number, windowSize = DEFAULT_WINDOW, maxPacket = DEFAULT_MAX_PACKET) {
    // autoDestroy off: the channel lives until both sides have sent CHANNEL_CLOSE (RFC 4254 §5.3), not until
    // Node sees both stream directions end; exit-status and other requests may still arrive in between.
    super({ allowHalfOpen: true, highWaterMark: 64 * 1024, autoDestroy: false });
    this.host = host;
    this.type = type;
    this.localId = localId;
    this.localWindow = windowSize;
    this.localWindowSize = windowSize;
    this.localMaxPacket = maxPacket;
    this.stderr = new Readable({ read: () => this.onConsumerRead() });
  }

  /** Sets the peer's side of the channel once the open is confirmed (RFC 4254 §5.1). */
  attach(remoteId: number, window: number, maxPacket: number): void {
    this.remoteId = remoteId;
    this.remoteWindow = window;
    this.remoteMaxPacket = Math.max(1, Math.min(maxPacket, PEER_MAX_PACKET_CAP));
  }

  // ---- outgoing data ---------------------------------------------------------------------------------------

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.outgoing.push({ data: chunk, callback });
    this.flushOutgoing();
  }

  /**
   * Queues extended data (stderr from a server session) behind earlier writes, under the same window.
   * `callback` runs once the data has been handed to the transport (or discarded because the channel
   * closed): servers use it for backpressure on stderr and to send EOF only after all of it.
   * (Callback added by the server work, issue 3.)
   */
  writeExtended(data: Buffer, dataType = 1, callback?: () => void): void {
    this.outgoing.push({ data, dataType, callback: callback && (() => callback()) });
    this.flushOutgoing();
  }

  /**
   * Sends `data` at once as far as the peer's window allows; true when all of it went and the transport can
   * take more. Otherwise false, and `whenSent` runs once the rest (copied and queued) has gone, or once the
   * transport has drained. For callers that read into one buffer they reuse (a session's output, issue 17):
   * nothing refers to `data` after the call.
   */
  sendBorrowed(data: Buffer, whenSent: () => void): boolean {
    const item: OutgoingData = { data };
    if (this.outgoing.length === 0) {
      // Sealing copies the bytes, so a full transport need not cost a copy: this one read may pass its
      // high-water mark, and the reader waits for it to drain (a read is at most sharedReadBuffer's size).
      while (item.data.length > 0 && this.remoteWindow > 0 && !this.isClosing) this.sendPacketOf(item);
      if (item.data.length === 0 || this.isClosing) {
        if (this.host.transportWritable || this.isClosing) return true;
        this.host.onceTransportDrain(whenSent);
        return false;
      }
      this.outgoing.push(item);
    } else {
      this.outgoing.push(item);
      this.flushOutgoing();
      if (item.data.length === 0) return true;
    }
    item.data = Buffer.from(item.data);
    item.callback = whenSent;
    return false;
  }

  /** How much sendBorrowed() would send at once now: the peer's window, when nothing waits before it. */
  get sendRoom(): number {
    return this.outgoing.length === 0 && !this.isClosing ? this.remoteWindow : 0;
  }

  /** Sends queued data in order, as far as window, packet size and the transport's buffer allow. */
  private flushOutgoing(): void {
    while (this.outgoing.length > 0) {
      const item = this.outgoing[0]!;
      if (this.sentClose || this.receivedClose) {
        item.data = item.data.subarray(item.data.length);
      }
      while (item.data.length > 0 && this.remoteWindow > 0) {
        if (!this.host.transportWritable) {
          if (!this.waitingForDrain) {
            this.waitingForDrain = true;
            this.host.onceTransportDrain(() => {
              this.waitingForDrain = false;
              this.flushOutgoing();
            });
          }
          return;
        }
        this.sendPacketOf(item);
      }
      // Window exhausted: WINDOW_ADJUST calls us again.
      if (item.data.length > 0) return;
      this.outgoing.shift();
      item.callback?.();
    }
  }

  /** One packet from the front of `item`, as large as window and maximum packet size allow. */
  private sendPacketOf(item: OutgoingData): void {
    const size = Math.min(item.data.length, this.remoteWindow, this.remoteMaxPacket);
    this.sendData(item.data.subarray(0, size), item.dataType);
    item.data = item.data.subarray(size);
    this.remoteWindow -= size;
  }

  private sendData(data: Buffer, dataType: number | undefined): void {
    if (this.host.sendEncoded) {
      // byte type, uint32 recipient, [uint32 data_type_code,] string data (RFC 4254 §5.2), encoded in place.
      const remoteId = this.remoteId;
      const header = dataType === undefined ? 9 : 13;
      this.host.sendEncoded(header + data.length, (target, at) => {
        target[at] = dataType === undefined ? SSH_MSG.CHANNEL_DATA : SSH_MSG.CHANNEL_EXTENDED_DATA;
        target.writeUInt32BE(remoteId, at + 1);
        if (dataType !== undefined) target.writeUInt32BE(dataType, at + 5);
        target.writeUInt32BE(data.length, at + header - 4);
        target.set(data, at + header);
      });
      return;
    }
    const message = new Writer(data.length + 20);
    if (dataType === undefined) message.byte(SSH_MSG.CHANNEL_DATA).uint32(this.remoteId);
    else message.byte(SSH_MSG.CHANNEL_EXTENDED_DATA).uint32(this.remoteId).uint32(dataType);
    this.host.send(message.string(data).finish());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.sendEof();
    callback();
  }

  sendEof(): void {
    if (this.sentEof || this.sentClose || this.remoteId < 0) return;
    this.sentEof = true;
    this.host.send(Buffer.from(new Writer(8).byte(SSH_MSG.CHANNEL_EOF).uint32(this.remoteId).finish()));
  }

  /** Sends CHANNEL_CLOSE (RFC 4254 §5.3); the channel is released when the peer's close arrives too. */
  close(): void {
    if (this.sentClose || this.remoteId < 0) return;
    this.sentClose = true;
    this.host.send(Buffer.from(new Writer(8).byte(SSH_MSG.CHANNEL_CLOSE).uint32(this.remoteId).finish()));
    if (this.receivedClose) this.finishClose();
  }

  // ---- incoming data ---------------------------------------------------------------------------------------

  override _read(): void {
    // Once a consumer takes the data, its own word (consumerDrained) is what reopens the window.
    if (!this.consumer) this.onConsumerRead();
  }

  private onConsumerRead(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    this.grantWindow();
  }

  /**
   * Sends the channel's data (not its extended data) to `consumer` from now on, instead of the readable side,
   * which still ends at EOF or close ('end'). Data the readable side holds already goes first. When take()
   * has returned false, consumerDrained() says that it can take more.
   */
  consume(consumer: ChannelDataConsumer): void {
    let accepted = true;
    for (let chunk: Buffer | null; (chunk = this.read() as Buffer | null) !== null; ) accepted = consumer.take(chunk, false) && accepted;
    this.consumer = consumer;
    // Flowing with nothing pushed: the readable side emits 'end' as soon as EOF arrives.
    this.resume();
    this.readPaused = !accepted;
    if (accepted) this.grantWindow();
  }

  consumerDrained(): void {
    this.onConsumerRead();
  }

  /** Data goes to the readable side again (which is flowing: unread, it is dropped). */
  stopConsuming(): void {
    this.consumer = undefined;
    this.onConsumerRead();
  }

  /**
   * CHANNEL_DATA / CHANNEL_EXTENDED_DATA from the peer. `borrowed` data lies in memory reused once this
   * returns: a consumer takes it as it is, the readable sides get a copy.
   */
  receiveData(data: Buffer, extendedType?: number, borrowed = false): void {
    if (data.length > this.localWindow) {
      throw new ProtocolError(`channel ${this.localId}: peer sent ${data.length} bytes beyond its window of ${this.localWindow}`);
    }
    if (data.length > this.localMaxPacket) {
      throw new ProtocolError(`channel ${this.localId}: data packet of ${data.length} bytes exceeds maximum ${this.localMaxPacket}`);
    }
    this.localWindow -= data.length;
    this.ungranted += data.length;
    if (this.receivedClose) return;
    if (extendedType === undefined && this.consumer) {
      if (this.consumer.take(data, borrowed)) this.grantWindow();
      else this.readPaused = true;
      return;
    }
    const target = extendedType === undefined ? this : extendedType === 1 ? this.stderr : undefined;
    // Unknown extended types are consumed and discarded (RFC 4254 §5.2 leaves them to the application).
    const accepted = target ? target.push(borrowed ? Buffer.from(data) : data) : true;
    if (accepted) this.grantWindow();
    else this.readPaused = true;
  }

  /** Grants consumed bytes back once half the window is used, as OpenSSH does, to keep adjustments rare. */
  private grantWindow(): void {
    if (this.readPaused || this.ungranted < this.localWindowSize / 2 || this.sentClose || this.remoteId < 0) return;
    const grant = this.ungranted;
    this.ungranted = 0;
    this.localWindow += grant;
    this.host.send(Buffer.from(new Writer(12).byte(SSH_MSG.CHANNEL_WINDOW_ADJUST).uint32(this.remoteId).uint32(grant).finish()));
  }

  receiveWindowAdjust(bytes: number): void {
    // RFC 4254 §5.2: the window may not exceed 2^32 - 1.
    this.remoteWindow = Math.min(this.remoteWindow + bytes, 0xffffffff);
    this.flushOutgoing();
  }

  receiveEof(): void {
    this.push(null);
    this.stderr.push(null);
  }

  receiveClose(): void {
    if (this.receivedClose) return;
    this.receivedClose = true;
    this.push(null);
    this.stderr.push(null);
    for (const reply of this.pendingReplies.splice(0)) reply(false);
    this.flushOutgoing();
    if (!this.sentClose) this.close();
    else this.finishClose();
  }

  /** Both CLOSE messages have passed (RFC 4254 §5.3): 'channel-closed' has been emitted. */
  get fullyClosed(): boolean {
    return this.closedBothWays;
  }

  private closedBothWays = false;

  private finishClose(): void {
    this.closedBothWays = true;
    this.host.releaseChannel(this.localId);
    if (!this.writableEnded) this.end();
    this.emit('channel-closed');
    // Data still buffered for a reader must be delivered before the streams are torn down: stderr's too, when
    // it is read (destroying the channel destroys it).
    const destroy = () => this.destroy();
    afterEnd(this, () => (this.stderr.readableFlowing === null ? destroy() : afterEnd(this.stderr, destroy)));
  }

  /** The peer's answer to our want-reply channel request, in order (RFC 4254 §5.4). */
  receiveRequestReply(success: boolean): void {
    const reply = this.pendingReplies.shift();
    if (!reply) throw new ProtocolError(`channel ${this.localId}: unexpected channel request reply`);
    reply(success);
  }

  /** Sends a channel request; with `wantReply` resolves to whether the peer accepted it. */
  request(type: string, data: Buffer = Buffer.alloc(0), wantReply = true): Promise<boolean> {
    if (this.sentClose || this.receivedClose) return Promise.resolve(false);
    const message = new Writer(data.length + type.length + 16)
      .byte(SSH_MSG.CHANNEL_REQUEST)
      .uint32(this.remoteId)
      .string(type)
      .boolean(wantReply)
      .raw(data);
    const reply = wantReply ? new Promise<boolean>((resolve) => this.pendingReplies.push(resolve)) : Promise.resolve(true);
    this.host.send(message.finish());
    return reply;
  }

  /** Answers a request the peer sent with want-reply set. */
  replyToRequest(success: boolean): void {
    if (this.sentClose) return;
    this.host.send(Buffer.from(new Writer(8).byte(success ? SSH_MSG.CHANNEL_SUCCESS : SSH_MSG.CHANNEL_FAILURE).uint32(this.remoteId).finish()));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.stderr.destroyed) this.stderr.destroy();
    if (!this.sentClose && this.remoteId >= 0) this.close();
    callback(error);
  }

  get isClosing(): boolean {
    return this.sentClose || this.receivedClose;
  }
}
