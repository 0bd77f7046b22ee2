/**
 * The binary packet layout shared by every mode (RFC 4253 §6):
 *
 *   uint32 packet_length   (= 1 + payload + padding)
 *   byte   padding_length  (>= 4)
 *   byte[] payload
 *   byte[] random padding
 *   byte[] mac             (or AEAD tag)
 *
 * What differs between modes is which bytes must be a multiple of the block size: the whole
 * `4 + packet_length` when the length is encrypted with the rest, or only `packet_length` when the length
 * travels in clear (encrypt-then-MAC and AEAD modes, OpenSSH PROTOCOL §1.5 and §1.6).
 */
import { randomFillSync } from 'node:crypto';
import { DecodeError } from '../../wire/errors.ts';
import type { SealedOutput } from './types.ts';

/** RFC 4253 §6: "There MUST be at least four bytes of padding." */
export const MIN_PADDING = 4;
/** RFC 4253 §6: the total must be a multiple of the cipher block size or 8, whichever is larger. */
const MIN_ALIGNMENT = 8;

/**
 * Number of padding bytes for a packet whose aligned region (see module comment) would otherwise be
 * `unpaddedLength` bytes: the least count >= 4 making it a multiple of max(blockSize, 8).
 */
export function paddingLength(unpaddedLength: number, blockSize: number): number {
  const alignment = Math.max(blockSize, MIN_ALIGNMENT);
  let padding = alignment - (unpaddedLength % alignment);
  if (padding < MIN_PADDING) padding += alignment;
  return padding;
}

/** Bytes before the payload in every packet: uint32 packet_length, byte padding_length (RFC 4253 §6). */
export const PAYLOAD_OFFSET = 5;
/** The most padding any mode adds: 4 + (16 - 1) for 16-byte alignment. */
const MAX_PADDING = MIN_PADDING + 15;

/**
 * The plaintext of the packet being sealed, shared by every sealer in the process: sealing is synchronous
 * (plaintext() then sealPlaintext(), nothing in between yields), so one buffer serves every connection and
 * an idle connection holds none. It grows to the largest packet sent, up to KEPT_PLAINTEXT_LIMIT; larger
 * packets get a buffer of their own that is not kept.
 */
let sharedPlaintext = Buffer.allocUnsafe(64 * 1024);
const KEPT_PLAINTEXT_LIMIT = 1024 * 1024;

/**
 * What every sealer shares: the plaintext buffer the payload is encoded into, the length and padding
 * fields, and `seal` for callers holding a finished payload. A mode implements `protect`.
 */
export abstract class SealerBase {
  private plaintextBuffer: Buffer = sharedPlaintext;
  /** The alignment of the mode (8 or 16), see paddingLength. */
  protected abstract readonly blockSize: number;
  /** Whether packet_length is encrypted along with the rest, and so counts towards the alignment. */
  protected abstract readonly lengthEncrypted: boolean;
  /** `none` sends zero padding: random bytes in the clear would only leak RNG output (OpenSSH does the same). */
  protected readonly zeroPadding: boolean = false;

  /**
   * A buffer with room for a payload of `payloadLength` bytes at PAYLOAD_OFFSET and its padding. Write the
   * payload there, then call sealPlaintext() before anything else seals: the buffer is reused.
   */
  plaintext(payloadLength: number): Buffer {
    const needed = PAYLOAD_OFFSET + payloadLength + MAX_PADDING;
    if (needed <= sharedPlaintext.length) {
      this.plaintextBuffer = sharedPlaintext;
    } else if (needed <= KEPT_PLAINTEXT_LIMIT) {
      sharedPlaintext = Buffer.allocUnsafe(Math.min(KEPT_PLAINTEXT_LIMIT, Math.max(needed, 2 * sharedPlaintext.length)));
      this.plaintextBuffer = sharedPlaintext;
    } else {
      this.plaintextBuffer = Buffer.allocUnsafe(needed);
    }
    return this.plaintextBuffer;
  }

  /**
   * Frames, pads, encrypts and authenticates the payload written into plaintext() as packet `sequence`.
   * Returns the wire bytes as buffers to write in order; none aliases the plaintext buffer.
   */
  sealPlaintext(sequence: number, payloadLength: number, output?: SealedOutput): Buffer[] {
    const packet = this.plaintextBuffer;
    const alignedStart = this.lengthEncrypted ? 0 : 4;
    const padding = paddingLength(PAYLOAD_OFFSET - alignedStart + payloadLength, this.blockSize);
    const end = PAYLOAD_OFFSET + payloadLength + padding;
    if (end > packet.length) throw new RangeError('sealPlaintext() without plaintext() for this payload');
    packet.writeUInt32BE(end - 4, 0);
    packet[4] = padding;
    const paddingStart = end - padding;
    if (this.zeroPadding) packet.fill(0, paddingStart, end);
    else fillRandomPadding(packet, paddingStart, padding);
    return this.protect(sequence, packet.subarray(0, end), output);
  }

