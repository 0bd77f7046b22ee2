/**
 * The binary packet protocol (RFC 4253 §6) over a byte stream: framing, the keys in force for each direction,
 * sequence numbers, compression, and flow control of the stream both ways. It does not know what packets
 * mean: the transport installs keys when a key exchange says so and receives every payload in order.
 *
 * Flow control. Reading stops while undecoded input piles up, while the transport waits for an upper layer
 * (a handler returned a promise), and while too many of our own messages are still waiting to leave: a peer
 * that sends requests and never reads the replies is paused, not buffered for (sshd bounds its output the
 * same way, packet.c ssh_packet_not_very_much_data_to_write). Channel data does not count towards that bound:
 * the peer's window already limits it, and counting it could stop two peers that both send bulk data
 * waiting on each other.
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { SSH_MSG } from '../wire/message-numbers.ts';
import { ProtocolError } from '../wire/errors.ts';
import type { PacketOpener, PacketSealer } from '../crypto/cipher/types.ts';
import { PAYLOAD_OFFSET, createNoneOpener, createNoneSealer } from '../crypto/cipher/index.ts';
import { ByteQueue } from './byte-queue.ts';
import { PacketCompression } from './packet-compression.ts';
import { SentBlocks } from './sent-blocks.ts';
import { handleRead } from './read-batch.ts';

/** Stop reading from the stream when this much undecoded input is waiting. */
const INPUT_HIGH_WATER = 1024 * 1024;
/** Stop reading while this many bytes of messages other than channel data have not left yet… */
export const OUTPUT_BACKLOG_HIGH_WATER = 256 * 1024;
/** …and start again once the backlog is down to this. */
const OUTPUT_BACKLOG_LOW_WATER = 64 * 1024;
/**
 * The writable high-water mark a transport's socket is made with (issue 17): above what one read of a local
 * source (SHARED_READ_SIZE) becomes once sealed. At Node's default of 64 KiB each such read left the socket
 * over its mark until the packets, corked for the tick, had been written: the source paused and resumed
 * every read, and libuv changed its epoll registration each time.
 */
export const TRANSPORT_WRITE_HIGH_WATER = 256 * 1024;

export interface PacketLayerOptions {
  stream: Duplex;
  /**
   * Every payload received, decrypted and decompressed, in order. A `borrowed` payload (channel data only)
   * lies in memory that is reused once the call returns: it must be consumed or copied by then.
   */
  onPacket(payload: Buffer, borrowed: boolean): void;
  /** After each batch of input has been dispatched. */
  afterInput(): void;
  /** An error while resuming input after a pause (there is no caller to throw to then). */
  onError(error: Error): void;
  debug(message: string): void;
}

/** Messages whose volume the peer's channel windows already bound (RFC 4254 §5.2). */
function isChannelData(type: number): boolean {
  return type === SSH_MSG.CHANNEL_DATA || type === SSH_MSG.CHANNEL_EXTENDED_DATA;
}

