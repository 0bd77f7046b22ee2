/**
 * The SSH transport layer (RFC 4253) for either role over any byte stream (a TCP socket, a ProxyCommand's
 * stdio, or a channel of another connection for jump hosts).
 *
 * Responsibilities: identification exchange, binary packets, key exchange and re-exchange started by either
 * side, strict kex (OpenSSH PROTOCOL §1.10, the Terrapin countermeasure), ext-info (RFC 8308), delayed
 * compression, IGNORE/DEBUG/UNIMPLEMENTED and DISCONNECT. Messages 50 and above go to `packetHandler`.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { DISCONNECT_REASON, SSH_MSG } from '../wire/message-numbers.ts';
import { DecodeError, DisconnectError, ProtocolError } from '../wire/errors.ts';
import type { PrivateKey, PublicKey } from '../keys/types.ts';
import { MacError, type PacketOpener, type PacketSealer } from '../crypto/cipher/types.ts';
import { CIPHERS, MACS, createNoneOpener, createNoneSealer, createOpener, createSealer } from '../crypto/cipher/index.ts';
import {
  DEFAULT_KEX,
  EXT_INFO_CLIENT,
  KEX_METHODS,
  STRICT_KEX_CLIENT,
  STRICT_KEX_SERVER,
} from '../crypto/kex/methods.ts';
import { IdentificationError, IdentificationReader, SOFTWARE_VERSION, printable } from './version.ts';
import { decodeKexInit, encodeKexInit, guessWasRight, negotiate, type KexInit, type NegotiatedAlgorithms } from './kexinit.ts';
import { clientKexFlow, serverKexFlow, type KexFlow, type KexOutcome } from './kex-flow.ts';
import { deriveKey } from './key-derivation.ts';
import { ByteQueue } from './byte-queue.ts';
import { PacketCompression } from './packet-compression.ts';
import { DEFAULT_CIPHERS, DEFAULT_MACS } from '../crypto/cipher/index.ts';

/** Stop reading from the stream when this much undecoded input is waiting. */
const INPUT_HIGH_WATER = 1024 * 1024;
/** Default RekeyLimit: re-exchange keys after this many bytes in either direction. */
export const DEFAULT_REKEY_BYTES = 1024 ** 3;

export const DEFAULT_HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
];
export const DEFAULT_COMPRESSION = ['none', 'zlib@openssh.com'];

export interface AlgorithmPreferences {
  kex: string[];
  hostKey: string[];
  cipher: string[];
  mac: string[];
  compression: string[];
}

/** Where the peer is, when the stream is a network socket. */
export interface PeerAddress {
  address: string | undefined;
}

export interface TransportOptions {
  role: 'client' | 'server';
  stream: Duplex;
  algorithms?: Partial<AlgorithmPreferences>;
  /** Client: accept or reject the server's host key on the first exchange (throw to reject). */
  verifyHostKey?: (key: PublicKey, algorithm: string, peer: PeerAddress) => Promise<void> | void;
  /** Server: host keys to offer. */
  hostKeys?: PrivateKey[];
  /** Server: the signature algorithms announced in EXT_INFO server-sig-algs (PubkeyAcceptedAlgorithms). */
  serverSignatureAlgorithms?: string[];
  /** Server: picks a group for diffie-hellman-group-exchange. */
  chooseDhGroup?: (min: number, preferred: number, max: number) => { prime: Buffer; generator: Buffer };
  rekeyLimitBytes?: number;
  /** Re-exchange keys after this many seconds; 0 disables. */
  rekeyIntervalSeconds?: number;
  softwareVersion?: string;
  /** Diagnostic messages, as `ssh -v` prints them. */
  debug?: (message: string) => void;
}

/** What a kex in progress has gathered so far. */
interface KexState {
  ourInit: Buffer;
  ourLists: KexInit;
  peerInit?: Buffer;
  negotiated?: NegotiatedAlgorithms;
  flow?: KexFlow;
  outcome?: KexOutcome;
  ignoreNextKexPacket: boolean;
  sentNewKeys: boolean;
  receivedNewKeys: boolean;
  pendingOpener?: PacketOpener;
  pendingDecompression?: string;
}