  /** Seals a finished payload (a copy into the plaintext buffer): one buffer holding the whole packet. */
  seal(sequence: number, payload: Uint8Array): Buffer {
    this.plaintext(payload.length).set(payload, PAYLOAD_OFFSET);
    const pieces = this.sealPlaintext(sequence, payload.length);
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  }

  /**
   * Encrypts and authenticates `packet` (the framed plaintext, length field first; a view of the reused
   * plaintext buffer) and returns the wire bytes, none of them aliasing `packet`; a mode that writes them
   * into one buffer may take it from `output`.
   */
  protected abstract protect(sequence: number, packet: Buffer, output?: SealedOutput): Buffer[];
}

/** OpenSSH's PACKET_MAX_SIZE: no packet_length above this is accepted, so input buffering stays bounded. */
export const MAX_PACKET_LENGTH = 256 * 1024;

/**
 * Rejects a packet_length that no correct peer would send in this mode, as OpenSSH's packet.c does before
 * reading the body: out of range ("Bad packet length N.", its wording), or not a multiple of the block size
 * over the region that is aligned.
 */
export function checkPacketLength(packetLength: number, blockSize: number, lengthInClear: boolean): void {
  if (packetLength < 1 + MIN_PADDING || packetLength > MAX_PACKET_LENGTH) {
    throw new DecodeError(`Bad packet length ${packetLength}.`);
  }
  const alignment = Math.max(blockSize, MIN_ALIGNMENT);
  const aligned = lengthInClear ? packetLength : 4 + packetLength;
  if (aligned % alignment !== 0) {
    throw new DecodeError(`packet_length ${packetLength} is not aligned to the ${alignment}-byte block size`);
  }
}

/** The packet handed to open() must be exactly what its length field and the MAC or tag add up to. */
export function expectPacketSize(packet: Buffer, expected: number): void {
  if (packet.length !== expected) {
    throw new DecodeError(`packet holds ${packet.length} bytes where its length field implies ${expected}`);
  }
}

/**
 * The packet_length an opener decoded in packetLength(), checked, and taken back by the open() that follows,
 * once per packet: the packet handed to open() must be exactly the size that length implies.
 */
export class PendingLength {
  private length = -1;

  keep(length: number, blockSize: number, lengthInClear: boolean): number {
    checkPacketLength(length, blockSize, lengthInClear);
    this.length = length;
    return length;
  }

  take(packet: Buffer, macLength: number): number {
    const length = this.length;
    if (length < 0) throw new Error('packetLength() must be called before open() for each packet');
    this.length = -1;
    expectPacketSize(packet, 4 + length + macLength);
    return length;
  }
}

/**
 * Validates padding_length against packet_length (RFC 4253 §6) after authentication and returns the payload
 * length.
 */
export function payloadLength(packetLength: number, padding: number): number {
  if (padding < MIN_PADDING) throw new DecodeError(`padding_length ${padding} is below the minimum of 4`);
  if (padding >= packetLength) {
    throw new DecodeError(`padding_length ${padding} does not fit in packet_length ${packetLength}`);
  }
  return packetLength - 1 - padding;
}

// Padding needs a few random bytes per packet; one RNG call per 4 KiB instead of per packet keeps the
// native call off the per-packet path. Each byte is handed out once.
const RANDOM_POOL_SIZE = 4096;
const randomPool = Buffer.allocUnsafe(RANDOM_POOL_SIZE);
let randomPoolOffset = RANDOM_POOL_SIZE;

function fillRandomPadding(out: Buffer, start: number, count: number): void {
  if (randomPoolOffset + count > RANDOM_POOL_SIZE) {
    randomFillSync(randomPool);
    randomPoolOffset = 0;
  }
  randomPool.copy(out, start, randomPoolOffset, randomPoolOffset + count);
  randomPoolOffset += count;
}

/** The packet sequence number as the uint32 big-endian prefix that MACs cover (RFC 4253 §6.4). */
export function writeSequence(target: Buffer, sequence: number): Buffer {
  target.writeUInt32BE(sequence >>> 0, 0);
  return target;
}
