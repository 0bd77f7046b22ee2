/**
 * aes{128,192,256}-ctr (RFC 4344 §4) combined with an HMAC-SHA2 MAC (RFC 6668), in both layouts:
 *
 *  - encrypt-and-MAC (RFC 4253 §6.4): mac = HMAC(key, uint32 seq || plaintext packet); the whole packet,
 *    length included, is encrypted, so the receiver decrypts the first block to learn the length.
 *  - encrypt-then-MAC (…-etm@openssh.com, OpenSSH PROTOCOL §1.5): the length stays in clear, the rest is
 *    encrypted, and mac = HMAC(key, uint32 seq || length || ciphertext), checked before any decryption.
 *
 * CTR's keystream runs on across packets (RFC 4344 §4: the counter is not reset per packet), so each
 * direction keeps one long-lived OpenSSL context.
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import type { Cipheriv, Decipheriv, KeyObject } from 'node:crypto';
import { SealerBase, checkPacketLength, expectPacketSize, payloadLength, writeSequence } from './framing.ts';
import { MacError } from './types.ts';
import type { PacketOpener, PacketSealer } from './types.ts';

const BLOCK_SIZE = 16;

/** HMAC over `uint32 sequence || data…` with the key held as a KeyObject (cheaper per createHmac call). */
class SequencedHmac {
  readonly length: number;
  private readonly digest: string;
  private readonly key: KeyObject;
  private readonly sequenceBytes = Buffer.alloc(4);

  constructor(digest: string, key: Buffer, length: number) {
    this.digest = digest;
    this.key = createSecretKey(key);
    this.length = length;
  }

  compute(sequence: number, data: Uint8Array, more?: Uint8Array): Buffer {
    const hmac = createHmac(this.digest, this.key).update(writeSequence(this.sequenceBytes, sequence)).update(data);
    if (more !== undefined) hmac.update(more);
    return hmac.digest();
  }

  verify(sequence: number, received: Uint8Array, data: Uint8Array, more?: Uint8Array): void {
    if (!timingSafeEqual(this.compute(sequence, data, more), received)) {
      throw new MacError(`MAC verification failed for packet ${sequence >>> 0}`);
    }
  }
}

export interface CtrHmacKeys {
  /** OpenSSL cipher name: aes-128-ctr, aes-192-ctr or aes-256-ctr. */
  algorithm: string;
  encryptionKey: Buffer;
  iv: Buffer;
  /** node:crypto digest name: sha256 or sha512. */
  digest: string;
  integrityKey: Buffer;
  macLength: number;
  encryptThenMac: boolean;
}

export class CtrHmacSealer extends SealerBase implements PacketSealer {
  protected readonly blockSize = BLOCK_SIZE;
  protected readonly lengthEncrypted: boolean;
  private readonly cipher: Cipheriv;
  private readonly mac: SequencedHmac;
  private readonly encryptThenMac: boolean;

  constructor(keys: CtrHmacKeys) {
    super();
    this.cipher = createCipheriv(keys.algorithm, keys.encryptionKey, keys.iv);
    this.mac = new SequencedHmac(keys.digest, keys.integrityKey, keys.macLength);
    this.encryptThenMac = keys.encryptThenMac;
    // With EtM only padding_length || payload || padding is aligned; otherwise the length field is too.
    this.lengthEncrypted = !keys.encryptThenMac;
  }

  /** Wire pieces: [clear length,] ciphertext, MAC. */
  protected protect(sequence: number, packet: Buffer): Buffer[] {
    if (this.encryptThenMac) {
      const length = Buffer.from(packet.subarray(0, 4));
      const body = this.cipher.update(packet.subarray(4));
      return [length, body, this.mac.compute(sequence, length, body)];
    }
    const tag = this.mac.compute(sequence, packet);
    return [this.cipher.update(packet), tag];
  }
}

export class CtrHmacOpener implements PacketOpener {
  readonly headerLength: number;
  readonly macLength: number;
  private readonly decipher: Decipheriv;
  private readonly mac: SequencedHmac;
  private readonly encryptThenMac: boolean;
  /** encrypt-and-MAC only: the first block, decrypted by packetLength() to read the length. */
  private firstBlock: Buffer | null = null;

  constructor(keys: CtrHmacKeys) {
    this.decipher = createDecipheriv(keys.algorithm, keys.encryptionKey, keys.iv);
    this.mac = new SequencedHmac(keys.digest, keys.integrityKey, keys.macLength);
    this.encryptThenMac = keys.encryptThenMac;
    this.macLength = keys.macLength;
    this.headerLength = keys.encryptThenMac ? 4 : BLOCK_SIZE;
  }

  packetLength(_sequence: number, header: Buffer): number {
    let length: number;
    if (this.encryptThenMac) {
      length = header.readUInt32BE(0);
    } else {
      // Decrypting advances the CTR stream, so the block is kept for open() rather than decrypted twice.
      this.firstBlock = this.decipher.update(header.subarray(0, BLOCK_SIZE));
      length = this.firstBlock.readUInt32BE(0);
    }
    checkPacketLength(length, BLOCK_SIZE, this.encryptThenMac);
    return length;
  }

  open(sequence: number, packet: Buffer): Buffer {
    return this.encryptThenMac ? this.openEncryptThenMac(sequence, packet) : this.openEncryptAndMac(sequence, packet);
  }

  private openEncryptThenMac(sequence: number, packet: Buffer): Buffer {
    const length = packet.readUInt32BE(0);
    const end = 4 + length;
    expectPacketSize(packet, end + this.macLength);
    this.mac.verify(sequence, packet.subarray(end), packet.subarray(0, end));
    const plain = this.decipher.update(packet.subarray(4, end));
    const payload = payloadLength(length, plain[0]!);
    return plain.subarray(1, 1 + payload);
  }

  private openEncryptAndMac(sequence: number, packet: Buffer): Buffer {
    const first = this.firstBlock;
    if (first === null) throw new Error('packetLength() must be called before open() for each packet');
    this.firstBlock = null;
    const length = first.readUInt32BE(0);
    const end = 4 + length;
    expectPacketSize(packet, end + this.macLength);
    const rest = this.decipher.update(packet.subarray(BLOCK_SIZE, end));
    this.mac.verify(sequence, packet.subarray(end), first, rest);

    const payload = payloadLength(length, first[4]!);
    // Reassemble the payload across the first block (from offset 5) and the rest of the packet.
    const out = Buffer.allocUnsafe(payload);
    const fromFirst = Math.min(payload, BLOCK_SIZE - 5);
    first.copy(out, 0, 5, 5 + fromFirst);
    if (payload > fromFirst) rest.copy(out, fromFirst, 0, payload - fromFirst);
    return out;
  }
}
