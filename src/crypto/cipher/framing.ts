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

/**
 * Writes the plaintext packet (length, padding length, payload, padding) at the start of `out`, which must
 * hold at least 4 + packetLength bytes. Padding is random unless `zeroPadding` (the `none` cipher, where
 * OpenSSH also sends zeros because random bytes in the clear would only leak RNG output).
 */
export function writePlainPacket(out: Buffer, payload: Uint8Array, padding: number, zeroPadding = false): void {
  const packetLength = 1 + payload.length + padding;
  out.writeUInt32BE(packetLength, 0);
  out[4] = padding;
  out.set(payload, 5);
  const paddingStart = 5 + payload.length;
  if (zeroPadding) out.fill(0, paddingStart, paddingStart + padding);
  else fillRandomPadding(out, paddingStart, padding);
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
