/**
 * chacha20-poly1305@openssh.com, as specified by OpenSSH's PROTOCOL.chacha20poly1305:
 *
 *  - The 64-byte key is split: K_2 = bytes 0..31 encrypts the packet body, K_1 = bytes 32..63 encrypts only
 *    the 4-byte packet_length. Both use the packet sequence number, as a 64-bit big-endian value, as nonce.
 *  - The Poly1305 key is the first 32 bytes of K_2's keystream block 0; the body is encrypted with K_2 from
 *    block counter 1; the tag is Poly1305 over the encrypted length || encrypted body (no AEAD padding or
 *    length block, unlike RFC 8439 §2.8).
 *  - Only padding_length || payload || padding is aligned, to 8 bytes (OpenSSH's block size for this cipher).
 *
 * OpenSSH uses DJB's original ChaCha20: 64-bit block counter in state words 12–13, 64-bit nonce in words
 * 14–15, each loaded little-endian from its 8 bytes. OpenSSL's "chacha20" takes a 16-byte IV that it loads
 * as words 12–15 in the same little-endian way (and carries the counter from word 12 into word 13), so the
 * IV is counter (8 bytes little-endian) || nonce (the 8 bytes of uint64 seq, big-endian) — exactly what
 * OpenSSH's own libcrypto build (cipher-chachapoly-libcrypto.c) passes. RFC 8439 §A.4 vectors #2/#3 (nonce
 * 00..02, counter 0) confirm this byte layout for sequence number 2.
 *
 * Per packet, one OpenSSL context encrypts or decrypts the body (from block 1, the IV's counter set to 1);
 * the two block-0 keystreams (length and Poly1305 key) come from ChachaBlock, which costs less than a
 * context each, and so does a small body.
 */
import { createCipheriv, createDecipheriv, createSecretKey, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { ChachaBlock } from './chacha20-block.ts';
import { PendingLength, SealerBase, payloadLength } from './framing.ts';
import { poly1305Into, poly1305PairInto } from './poly1305.ts';
import { MacError } from './types.ts';
import type { PacketOpener, PacketSealer } from './types.ts';

const BLOCK_SIZE = 8;
const TAG_LENGTH = 16;
/**
 * Bodies up to this size are encrypted by ChachaBlock rather than an OpenSSL context: a context costs as much
 * as ~10–30 blocks here (bench/packet-path.ts), and small packets (acknowledgements, window adjusts,
 * keystrokes, echoes) are most of an interactive session's.
 */
const SMALL_BODY = 512;

/** The two ChaCha20 keys of one direction, with the per-packet keystream pieces they yield. */
class ChachaKeys {
  private readonly bodyKey: KeyObject;
  private readonly lengthBlock: ChachaBlock;
  private readonly bodyBlock: ChachaBlock;
  /** Counter (bytes 0..7: 1, little-endian, the block after the Poly1305 key's) || nonce (uint64 seq BE). */
  private readonly iv = Buffer.alloc(16);
  /** The Poly1305 key of the packet in hand. */
  readonly polyKey = Buffer.alloc(32);

  constructor(key: Buffer) {
    if (key.length !== 64) throw new RangeError('chacha20-poly1305@openssh.com needs a 64-byte key');
    this.bodyKey = createSecretKey(key.subarray(0, 32));
    this.bodyBlock = new ChachaBlock(key.subarray(0, 32));
    this.lengthBlock = new ChachaBlock(key.subarray(32, 64));
    this.iv[0] = 1;
  }

  /** XORs the 4-byte packet_length field `from` with K_1's keystream for this sequence number into `to`. */
  cryptLength(sequence: number, from: Uint8Array, to: Uint8Array): void {
    const word = this.lengthBlock.blockZero(sequence)[0]!;
    to[0] = from[0]! ^ (word & 0xff);
    to[1] = from[1]! ^ ((word >>> 8) & 0xff);
    to[2] = from[2]! ^ ((word >>> 16) & 0xff);
    to[3] = from[3]! ^ (word >>> 24);
  }

  /** Sets polyKey from K_2's block 0 for this sequence number and returns the IV for the body (block 1 on). */
  startBody(sequence: number): Buffer {
    this.bodyBlock.blockZero(sequence);
    this.bodyBlock.writeBytes(this.polyKey, 0, 8);
    // Sequence numbers are uint32, so the high half of the 64-bit nonce (bytes 8..11) stays zero.
    this.iv.writeUInt32BE(sequence >>> 0, 12);
    return this.iv;
  }

  /** ChaCha20 is its own inverse: the body's keystream from block 1, XORed (after startBody for `sequence`). */
  cryptBody(sequence: number, iv: Buffer, input: Uint8Array, decrypt: boolean): Buffer {
    if (input.length <= SMALL_BODY) {
      const output = Buffer.allocUnsafe(input.length);
      this.bodyBlock.xorFromBlockOne(sequence, input, 0, output, 0, input.length);
      return output;
    }
    return (decrypt ? createDecipheriv : createCipheriv)('chacha20', this.bodyKey, iv).update(input);
  }
}

export class ChachaPolySealer extends SealerBase implements PacketSealer {
  protected readonly blockSize = BLOCK_SIZE;
  protected readonly lengthEncrypted = false;
  private readonly keys: ChachaKeys;

  constructor(key: Buffer) {
    super();
    this.keys = new ChachaKeys(key);
  }

  /** Wire pieces: encrypted length, encrypted body, tag over both. */
  protected protect(sequence: number, packet: Buffer): Buffer[] {
    // One small allocation (from Node's pool) holds the length and the tag.
    const framing = Buffer.allocUnsafe(4 + TAG_LENGTH);
    const length = framing.subarray(0, 4);
    const tag = framing.subarray(4);
    this.keys.cryptLength(sequence, packet, length);
    const iv = this.keys.startBody(sequence);
    const body = this.keys.cryptBody(sequence, iv, packet.subarray(4), false);
    poly1305PairInto(this.keys.polyKey, length, body, tag, 0);
    return [length, body, tag];
  }
}

export class ChachaPolyOpener implements PacketOpener {
  readonly headerLength = 4;
  readonly macLength = TAG_LENGTH;
  private readonly keys: ChachaKeys;
  private readonly expectedTag = Buffer.alloc(TAG_LENGTH);
  private readonly lengthBytes = Buffer.alloc(4);
  /** packet_length decrypted by packetLength(), checked against the packet handed to open(). */
  private readonly pending = new PendingLength();

  constructor(key: Buffer) {
    this.keys = new ChachaKeys(key);
  }

  packetLength(sequence: number, header: Buffer): number {
    // Unauthenticated until open() checks the tag, exactly as OpenSSH's chachapoly_get_length().
    this.keys.cryptLength(sequence, header, this.lengthBytes);
    return this.pending.keep(this.lengthBytes.readUInt32BE(0), BLOCK_SIZE, true);
  }

  open(sequence: number, packet: Buffer): Buffer {
    const length = this.pending.take(packet, TAG_LENGTH);
    const end = 4 + length;
    const iv = this.keys.startBody(sequence);
    poly1305Into(this.keys.polyKey, packet.subarray(0, end), this.expectedTag, 0);
    if (!timingSafeEqual(this.expectedTag, packet.subarray(end))) {
      throw new MacError(`chacha20-poly1305 authentication failed for packet ${sequence >>> 0}`);
    }
    const plain = this.keys.cryptBody(sequence, iv, packet.subarray(4, end), true);
    const payload = payloadLength(length, plain[0]!);
    return plain.subarray(1, 1 + payload);
  }
}