type PacketHandler = (payload: Buffer) => void | Promise<void>;

/** Messages allowed while a key exchange is in progress (RFC 4253 §7.1): 1–4 and 20–49. */
function isKexPhaseMessage(type: number): boolean {
  return (type >= 1 && type <= 4) || (type >= 20 && type <= 49);
}

export class Transport extends EventEmitter {
  readonly role: 'client' | 'server';
  private readonly stream: Duplex;
  private readonly options: TransportOptions;
  private readonly preferences: AlgorithmPreferences;
  private readonly identification: IdentificationReader;
  private readonly input = new ByteQueue();
  private readonly ourVersion: string;

  peerVersion = '';
  /** Lines the server sent before its identification (client role only). */
  preamble: string[] = [];
  sessionId: Buffer | undefined;
  negotiated: NegotiatedAlgorithms | undefined;
  /** Extensions the peer announced with SSH_MSG_EXT_INFO (RFC 8308). */
  readonly peerExtensions = new Map<string, Buffer>();
  strictKex = false;
  /** Counts every packet received, so liveness checks (ServerAliveInterval) can see the peer is there. */
  packetsReceived = 0;
  /** performance.now() when the last packet arrived (updated once per input batch). */
  lastPacketAt = performance.now();
  serverHostKey: PublicKey | undefined;

  private handler: PacketHandler | undefined;
  /** Upper-layer packets that arrived before any handler was installed, delivered when one is. */
  private readonly undelivered: Buffer[] = [];

