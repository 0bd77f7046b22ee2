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
 */
import { createCipheriv, createSecretKey, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { DecodeError } from '../../wire/errors.ts';
import { checkPacketLength, paddingLength, payloadLength, writePlainPacket } from './framing.ts';
import { poly1305, poly1305Into } from './poly1305.ts';
import { MacError } from './types.ts';
import type { PacketOpener, PacketSealer } from './types.ts';

const BLOCK_SIZE = 8;
const TAG_LENGTH = 16;
/** Encrypting one zero block yields keystream block 0, whose first 32 bytes are the Poly1305 key. */
const ZERO_BLOCK = Buffer.alloc(64);

/** The two ChaCha20 keys of one direction and the per-packet IV built from the sequence number. */
class ChachaKeys {
  private readonly bodyKey: KeyObject;
  private readonly lengthKey: KeyObject;
  /** Counter (bytes 0..7, always 0 here) || nonce (bytes 8..15 = uint64 seq, big-endian). */
  private readonly iv = Buffer.alloc(16);

  constructor(key: Buffer) {
    if (key.length !== 64) throw new RangeError('chacha20-poly1305@openssh.com needs a 64-byte key');
    this.bodyKey = createSecretKey(key.subarray(0, 32));
    this.lengthKey = createSecretKey(key.subarray(32, 64));
  }

  private ivFor(sequence: number): Buffer {
    // Sequence numbers are uint32, so the high half of the 64-bit nonce (bytes 8..11) stays zero.
    this.iv.writeUInt32BE(sequence >>> 0, 12);
    return this.iv;
  }

  /** XORs the 4-byte packet_length field with K_1's keystream for this sequence number. */
  cryptLength(sequence: number, length: Uint8Array): Buffer {
    return createCipheriv('chacha20', this.lengthKey, this.ivFor(sequence)).update(length);
  }

  /**
   * Starts K_2's stream for this sequence number and returns it positioned at block 1, together with the
   * Poly1305 key taken from block 0.
   */
  startBody(sequence: number): { polyKey: Buffer; stream: { update(data: Uint8Array): Buffer } } {
    const stream = createCipheriv('chacha20', this.bodyKey, this.ivFor(sequence));
    const polyKey = stream.update(ZERO_BLOCK).subarray(0, 32);
    return { polyKey, stream };
  }
}

export class ChachaPolySealer implements PacketSealer {
  private readonly keys: ChachaKeys;

  constructor(key: Buffer) {
    this.keys = new ChachaKeys(key);
  }

  seal(sequence: number, payload: Buffer): Buffer {
    const padding = paddingLength(1 + payload.length, BLOCK_SIZE);
    const end = 4 + 1 + payload.length + padding;
    const out = Buffer.allocUnsafe(end + TAG_LENGTH);
    writePlainPacket(out, payload, padding);

    this.keys.cryptLength(sequence, out.subarray(0, 4)).copy(out, 0);
    const { polyKey, stream } = this.keys.startBody(sequence);
    stream.update(out.subarray(4, end)).copy(out, 4);
    poly1305Into(polyKey, out.subarray(0, end), out, end);
    return out;
  }
}

export class ChachaPolyOpener implements PacketOpener {
  readonly headerLength = 4;
  readonly macLength = TAG_LENGTH;
  private readonly keys: ChachaKeys;
  /** packet_length decrypted by packetLength(), checked against the packet handed to open(). */
  private pendingLength = -1;

  constructor(key: Buffer) {
    this.keys = new ChachaKeys(key);
  }

  packetLength(sequence: number, header: Buffer): number {
    // Unauthenticated until open() checks the tag, exactly as OpenSSH's chachapoly_get_length().
    const length = this.keys.cryptLength(sequence, header.subarray(0, 4)).readUInt32BE(0);
    checkPacketLength(length, BLOCK_SIZE, true);
    this.pendingLength = length;
    return length;
  }

  open(sequence: number, packet: Buffer): Buffer {
    const length = this.pendingLength;
    if (length < 0) throw new Error('packetLength() must be called before open() for each packet');
    this.pendingLength = -1;
    const end = 4 + length;
    if (packet.length !== end + TAG_LENGTH) {
      throw new DecodeError(`packet holds ${packet.length} bytes where its length field implies ${end + TAG_LENGTH}`);
    }
    const { polyKey, stream } = this.keys.startBody(sequence);
    const expected = poly1305(polyKey, packet.subarray(0, end));
    if (!timingSafeEqual(expected, packet.subarray(end))) {
      throw new MacError(`chacha20-poly1305 authentication failed for packet ${sequence >>> 0}`);
    }
    const plain = stream.update(packet.subarray(4, end));
    const payload = payloadLength(length, plain[0]!);
    return plain.subarray(1, 1 + payload);
  }
}
