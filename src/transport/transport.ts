/**
 * The SSH transport layer (RFC 4253) for either role over any byte stream (a TCP socket, a ProxyCommand's
 * stdio, or a channel of another connection for jump hosts).
 *
 * Three parts, as Go's x/crypto/ssh has its transport and handshakeTransport: the packet layer
 * (packet-layer.ts: framing, keys in force, sequence numbers, compression, flow control), the key exchange
 * state machine (handshake.ts: KEXINIT to NEWKEYS, strict kex, re-exchange) and, here, what ties them to the
 * stream and to the layers above: the identification exchange, dispatch of messages by number (1–49 here,
 * 50 and above to `packetHandler`), ext-info (RFC 8308), IGNORE/DEBUG/UNIMPLEMENTED, DISCONNECT and closing.
 */
import type { Duplex } from 'node:stream';
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { DISCONNECT_REASON, SSH_MSG } from '../wire/message-numbers.ts';
import { DecodeError, DisconnectError, ProtocolError } from '../wire/errors.ts';
import { MacError } from '../crypto/cipher/types.ts';
import { DEFAULT_CIPHERS, DEFAULT_MACS } from '../crypto/cipher/index.ts';
import { defaultKex } from '../crypto/kex/methods.ts';
import { IdentificationError, IdentificationReader, SOFTWARE_VERSION, printable } from './version.ts';
import { KeyExchangeMachine, isStrictKexMessage } from './handshake.ts';
import { PacketLayer } from './packet-layer.ts';
import { SocketReads } from './socket-reads.ts';
import { DEFAULT_HOST_KEY_ALGORITHMS, type AlgorithmPreferences, type TransportOptions } from './transport-options.ts';

export {
  DEFAULT_COMPRESSION,
  DEFAULT_HOST_KEY_ALGORITHMS,
  DEFAULT_REKEY_BYTES,
  type AlgorithmPreferences,
  type PeerAddress,
  type TransportOptions,
} from './transport-options.ts';

/**
 * Receives each message 50 and above. A `borrowed` payload (channel data read into reused memory) is valid
 * only until the handler returns: it must be consumed or copied by then.
 */
export type PacketHandler = (payload: Buffer, borrowed: boolean) => void | Promise<void>;

/** Messages allowed while a key exchange is in progress (RFC 4253 §7.1): 1–4 and 20–49. */
function isKexPhaseMessage(type: number): boolean {
  return (type >= 1 && type <= 4) || (type >= 20 && type <= 49);
}

export class Transport extends KeyExchangeMachine {
  readonly role: 'client' | 'server';
  private readonly stream: Duplex;
  protected readonly options: TransportOptions;
  protected readonly preferences: AlgorithmPreferences;
  private readonly identification: IdentificationReader;
  protected readonly ourVersion: string;
  protected readonly packets: PacketLayer;

  peerVersion = '';
  /** Lines the server sent before its identification (client role only). */
  preamble: string[] = [];
  /** Extensions the peer announced with SSH_MSG_EXT_INFO (RFC 8308). */
  readonly peerExtensions = new Map<string, Buffer>();

  private handler: PacketHandler | undefined;
  /** Upper-layer packets that arrived before any handler was installed, delivered when one is. */
  private readonly undelivered: Buffer[] = [];
  private receivedAnyPacket = false;
  private closedWith: Error | null | undefined;

  /** Resolves when the first key exchange has completed in both directions. */
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (error: Error) => void;
  /** Resolves with the error that ended the transport, or null for an orderly close. */
  readonly closed: Promise<Error | null>;
  private resolveClosed!: (error: Error | null) => void;

