/**
 * The key exchange state machine of RFC 4253 §7–9 for either role, apart from the packets that carry it (as
 * the packet layer is apart from it): our KEXINIT and the peer's, negotiation, the method's flow (kex-flow.ts),
 * host key checks, NEWKEYS in each direction and the keys they switch on, strict kex (OpenSSH PROTOCOL §1.10),
 * EXT_INFO from the server (RFC 8308 §2.4), and when to exchange again (RekeyLimit). The Transport is this
 * machine plus dispatch and the connection's life; what the machine needs of it is the abstract part below.
 */
import { EventEmitter } from 'node:events';
import { Writer } from '../wire/writer.ts';
import { SSH_MSG } from '../wire/message-numbers.ts';
import { ProtocolError } from '../wire/errors.ts';
import type { PublicKey } from '../keys/types.ts';
import type { PacketOpener } from '../crypto/cipher/types.ts';
import { CIPHERS, MACS, createOpener, createSealer } from '../crypto/cipher/index.ts';
import { EXT_INFO_CLIENT, KEX_METHODS, STRICT_KEX_CLIENT, STRICT_KEX_SERVER } from '../crypto/kex/methods.ts';
import { decodeKexInit, encodeKexInit, guessWasRight, negotiate, type KexInit, type NegotiatedAlgorithms } from './kexinit.ts';
import { clientKexFlow, serverKexFlow, type KexFlow, type KexOutcome } from './kex-flow.ts';
import { deriveKey } from './key-derivation.ts';
import type { PacketLayer } from './packet-layer.ts';
import { DEFAULT_HOST_KEY_ALGORITHMS, DEFAULT_REKEY_BYTES, type AlgorithmPreferences, type TransportOptions } from './transport-options.ts';

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

export abstract class KeyExchangeMachine extends EventEmitter {
  abstract readonly role: 'client' | 'server';
  abstract peerVersion: string;
  protected abstract readonly options: TransportOptions;
  protected abstract readonly preferences: AlgorithmPreferences;
  protected abstract readonly ourVersion: string;
  protected abstract readonly packets: PacketLayer;
  abstract get isClosed(): boolean;
  /** The peer's network address, for the host key policy (CheckHostIP); undefined off sockets. */
  protected abstract get peerAddress(): string | undefined;
  protected abstract debug(message: string): void;
  /** Writes a packet now, past the queue that holds upper-layer messages during an exchange. */
  protected abstract writePacket(payload: Buffer): boolean;
  /** The first exchange has completed in both directions. */
  protected abstract firstKexDone(): void;

  sessionId: Buffer | undefined;
  negotiated: NegotiatedAlgorithms | undefined;
  strictKex = false;
  serverHostKey: PublicKey | undefined;

  protected kex: KexState | undefined;
  protected kexCount = 0;
  /** Upper-layer messages sent during an exchange, written once our NEWKEYS is out (RFC 4253 §7.1). */
  protected readonly queuedDuringKex: Buffer[] = [];
  protected sawNonKexBeforeFirstKexInit = false;
  /** USERAUTH_SUCCESS went by: data-limit re-exchanges may start (see maybeRekey). */
  protected authenticated = false;
  protected rekeyTimer: NodeJS.Timeout | undefined;
  private peerWantsExtInfo = false;

  protected ourKexLists(): KexInit {
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

  protected onKexInit(payload: Buffer): void {
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

  protected onKexMessage(payload: Buffer): void {
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
          const peer = { address: this.peerAddress };
          this.packets.pauseUntil(Promise.resolve(verify(outcome.hostKey, kex.negotiated!.hostKey, peer)).then(() => this.sendNewKeys()));
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
    const { eagerDataWrites } = CIPHERS.get(outgoing.cipher)!;
    this.packets.newOutgoingKeys(createSealer(outgoing), outCompression, this.strictKex, eagerDataWrites);
    kex.pendingOpener = createOpener(incoming);
    kex.pendingDecompression = inCompression;
    kex.sentNewKeys = true;

    if (this.role === 'server' && this.kexCount === 0 && this.peerWantsExtInfo) this.sendExtInfo();
    this.flushQueuedDuringKex();
    if (kex.receivedNewKeys) this.finishKex();
  }

  protected onNewKeys(payload: Buffer): void {
    const kex = this.kex;
    if (!kex?.pendingOpener || kex.receivedNewKeys || payload.length !== 1) {
      throw new ProtocolError('unexpected SSH2_MSG_NEWKEYS');
    }
    this.debug('SSH2_MSG_NEWKEYS received');
    this.packets.newIncomingKeys(kex.pendingOpener, kex.pendingDecompression!, this.strictKex);
    kex.receivedNewKeys = true;
    if (kex.sentNewKeys) this.finishKex();
  }

  private finishKex(): void {
    this.negotiated = this.kex!.negotiated;
    this.kex = undefined;
    this.kexCount++;
    this.scheduleTimedRekey();
    if (this.kexCount === 1) this.firstKexDone();
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
  protected maybeRekey(): void {
    const limit = this.options.rekeyLimitBytes ?? DEFAULT_REKEY_BYTES;
    if (!this.authenticated || this.kexCount === 0 || this.kex) return;
    if (this.packets.bytesWithCurrentKeys > limit) {
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
}

/** Under strict kex, only these may arrive during the first exchange (OpenSSH PROTOCOL §1.10). */
export function isStrictKexMessage(type: number): boolean {
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