export class PacketLayer {
  private readonly stream: Duplex;
  private readonly options: PacketLayerOptions;
  private readonly input = new ByteQueue();
  /** See reassemblyBuffer(); allocated once a packet spans chunks. */
  private reassembly: Buffer | undefined;
  /**
   * Input arrives in a buffer its reader reuses (receive(…, true)): what a read leaves of a packet is kept
   * in `carry`, reused and grown to the largest such remainder, so every payload then lies in reused memory
   * and is delivered as borrowed.
   */
  private borrowing = false;
  private carry: Buffer | undefined;
  /** A packet's first bytes when they span chunks (the largest headerLength is a cipher block). */
  private readonly headerScratch = Buffer.allocUnsafe(32);
  private sealer: PacketSealer = createNoneSealer();
  private opener: PacketOpener = createNoneOpener();
  private readonly compression: PacketCompression;
  /**
   * Reused memory for sealed channel data (sent-blocks.ts), over a socket only: its write callback means the
   * kernel has copied the bytes, where a stream in the process (a channel under -J, a test's pair) may still
   * hold the very buffer after its callback.
   */
  private readonly sentBlocks: SentBlocks | undefined;
  private sendSequence = 0;
  private receiveSequence = 0;
  private incomingLength = -1;
  /** Bytes protected by the current keys, per direction: RekeyLimit applies to each key set. */
  private bytesSentWithKeys = 0;
  private bytesReceivedWithKeys = 0;
  /** Waiting for an upper layer's promise. */
  private handlerPaused = false;
  /** Bytes of non-channel-data packets written but not yet handed to the operating system. */
  private outputBacklog = 0;
  private backlogPaused = false;
  private corked = false;
  /** Under the current keys, data packets may go to the kernel one by one (newOutgoingKeys, flushWhileTaken). */
  private eagerDataWrites = false;
  /** In this tick, data packets are written as they are sealed (see flushWhileTaken). */
  private eagerData = false;
  private closed = false;

  /** Counts every packet received, so liveness checks (ServerAliveInterval) can see the peer is there. */
  packetsReceived = 0;
  /** performance.now() when the last packet arrived (updated once per input batch). */
  lastPacketAt = performance.now();
  /** Sequence number of the packet being dispatched, for SSH_MSG_UNIMPLEMENTED replies. */
  dispatchSequence = 0;

  constructor(options: PacketLayerOptions) {
    this.options = options;
    this.stream = options.stream;
    this.compression = new PacketCompression((message) => options.debug(message));
    this.sentBlocks = options.stream instanceof Socket ? new SentBlocks() : undefined;
  }

  /** The larger of the two directions' byte counts under the current keys (RekeyLimit). */
  get bytesWithCurrentKeys(): number {
    return Math.max(this.bytesSentWithKeys, this.bytesReceivedWithKeys);
  }

  /** Bytes of our own messages (other than channel data) still waiting to leave. */
  get backlog(): number {
    return this.outputBacklog;
  }

  /** Whether decoding is stopped (for an upper layer's promise or for our own output backlog). */
  get isPaused(): boolean {
    return this.handlerPaused || this.backlogPaused;
  }

  // ---- receiving -----------------------------------------------------------------------------------------

  /**
   * Takes stream bytes that follow the identification exchange; throws on malformed or unauthentic input.
   * A `borrowed` chunk is reused by its reader once this returns (a socket's onread buffer): what is not
   * decoded by then is copied.
   */
  receive(chunk: Buffer, borrowed = false): void {
    this.input.push(chunk);
    if (this.input.length > INPUT_HIGH_WATER) this.stream.pause();
    if (!borrowed) return this.processInput();
    this.borrowing = true;
    // Consumers of the channel data lent from this read may write it once the whole read is handled.
    handleRead(() => {
      try {
        this.processInput();
      } finally {
        // The part of a packet a read ends with (a bulk transfer's usual case) goes into the reused carry. A
        // connection with nothing left over holds none, and one that stops with a little holds only that
        // much: idle or flooding connections cost no fixed carry each. No lent payload lies in the carry:
        // what it held before this read was an incomplete packet, completed in the reassembly buffer.
        if (this.input.length === 0) this.carry = undefined;
        else this.carry = this.input.own(chunk, this.carry) ?? this.carry;
      }
    });
  }

