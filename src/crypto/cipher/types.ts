/**
 * The contract between the transport and the packet-protection algorithms (RFC 4253 §6, §6.3, §6.4 and
 * OpenSSH's PROTOCOL / PROTOCOL.chacha20poly1305 for the @openssh.com modes).
 *
 * A PacketSealer owns everything from payload to wire bytes (padding, length field, encryption, MAC), so
 * mode-specific framing (encrypt-then-MAC, AEAD, chacha20-poly1305's separate length key) never leaks into
 * the transport. Compression is applied by the transport before sealing and after opening.
 */

/** Keys for one direction, derived per RFC 4253 §7.2 and cut to the lengths the algorithms declare. */
export interface DirectionKeys {
  cipher: string;
  /** Ignored for AEAD ciphers (aes*-gcm@openssh.com, chacha20-poly1305@openssh.com). */
  mac: string;
  encryptionKey: Buffer;
  iv: Buffer;
  integrityKey: Buffer;
}

/**
 * Seals outgoing packets. The fast path encodes the payload straight into the packet: plaintext(n) gives the
 * buffer with the payload's place at PAYLOAD_OFFSET (5; length and padding fields before it, room for the
 * padding after it), and sealPlaintext() seals it as it lies there. node:crypto cannot encrypt into a
 * given buffer, so the cipher's output is a fresh buffer that goes on the wire as it is, with the clear
 * length field (or nothing, when the length is encrypted) before it and the MAC or tag after it: the pieces
 * are returned to be written in order, and the plaintext buffer is reused by the next packet.
 */
export interface PacketSealer {
  /** The plaintext buffer for a payload of `payloadLength` bytes, valid until the next plaintext() call. */
  plaintext(payloadLength: number): Buffer;
  /**
   * Frames, pads, encrypts and authenticates the payload written at plaintext()[5 .. 5 + payloadLength) as
   * packet number `sequence` (uint32, wraps). The returned buffers never alias the plaintext buffer. A sealer
   * that writes the whole packet into one buffer takes it from `output` when given (and `output` offers one).
   */
  sealPlaintext(sequence: number, payloadLength: number, output?: SealedOutput): Buffer[];
  /** The same for a finished payload (copied into place), as one buffer: for tests and rare callers. */
  seal(sequence: number, payload: Uint8Array): Buffer;
}

/** Where a sealer may put the wire bytes of the packet it seals: reused memory the caller manages. */
export interface SealedOutput {
  /** A buffer of exactly `length` bytes, or undefined for the sealer to allocate one itself. */
  take(length: number): Buffer | undefined;
}

export interface PacketOpener {
  /** Bytes that must be buffered before `packetLength` can be called (cipher block size, or 4). */
  readonly headerLength: number;
  /** Length of the MAC or AEAD tag following each packet. */
  readonly macLength: number;
  /**
   * Returns packet_length from the first `headerLength` bytes of a packet. Called exactly once per packet,
   * before `open`. Throws MacError / DecodeError when the length cannot be valid for this mode.
   */
  packetLength(sequence: number, header: Buffer): number;
  /**
   * Authenticates then decrypts the whole packet (4 + packet_length + macLength bytes, starting with the
   * length field) and returns the payload with padding removed. Throws MacError on a bad MAC or tag. The
   * payload may be a view of `packet` (decrypted in place) or of the cipher's output: the transport owns
   * both, nobody else.
   */
  open(sequence: number, packet: Buffer): Buffer;
}

export interface CipherInfo {
  readonly name: string;
  readonly keyLength: number;
  readonly ivLength: number;
  readonly blockSize: number;
  /** true when the cipher authenticates itself and no separate MAC is negotiated (RFC 5647 §5.1 style). */
  readonly aead: boolean;
  /**
   * Whether data packets sealed with it go to the kernel one by one while the socket takes them
   * (PacketLayer.flushWhileTaken) rather than in one writev per tick (issue 17).
   */
  readonly eagerDataWrites: boolean;
}

export interface MacInfo {
  readonly name: string;
  readonly keyLength: number;
  readonly digestLength: number;
  /** Encrypt-then-MAC (…-etm@openssh.com): the MAC covers the ciphertext and the length stays clear. */
  readonly encryptThenMac: boolean;
}

/** Authentication of an incoming packet failed (RFC 4253 §11.1 reason MAC_ERROR). */
export class MacError extends Error {
  override readonly name = 'MacError';
}