  private sealer: PacketSealer = createNoneSealer();
  private opener: PacketOpener = createNoneOpener();
  private readonly compression = new PacketCompression((message) => this.debug(message));
  private sendSequence = 0;
  private receiveSequence = 0;
  /** Sequence number of the packet being dispatched, for SSH_MSG_UNIMPLEMENTED replies. */
  private dispatchSequence = 0;
  private incomingLength = -1;
  /** Bytes protected by the current keys, per direction: RekeyLimit applies to each key set. */
  private bytesSentWithKeys = 0;
  private bytesReceivedWithKeys = 0;
  private kex: KexState | undefined;
  private kexCount = 0;
  private readonly queuedDuringKex: Buffer[] = [];
  private inputPaused = false;
  private peerWantsExtInfo = false;
  private sawNonKexBeforeFirstKexInit = false;
  private receivedAnyPacket = false;
  private authenticated = false;
  private corked = false;
  private rekeyTimer: NodeJS.Timeout | undefined;
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
      kex: options.algorithms?.kex ?? DEFAULT_KEX,
      hostKey: options.algorithms?.hostKey ?? DEFAULT_HOST_KEY_ALGORITHMS,
      cipher: options.algorithms?.cipher ?? [...DEFAULT_CIPHERS],
      mac: options.algorithms?.mac ?? [...DEFAULT_MACS],
      compression: options.algorithms?.compression ?? ['none', 'zlib@openssh.com'],
    };
    this.identification = new IdentificationReader(this.role === 'client');
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));

    this.ourVersion = `SSH-2.0-${options.softwareVersion ?? SOFTWARE_VERSION}`;
    this.stream.on('data', (chunk: Buffer) => this.onData(chunk));
    this.stream.on('end', () => this.onStreamEnd());
    this.stream.on('close', () => this.onStreamEnd());
    this.stream.on('error', (error: Error) => this.close(error));
    this.stream.on('drain', () => this.emit('drain'));
    this.stream.write(`${this.ourVersion}\r\n`);
  }

  private debug(message: string): void {
    this.options.debug?.(message);
  }

  get isClosed(): boolean {
    return this.closedWith !== undefined;
  }

  // ---- receiving -----------------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.isClosed) return;
    try {
      if (this.peerVersion === '') {
        const result = this.identification.push(chunk);
        if (!result) return;
        this.peerVersion = result.version;
        this.preamble = result.preamble;
        this.debug(`Remote protocol version ${result.version.split('-')[1]}, remote software version ${printable(result.version.split('-').slice(2).join('-'))}`);
        chunk = result.rest;
        this.startKex();
      }
      this.input.push(chunk);
      if (this.input.length > INPUT_HIGH_WATER) this.stream.pause();
      this.processInput();
    } catch (error) {
      this.fail(error as Error);
    }
  }

  private processInput(): void {
    const packetsBefore = this.packetsReceived;
    while (!this.inputPaused && !this.isClosed) {
      if (this.incomingLength < 0) {
        if (this.input.length < this.opener.headerLength) break;
        // The opener rejects lengths out of range (MAX_PACKET_LENGTH) or misaligned for the mode.
        this.incomingLength = this.opener.packetLength(this.receiveSequence, this.input.peek(this.opener.headerLength));
      }
      const total = 4 + this.incomingLength + this.opener.macLength;
      if (this.input.length < total) break;
      const packet = this.input.take(total);
      this.incomingLength = -1;
      let payload = this.opener.open(this.receiveSequence, packet);
      this.dispatchSequence = this.receiveSequence;
      this.packetsReceived++;
      this.receiveSequence = (this.receiveSequence + 1) >>> 0;
      this.bytesReceivedWithKeys += total;
      payload = this.compression.decompress(payload);
      if (payload.length === 0) throw new ProtocolError('empty packet payload');
      this.dispatch(payload);
    }
    if (this.packetsReceived !== packetsBefore) this.lastPacketAt = performance.now();
    if (this.input.length < INPUT_HIGH_WATER && !this.inputPaused && !this.isClosed) this.stream.resume();
    this.maybeRekey();
  }

  /** Stops decoding until `promise` settles: packets after it may need keys or state it establishes. */
  private pauseUntil(promise: Promise<void>): void {
    this.inputPaused = true;
    promise.then(
      () => {
        this.inputPaused = false;
        try {
          this.processInput();
        } catch (error) {
          this.fail(error as Error);
        }
      },
      (error: Error) => this.fail(error),
    );
  }

  private dispatch(payload: Buffer): void {
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
      this.deliver(payload);
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
      while (this.undelivered.length > 0 && !this.inputPaused && !this.isClosed) this.deliver(this.undelivered.shift()!);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  private deliver(payload: Buffer): void {
    // zlib@openssh.com: the client decompresses from the packet after USERAUTH_SUCCESS, which may already be
    // in this input batch, so the switch happens here rather than when the auth layer gets to it.
    if (this.role === 'client' && payload[0] === SSH_MSG.USERAUTH_SUCCESS) this.markAuthenticated();
    if (!this.handler) {
      if (this.undelivered.length >= 64) throw new ProtocolError('too many messages before the session was ready');
      this.undelivered.push(payload);
      return;
    }
    const result = this.handler(payload);
    if (result instanceof Promise) this.pauseUntil(result);
  }

  /** RFC 4253 §11.4: answers the packet being dispatched with SSH_MSG_UNIMPLEMENTED. */
  sendUnimplemented(): void {
    this.send(Buffer.from(new Writer(8).byte(SSH_MSG.UNIMPLEMENTED).uint32(this.dispatchSequence).finish()));
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

  // ---- key exchange --------------------------------------------------------------------------------------

  private ourKexLists(): KexInit {
    const first = this.kexCount === 0;
    const kex = [...this.preferences.kex];
    // Pseudo-algorithms go in the first KEXINIT only (OpenSSH PROTOCOL §1.9, §1.10; RFC 8308 §2.1).
    if (first) kex.push(...(this.role === 'client' ? [EXT_INFO_CLIENT, STRICT_KEX_CLIENT] : [STRICT_KEX_SERVER]));
    else if (this.role === 'client') kex.push(EXT_INFO_CLIENT);
    const hostKey =
      this.role === 'server'
        ? this.preferences.hostKey.filter((alg) => this.options.hostKeys?.some((k) => k.publicKey.signatureAlgorithms.includes(alg)))
        : this.preferences.hostKey;
    return {
      cookie: Buffer.alloc(16),
      kex,
      hostKey,
      cipherClientToServer: this.preferences.cipher,
      cipherServerToClient: this.preferences.cipher,
      macClientToServer: this.preferences.mac,
      macServerToClient: this.preferences.mac,
      compressionClientToServer: this.preferences.compression,
      compressionServerToClient: this.preferences.compression,
      firstKexPacketFollows: false,
    };
  }

  /** Sends our KEXINIT unless a key exchange is already under way (RFC 4253 §9: either side may start one). */
  startKex(): void {
    if (this.kex || this.isClosed || this.peerVersion === '') return;
    const ourLists = this.ourKexLists();
    const ourInit = encodeKexInit(ourLists);
    this.kex = { ourInit, ourLists, ignoreNextKexPacket: false, sentNewKeys: false, receivedNewKeys: false };
    this.debug('SSH2_MSG_KEXINIT sent');
    this.writePacket(ourInit);
  }

  private onKexInit(payload: Buffer): void {
    this.debug('SSH2_MSG_KEXINIT received');
    if (!this.kex) this.startKex();
    const kex = this.kex!;
    if (kex.peerInit) throw new ProtocolError('duplicate SSH2_MSG_KEXINIT');
    kex.peerInit = Buffer.from(payload);
    const peer = decodeKexInit(payload);
    const [client, server] = this.role === 'client' ? [kex.ourLists, peer] : [peer, kex.ourLists];
    if (this.kexCount === 0) {
      this.strictKex = client.kex.includes(STRICT_KEX_CLIENT) && server.kex.includes(STRICT_KEX_SERVER);
      if (this.strictKex) {
        this.debug('kex: strict KEX mode enabled');
        if (this.sawNonKexBeforeFirstKexInit) throw new ProtocolError('strict KEX violation: KEXINIT was not the first packet');
      }
    }
    if (this.role === 'server') this.peerWantsExtInfo = client.kex.includes(EXT_INFO_CLIENT);
    const negotiated = negotiate(client, server, (cipher) => CIPHERS.get(cipher)?.aead ?? false);
    kex.negotiated = negotiated;
    this.debug(`kex: algorithm: ${negotiated.kex}`);
    this.debug(`kex: host key algorithm: ${negotiated.hostKey}`);
    this.debug(`kex: server->client cipher: ${negotiated.cipherServerToClient} MAC: ${negotiated.macServerToClient} compression: ${negotiated.compressionServerToClient}`);
    this.debug(`kex: client->server cipher: ${negotiated.cipherClientToServer} MAC: ${negotiated.macClientToServer} compression: ${negotiated.compressionClientToServer}`);
    if (peer.firstKexPacketFollows && !guessWasRight(client, server)) kex.ignoreNextKexPacket = true;

    const method = KEX_METHODS.get(negotiated.kex)!;
    const transcript = {
      clientVersion: this.role === 'client' ? this.ourVersion : this.peerVersion,
      serverVersion: this.role === 'client' ? this.peerVersion : this.ourVersion,
      clientKexInit: this.role === 'client' ? kex.ourInit : kex.peerInit,
      serverKexInit: this.role === 'client' ? kex.peerInit : kex.ourInit,
    };
    const send = (message: Buffer) => this.writePacket(message);
    if (this.role === 'client') {
      const cipher = CIPHERS.get(negotiated.cipherClientToServer)!;
      kex.flow = clientKexFlow({
        method,
        transcript,
        hostKeyAlgorithm: negotiated.hostKey,
        preferredGroupBits: groupBitsFor(cipher.keyLength),
        send,
      });
    } else {
      const hostKey = this.options.hostKeys!.find((key) => key.publicKey.signatureAlgorithms.includes(negotiated.hostKey))!;
      kex.flow = serverKexFlow({
        method,
        transcript,
        hostKey,
        hostKeyAlgorithm: negotiated.hostKey,
        chooseGroup: this.options.chooseDhGroup,
        send,
      });
    }
    kex.flow.start();
  }

  private onKexMessage(payload: Buffer): void {
    const kex = this.kex;
    if (!kex?.flow || kex.outcome) throw new ProtocolError(`unexpected key exchange message ${payload[0]}`);
    if (kex.ignoreNextKexPacket) {
      kex.ignoreNextKexPacket = false;
      return;
    }
    const outcome = kex.flow.handle(payload);
    if (!outcome) return;
    kex.outcome = outcome;
    if (this.role === 'client') {
      if (this.serverHostKey) {
        // Re-exchanges must present the host key the user accepted on the first one.
        if (!this.serverHostKey.equals(outcome.hostKey)) throw new ProtocolError('Server host key changed during rekey', 9);
      } else {
        this.serverHostKey = outcome.hostKey;
        const verify = this.options.verifyHostKey;
        if (verify) {
          // The address lets the policy check it too (CheckHostIP); streams other than sockets have none.
          const peer = { address: (this.stream as { remoteAddress?: string }).remoteAddress };
          this.pauseUntil(Promise.resolve(verify(outcome.hostKey, kex.negotiated!.hostKey, peer)).then(() => this.sendNewKeys()));
          return;
        }
      }
    }
    this.sendNewKeys();
  }

  private sendNewKeys(): void {
    const kex = this.kex!;
    const outcome = kex.outcome!;
    this.sessionId ??= outcome.exchangeHash;
    const negotiated = kex.negotiated!;
    const method = KEX_METHODS.get(negotiated.kex)!;
    const derive = (letter: string, length: number) =>
      deriveKey(method.hash, outcome.encodedSecret, outcome.exchangeHash, letter, this.sessionId!, length);
    const keysFor = (cipherName: string, macName: string, ivLetter: string, keyLetter: string, macLetter: string) => {
      const cipher = CIPHERS.get(cipherName)!;
      const mac = cipher.aead ? undefined : MACS.get(macName)!;
      return {
        cipher: cipherName,
        mac: mac ? macName : '',
        iv: derive(ivLetter, cipher.ivLength),
        encryptionKey: derive(keyLetter, cipher.keyLength),
        integrityKey: mac ? derive(macLetter, mac.keyLength) : Buffer.alloc(0),
      };
    };
    const clientToServer = keysFor(negotiated.cipherClientToServer, negotiated.macClientToServer, 'A', 'C', 'E');
    const serverToClient = keysFor(negotiated.cipherServerToClient, negotiated.macServerToClient, 'B', 'D', 'F');
    const [outgoing, incoming] = this.role === 'client' ? [clientToServer, serverToClient] : [serverToClient, clientToServer];
    const [outCompression, inCompression] =
      this.role === 'client'
        ? [negotiated.compressionClientToServer, negotiated.compressionServerToClient]
        : [negotiated.compressionServerToClient, negotiated.compressionClientToServer];

    this.writePacket(Buffer.from([SSH_MSG.NEWKEYS]));
    this.debug('SSH2_MSG_NEWKEYS sent');
    this.sealer = createSealer(outgoing);
    this.bytesSentWithKeys = 0;
    if (this.strictKex) this.sendSequence = 0;
    this.compression.newKeys('out', outCompression);
    kex.pendingOpener = createOpener(incoming);
    kex.pendingDecompression = inCompression;
    kex.sentNewKeys = true;

    if (this.role === 'server' && this.kexCount === 0 && this.peerWantsExtInfo) this.sendExtInfo();
    this.flushQueuedDuringKex();
    if (kex.receivedNewKeys) this.finishKex();
  }

  private onNewKeys(payload: Buffer): void {
    const kex = this.kex;
    if (!kex?.pendingOpener || kex.receivedNewKeys || payload.length !== 1) {
      throw new ProtocolError('unexpected SSH2_MSG_NEWKEYS');
    }
    this.debug('SSH2_MSG_NEWKEYS received');
    this.opener = kex.pendingOpener;
    this.bytesReceivedWithKeys = 0;
    if (this.strictKex) this.receiveSequence = 0;
    this.compression.newKeys('in', kex.pendingDecompression!);
    kex.receivedNewKeys = true;
    if (kex.sentNewKeys) this.finishKex();
  }

  private finishKex(): void {
    this.negotiated = this.kex!.negotiated;
    this.kex = undefined;
    this.kexCount++;
    this.scheduleTimedRekey();
    if (this.kexCount === 1) this.resolveReady();
    this.emit('kex', this.kexCount);
    // Data queued during the exchange may already have used up the new keys' allowance.
    this.maybeRekey();
  }

  private flushQueuedDuringKex(): void {
    const queued = this.queuedDuringKex.splice(0);
    for (const payload of queued) this.writePacket(payload);
    if (queued.length > 0) this.emit('drain');
  }

  private sendExtInfo(): void {
    // RFC 8308 §3.1: the signature algorithms we accept for user authentication.
    const algorithms = this.options.serverSignatureAlgorithms ?? DEFAULT_HOST_KEY_ALGORITHMS;
    const writer = new Writer().byte(SSH_MSG.EXT_INFO).uint32(1).string('server-sig-algs').nameList(algorithms);
    this.writePacket(Buffer.from(writer.finish()));
  }

  /**
   * RekeyLimit (data). Like OpenSSH (packet.c ssh_packet_need_rekeying) we start re-exchanges only after user
   * authentication: sshd treats a KEXINIT during authentication as a protocol error, so with a tiny limit a
   * pre-auth rekey would end the connection. The peer may still start one whenever it likes.
   */
  private maybeRekey(): void {
    const limit = this.options.rekeyLimitBytes ?? DEFAULT_REKEY_BYTES;
    if (!this.authenticated || this.kexCount === 0 || this.kex) return;
    if (Math.max(this.bytesSentWithKeys, this.bytesReceivedWithKeys) > limit) {
      this.debug('rekeying after data limit');
      this.startKex();
    }
  }

  private scheduleTimedRekey(): void {
    clearTimeout(this.rekeyTimer);
    const seconds = this.options.rekeyIntervalSeconds ?? 0;
    if (seconds > 0) {
      // Before authentication the interval starts over, for the reason given at maybeRekey().
      this.rekeyTimer = setTimeout(() => (this.authenticated ? this.startKex() : this.scheduleTimedRekey()), seconds * 1000);
      this.rekeyTimer.unref();
    }
  }

  // ---- compression ---------------------------------------------------------------------------------------

  /** Delayed compression begins, and data-limit re-exchanges may: at USERAUTH_SUCCESS, sent (server) or received (client). */
  private markAuthenticated(): void {
    if (this.authenticated) return;
    this.authenticated = true;
    this.compression.authenticationSucceeded();
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

  private writePacket(payload: Buffer): boolean {
    if (this.isClosed) return false;
    const compressed = this.compression.compress(payload);
    const packet = this.sealer.seal(this.sendSequence, compressed);
    this.sendSequence = (this.sendSequence + 1) >>> 0;
    this.bytesSentWithKeys += packet.length;
    // Packets written in the same tick leave in one segment: Nagle is off, so batching is ours to do.
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(() => {
        this.corked = false;
        this.stream.uncork();
      });
    }
    const flowing = this.stream.write(packet);
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
    this.compression.close();
    if (this.stream.writableCorked) this.stream.uncork();
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

/** Under strict kex, only these may arrive during the first exchange (OpenSSH PROTOCOL §1.10). */
function isStrictKexMessage(type: number): boolean {
  return type === SSH_MSG.KEXINIT || type === SSH_MSG.NEWKEYS || type === SSH_MSG.DISCONNECT || (type >= 30 && type <= 49);
}

/** The DH group size matching a cipher's strength, like OpenSSH's dh_estimate(). */
function groupBitsFor(cipherKeyBytes: number): number {
  const bits = Math.min(cipherKeyBytes, 32) * 8;
  if (bits <= 112) return 2048;
  if (bits <= 128) return 3072;
  if (bits <= 192) return 7680;
  return 8192;
}