  constructor(options: TransportOptions) {
    super();
    this.options = options;
    this.role = options.role;
    this.stream = options.stream;
    this.preferences = {
      kex: options.algorithms?.kex ?? defaultKex(),
      hostKey: options.algorithms?.hostKey ?? DEFAULT_HOST_KEY_ALGORITHMS,
      cipher: options.algorithms?.cipher ?? [...DEFAULT_CIPHERS],
      mac: options.algorithms?.mac ?? [...DEFAULT_MACS],
      compression: options.algorithms?.compression ?? ['none', 'zlib@openssh.com'],
    };
    this.identification = new IdentificationReader(this.role === 'client');
    this.packets = new PacketLayer({
      stream: this.stream,
      onPacket: (payload, borrowed) => this.dispatch(payload, borrowed),
      afterInput: () => this.maybeRekey(),
      onError: (error) => this.fail(error),
      debug: (message) => this.debug(message),
    });
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));

    this.ourVersion = `SSH-2.0-${options.softwareVersion ?? SOFTWARE_VERSION}`;
    // A socket made with SocketReads is read through them, into the shared buffer (issue 17), not by 'data'.
    const reads = SocketReads.of(this.stream);
    if (reads) {
      reads.start(
        (chunk) => {
          this.onData(chunk, true);
          return true;
        },
        () => {},
      );
    } else {
      this.stream.on('data', (chunk: Buffer) => this.onData(chunk, false));
    }
    this.stream.on('end', () => this.onStreamEnd());
    this.stream.on('close', () => this.onStreamEnd());
    this.stream.on('error', (error: Error) => this.close(error));
    this.stream.on('drain', () => this.emit('drain'));
    this.stream.write(`${this.ourVersion}\r\n`);
  }

  protected debug(message: string): void {
    this.options.debug?.(message);
  }

  get isClosed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Counts every packet received, so liveness checks (ServerAliveInterval) can see the peer is there. */
  get packetsReceived(): number {
    return this.packets.packetsReceived;
  }

  /** performance.now() when the last packet arrived (updated once per input batch). */
  get lastPacketAt(): number {
    return this.packets.lastPacketAt;
  }

  protected get peerAddress(): string | undefined {
    return (this.stream as { remoteAddress?: string }).remoteAddress;
  }

  protected firstKexDone(): void {
    this.resolveReady();
  }

  // ---- receiving -----------------------------------------------------------------------------------------

  private onData(chunk: Buffer, borrowed: boolean): void {
    if (this.isClosed) return;
    try {
      if (this.peerVersion === '') {
        // The identification reader keeps what it has not parsed yet; this happens once a connection.
        const result = this.identification.push(borrowed ? Buffer.from(chunk) : chunk);
        if (!result) return;
        this.peerVersion = result.version;
        this.preamble = result.preamble;
        this.debug(`Remote protocol version ${result.version.split('-')[1]}, remote software version ${printable(result.version.split('-').slice(2).join('-'))}`);
        this.startKex();
        return this.packets.receive(result.rest);
      }
      this.packets.receive(chunk, borrowed);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  private dispatch(payload: Buffer, borrowed: boolean): void {
    const type = payload[0]!;
    // Strict kex requires KEXINIT to be the very first packet; whether it is negotiated is known only later.
    if (!this.receivedAnyPacket && type !== SSH_MSG.KEXINIT) this.sawNonKexBeforeFirstKexInit = true;
    this.receivedAnyPacket = true;
    if (this.strictKex && this.kexCount === 0 && this.kex && !isStrictKexMessage(type)) {
      throw new ProtocolError(`strict KEX violation: unexpected packet type ${type}`);
    }
    switch (type) {
      case SSH_MSG.DISCONNECT:
        return this.onDisconnect(payload);
      case SSH_MSG.IGNORE:
        return;
      case SSH_MSG.DEBUG:
        return this.onDebug(payload);
      case SSH_MSG.UNIMPLEMENTED:
        this.debug(`Received SSH2_MSG_UNIMPLEMENTED for ${new Reader(payload, 1).uint32()}`);
        return;
      case SSH_MSG.KEXINIT:
        return this.onKexInit(payload);
      case SSH_MSG.NEWKEYS:
        return this.onNewKeys(payload);
      case SSH_MSG.EXT_INFO:
        return this.onExtInfo(payload);
    }
    if (type >= 30 && type <= 49) return this.onKexMessage(payload);
    if (type === SSH_MSG.SERVICE_REQUEST || type === SSH_MSG.SERVICE_ACCEPT || type >= 50) {
      // RFC 4253 §7.1 has the peer send none of these between its KEXINIT and NEWKEYS, but during a
      // *re*-exchange OpenSSH processes them anyway (its kex only takes over dispatch of 1–49; kex.c
      // kex_reset_dispatch) and peers such as AsyncSSH do send channel data there, so we deliver them too:
      // they still arrive under the old, authenticated keys. Only the first exchange stays strict — nothing
      // is keyed or authenticated yet, and under strict kex the check in `dispatch` above already applies.
      if (this.kexCount === 0) throw new ProtocolError(`unexpected message ${type} before key exchange`);
      this.deliver(payload, borrowed);
      return;
    }
    this.sendUnimplemented();
  }

  /**
   * Receives messages 50 and above (and SERVICE_REQUEST/ACCEPT). A handler returning a promise pauses input
   * until it settles. Packets that arrived before the first handler was set are handed to it at once: a peer
   * may send its next message in the same segment as NEWKEYS, before anyone awaiting `ready` has run.
   */
  set packetHandler(handler: PacketHandler) {
    this.handler = handler;
    try {
      while (this.undelivered.length > 0 && !this.packets.isPaused && !this.isClosed) this.deliver(this.undelivered.shift()!, false);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  private deliver(payload: Buffer, borrowed: boolean): void {
    // zlib@openssh.com: the client decompresses from the packet after USERAUTH_SUCCESS, which may already be
    // in this input batch, so the switch happens here rather than when the auth layer gets to it.
    if (this.role === 'client' && payload[0] === SSH_MSG.USERAUTH_SUCCESS) this.markAuthenticated();
    if (!this.handler) {
      if (this.undelivered.length >= 64) throw new ProtocolError('too many messages before the session was ready');
      this.undelivered.push(borrowed ? Buffer.from(payload) : payload);
      return;
    }
    const result = this.handler(payload, borrowed);
    if (result instanceof Promise) this.packets.pauseUntil(result);
  }

  /** RFC 4253 §11.4: answers the packet being dispatched with SSH_MSG_UNIMPLEMENTED. */
  sendUnimplemented(): void {
    this.send(Buffer.from(new Writer(8).byte(SSH_MSG.UNIMPLEMENTED).uint32(this.packets.dispatchSequence).finish()));
  }

  private onDisconnect(payload: Buffer): void {
    const reader = new Reader(payload, 1);
    const reason = reader.uint32();
    const description = printable(reader.text(4096), 1024);
    const verb = this.role === 'client' ? 'Received disconnect from' : 'Received disconnect from client';
    this.close(new DisconnectError(`${verb} peer: ${reason}: ${description}`, reason, true), false);
  }

  private onDebug(payload: Buffer): void {
    const reader = new Reader(payload, 1);
    const alwaysDisplay = reader.boolean();
    const message = printable(reader.text(4096), 1024);
    this.debug(`Remote: ${message}`);
    if (alwaysDisplay) this.emit('peer-debug', message);
  }

  private onExtInfo(payload: Buffer): void {
    const reader = new Reader(payload, 1);
    const count = reader.uint32();
    if (count > 64) throw new ProtocolError('too many extensions in EXT_INFO');
    for (let i = 0; i < count; i++) {
      const name = reader.text(256);
      const value = reader.string(64 * 1024);
      this.peerExtensions.set(name, value);
      this.debug(`kex_input_ext_info: ${name}${name === 'server-sig-algs' ? ` <${value.toString('latin1')}>` : ''}`);
    }
  }

  private onStreamEnd(): void {
    if (this.isClosed) return;
    const error = new DisconnectError('Connection closed by remote host', DISCONNECT_REASON.CONNECTION_LOST, true);
    if (this.peerVersion === '') error.message = 'Connection closed by remote host during identification exchange';
    this.close(error, false);
  }

  // ---- compression ---------------------------------------------------------------------------------------

  /** Delayed compression begins, and data-limit re-exchanges may: at USERAUTH_SUCCESS, sent (server) or received (client). */
  private markAuthenticated(): void {
    if (this.authenticated) return;
    this.authenticated = true;
    this.packets.authenticationSucceeded();
  }

  // ---- sending -------------------------------------------------------------------------------------------

  /**
   * Sends a message of an upper layer. During a key exchange it is held back until NEWKEYS (RFC 4253 §7.1).
   * Returns false when the caller should wait for 'drain' before sending more bulk data.
   */
  send(payload: Buffer): boolean {
    if (this.isClosed) return false;
    if (!isKexPhaseMessage(payload[0]!) && (this.kexCount === 0 || (this.kex && !this.kex.sentNewKeys))) {
      this.queuedDuringKex.push(payload);
      return false;
    }
    return this.writePacket(payload);
  }

  /**
   * send() for a connection-protocol message (RFC 4250 §4.1.2: 80–127) of `length` bytes that `encode`
   * writes straight into the packet (channel data: the message is never built on its own, issue 17).
   */
  sendEncoded(length: number, encode: (target: Buffer, offset: number) => void): boolean {
    if (this.isClosed) return false;
    if (this.kexCount === 0 || (this.kex && !this.kex.sentNewKeys)) {
      const payload = Buffer.allocUnsafe(length);
      encode(payload, 0);
      return this.send(payload);
    }
    const flowing = this.packets.writeEncoded(length, encode);
    this.maybeRekey();
    return flowing;
  }

  protected writePacket(payload: Buffer): boolean {
    if (this.isClosed) return false;
    const flowing = this.packets.write(payload);
    // The server compresses from the packet after its USERAUTH_SUCCESS (OpenSSH PROTOCOL §2.2).
    if (this.role === 'server' && payload[0] === SSH_MSG.USERAUTH_SUCCESS) this.markAuthenticated();
    if (payload[0]! >= 50) this.maybeRekey();
    return flowing;
  }

  /** Whether the stream's write buffer is below its high-water mark. */
  get writable(): boolean {
    return !this.isClosed && !this.stream.writableNeedDrain && this.queuedDuringKex.length === 0;
  }

  // ---- ending --------------------------------------------------------------------------------------------

  /** Sends SSH_MSG_DISCONNECT (RFC 4253 §11.1) and closes. */
  disconnect(reason: number = DISCONNECT_REASON.BY_APPLICATION, description = 'disconnected by user'): void {
    if (this.isClosed) return;
    this.writeDisconnect(reason, description);
    this.close(null, true);
  }

  private writeDisconnect(reason: number, description: string): void {
    try {
      this.writePacket(Buffer.from(new Writer().byte(SSH_MSG.DISCONNECT).uint32(reason).string(description).string('').finish()));
    } catch {
      // The peer may already be gone; the disconnect is a courtesy.
    }
  }

  /** Ends the connection because of `error`, telling the peer why when the error is a protocol one. */
  fail(error: Error): void {
    if (this.isClosed) return;
    let reason: number = DISCONNECT_REASON.PROTOCOL_ERROR;
    if (error instanceof ProtocolError) reason = error.reason;
    else if (error instanceof MacError) {
      reason = DISCONNECT_REASON.MAC_ERROR;
      error.message = 'Corrupted MAC on input.';
    } else if (error instanceof DecodeError) reason = DISCONNECT_REASON.PROTOCOL_ERROR;
    else if (error instanceof DisconnectError) reason = error.reason;
    if (this.peerVersion !== '' && !(error instanceof DisconnectError && error.byPeer)) {
      this.writeDisconnect(reason, error.message);
    }
    // Before the identification exchange is complete there are no packets yet: sshd answers a bad client
    // identification with one plain text line (kex.c send_error).
    if (this.peerVersion === '' && this.role === 'server' && error instanceof IdentificationError) this.stream.write(`${error.reply}\r\n`);
    this.close(error, true);
  }

  private close(error: Error | null, endStream = true): void {
    if (this.isClosed) return;
    this.closedWith = error;
    clearTimeout(this.rekeyTimer);
    this.packets.close();
    if (endStream) {
      // Let the DISCONNECT leave, then make sure the stream is gone even if the peer never closes its side.
      this.stream.end(() => this.stream.destroy());
      setTimeout(() => this.stream.destroy(), 1000).unref();
    } else {
      this.stream.destroy();
    }
    this.rejectReady(error ?? new DisconnectError('connection closed', DISCONNECT_REASON.CONNECTION_LOST, false));
    this.resolveClosed(error);
    this.emit('close', error);
  }
}