  private processInput(): void {
    const packetsBefore = this.packetsReceived;
    while (!this.isPaused && !this.closed) {
      if (this.incomingLength < 0) {
        if (this.input.length < this.opener.headerLength) break;
        // The opener rejects lengths out of range (MAX_PACKET_LENGTH) or misaligned for the mode.
        this.incomingLength = this.opener.packetLength(this.receiveSequence, this.input.peek(this.opener.headerLength, this.headerScratch));
      }
      const total = 4 + this.incomingLength + this.opener.macLength;
      if (this.input.length < total) break;
      const reassembly = this.reassemblyBuffer(total);
      const packet = this.input.take(total, reassembly);
      this.incomingLength = -1;
      // The native openers return a view of the packet, decrypted in place: in reused memory when the packet
      // was reassembled or the input is borrowed.
      const opened = this.opener.open(this.receiveSequence, packet);
      this.dispatchSequence = this.receiveSequence;
      this.packetsReceived++;
      this.receiveSequence = (this.receiveSequence + 1) >>> 0;
      this.bytesReceivedWithKeys += total;
      let payload = this.compression.decompress(opened);
      if (payload.length === 0) throw new ProtocolError('empty packet payload');
      let borrowed = payload === opened && (this.borrowing || reassembly !== undefined);
      // Only channel data is worth lending (RFC 4254 §5.2): the rest is small, and kept by many handlers.
      if (borrowed && !isChannelData(payload[0]!)) {
        payload = Buffer.from(payload);
        borrowed = false;
      }
      this.options.onPacket(payload, borrowed);
    }
    if (this.packetsReceived !== packetsBefore) this.lastPacketAt = performance.now();
    if (this.closed) return;
    // Waiting for a handler leaves the stream flowing (INPUT_HIGH_WATER bounds it) so that the peer's EOF is
    // still seen; a backlog means the peer is not reading, and then nothing more is taken from it.
    if (this.backlogPaused) this.stream.pause();
    else if (this.input.length < INPUT_HIGH_WATER && !this.handlerPaused) this.stream.resume();
    this.options.afterInput();
  }

  /**
   * Where a packet that spans socket chunks is copied together: one buffer, grown to the largest such packet
   * and reused, rather than a new one for about every other packet of a bulk transfer (32 KiB packets, 64 KiB
   * reads). A payload decrypted in place there is lent like one in the read buffer, until the read is handled
   * (read-batch.ts): only the first packet of a read can span chunks, so a read uses this buffer at most once.
   */
  private reassemblyBuffer(total: number): Buffer | undefined {
    if (this.input.contiguous >= total) return undefined;
    if (this.reassembly === undefined || this.reassembly.length < total) this.reassembly = Buffer.allocUnsafeSlow(total);
    return this.reassembly;
  }

  /** Decodes input again after a pause, reporting errors to the owner (no caller is waiting). */
  private resumeInput(): void {
    if (this.isPaused || this.closed) return;
    try {
      this.processInput();
    } catch (error) {
      this.options.onError(error as Error);
    }
  }

  /** Stops decoding until `promise` settles: packets after it may need keys or state it establishes. */
  pauseUntil(promise: Promise<void>): void {
    this.handlerPaused = true;
    promise.then(
      () => {
        this.handlerPaused = false;
        this.resumeInput();
      },
      (error: Error) => this.options.onError(error),
    );
  }

  // ---- sending -------------------------------------------------------------------------------------------

  /** Compresses, seals and writes one packet; false when the stream's buffer is over its high-water mark. */
  write(payload: Buffer): boolean {
    return this.writeEncoded(payload.length, (target, offset) => target.set(payload, offset));
  }

  /**
   * Like write() for a message of `length` bytes that `encode` writes at `target[offset …]`, straight into
   * the sealer's plaintext buffer: the message is never built on its own (channel data: one copy of the
   * data, issue 17). `encode` must not send anything itself.
   */
  writeEncoded(length: number, encode: (target: Buffer, offset: number) => void): boolean {
    if (this.closed) return false;
    const plaintext = this.sealer.plaintext(length);
    encode(plaintext, PAYLOAD_OFFSET);
    const type = plaintext[PAYLOAD_OFFSET]!;
    const payload = plaintext.subarray(PAYLOAD_OFFSET, PAYLOAD_OFFSET + length);
    const compressed = this.compression.compress(payload);
    // zlib returns a buffer of its own; it goes back into the plaintext buffer to be sealed.
    if (compressed !== payload) this.sealer.plaintext(compressed.length).set(compressed, PAYLOAD_OFFSET);
    const channelData = isChannelData(type);
    const blocks = channelData ? this.sentBlocks : undefined;
    const pieces = this.sealer.sealPlaintext(this.sendSequence, compressed.length, blocks);
    this.sendSequence = (this.sendSequence + 1) >>> 0;
    let packetLength = 0;
    for (const piece of pieces) packetLength += piece.length;
    this.bytesSentWithKeys += packetLength;
    // Packets written in the same tick leave in one writev (data packets may leave sooner: flushWhileTaken).
    // Nagle is off, so batching is ours to do.
    if (!this.corked) {
      this.corked = true;
      this.eagerData = this.eagerDataWrites && this.stream.writableLength === 0;
      this.stream.cork();
      process.nextTick(() => {
        this.corked = false;
        this.stream.uncork();
      });
    }
    const last = pieces.length - 1;
    for (let i = 0; i < last; i++) this.stream.write(pieces[i]);
    if (channelData) {
      const more = this.stream.write(pieces[last], blocks?.claim() ? blocks.written : undefined);
      if (this.eagerData) this.flushWhileTaken();
      return more;
    }
    this.outputBacklog += packetLength;
    if (this.outputBacklog > OUTPUT_BACKLOG_HIGH_WATER && !this.backlogPaused) {
      this.options.debug(`output backlog ${this.outputBacklog} bytes: not reading from the peer until it drains`);
      this.backlogPaused = true;
      this.stream.pause();
    }
    // The callback runs once the bytes are with the operating system (or the stream is gone).
    return this.stream.write(pieces[last], () => this.written(packetLength));
  }

  /**
   * Hands what is corked to the kernel at once, and corks again for the rest of the tick, as long as the kernel
   * takes each write whole: bulk data measured cheaper for the sender that way than in one writev per tick
   * (12-25% less CPU with AES-GCM, and 7-23% more throughput). Once a write is not taken whole the peer
   * lags, and the rest of the tick's packets wait for its end and leave in one writev, as all of them do when
   * the stream already holds output at the start of the tick.
   */
  private flushWhileTaken(): void {
    this.stream.uncork();
    if (this.stream.writableLength > 0) this.eagerData = false;
    this.stream.cork();
  }

  private written(length: number): void {
    this.outputBacklog -= length;
    if (this.backlogPaused && this.outputBacklog <= OUTPUT_BACKLOG_LOW_WATER) {
      this.backlogPaused = false;
      this.resumeInput();
    }
  }

  // ---- keys ----------------------------------------------------------------------------------------------

  /**
   * After our NEWKEYS: protect what we send with the new keys; strict kex restarts the sequence (§1.10).
   * `eagerDataWrites`: whether data packets may go to the kernel one by one (flushWhileTaken).
   */
  newOutgoingKeys(sealer: PacketSealer, compression: string, resetSequence: boolean, eagerDataWrites = false): void {
    this.sealer = sealer;
    this.eagerDataWrites = eagerDataWrites;
    this.bytesSentWithKeys = 0;
    if (resetSequence) this.sendSequence = 0;
    this.compression.newKeys('out', compression);
  }

  /** After the peer's NEWKEYS: what follows it is under the new keys. */
  newIncomingKeys(opener: PacketOpener, compression: string, resetSequence: boolean): void {
    this.opener = opener;
    this.bytesReceivedWithKeys = 0;
    if (resetSequence) this.receiveSequence = 0;
    this.compression.newKeys('in', compression);
  }

  /** Delayed compression (zlib@openssh.com) starts now. */
  authenticationSucceeded(): void {
    this.compression.authenticationSucceeded();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.compression.close();
    if (this.stream.writableCorked) this.stream.uncork();
  }
}
