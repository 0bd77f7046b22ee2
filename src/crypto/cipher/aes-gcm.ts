/**
 * aes128-gcm@openssh.com and aes256-gcm@openssh.com: RFC 5647 as amended by OpenSSH PROTOCOL §1.6.
 *
 *  - packet_length travels in clear and is the AAD; padding_length || payload || padding is encrypted and
 *    aligned to 16 bytes; the 16-byte tag follows (RFC 5647 §7.3).
 *  - The 12-byte nonce is the derived IV: a 4-byte fixed field and an 8-byte big-endian invocation counter,
 *    incremented after every packet (RFC 5647 §7.1). The SSH sequence number takes no part in it, so a
 *    dropped or reordered packet fails authentication through the counter instead.
 *  - The negotiated MAC is ignored (OpenSSH PROTOCOL §1.6).
 *
 * GCM contexts cannot be re-nonced, so each packet gets a fresh one; the key stays a KeyObject.
 */
import { createCipheriv, createDecipheriv, createSecretKey } from 'node:crypto';
import type { CipherGCMTypes, KeyObject } from 'node:crypto';
import { SealerBase, checkPacketLength, expectPacketSize, payloadLength } from './framing.ts';
import { MacError } from './types.ts';
import type { PacketOpener, PacketSealer } from './types.ts';

const BLOCK_SIZE = 16;
const TAG_LENGTH = 16;
const NONCE_LENGTH = 12;

/** The per-direction GCM key and nonce, with the RFC 5647 §7.1 counter increment. */
class GcmState {
  readonly algorithm: CipherGCMTypes;
  readonly key: KeyObject;
  readonly nonce: Buffer;

  constructor(keyLength: number, key: Buffer, iv: Buffer) {
    if (iv.length !== NONCE_LENGTH) throw new RangeError(`AES-GCM needs a ${NONCE_LENGTH}-byte IV`);
    this.algorithm = keyLength === 32 ? 'aes-256-gcm' : 'aes-128-gcm';
    this.key = createSecretKey(key);
    this.nonce = Buffer.from(iv);
  }

  /** invocation_counter += 1 over the last 8 bytes, big-endian, wrapping (OpenSSH EVP_CTRL_GCM_IV_GEN). */
  advance(): void {
    for (let i = NONCE_LENGTH - 1; i >= 4; i--) {
      this.nonce[i] = (this.nonce[i]! + 1) & 0xff;
      if (this.nonce[i] !== 0) return;
    }
  }
}

export class AesGcmSealer extends SealerBase implements PacketSealer {
  protected readonly blockSize = BLOCK_SIZE;
  protected readonly lengthEncrypted = false;
  private readonly state: GcmState;

  constructor(keyLength: number, key: Buffer, iv: Buffer) {
    super();
    this.state = new GcmState(keyLength, key, iv);
  }

  /** Wire pieces: packet_length (clear, the AAD), the encrypted rest, the tag (RFC 5647 §7.3). */
  protected protect(_sequence: number, packet: Buffer): Buffer[] {
    const { algorithm, key, nonce } = this.state;
    const cipher = createCipheriv(algorithm, key, nonce, { authTagLength: TAG_LENGTH });
    const length = Buffer.from(packet.subarray(0, 4));
    cipher.setAAD(length);
    const body = cipher.update(packet.subarray(4));
    cipher.final();
    this.state.advance();
    return [length, body, cipher.getAuthTag()];
  }
}

export class AesGcmOpener implements PacketOpener {
  readonly headerLength = 4;
  readonly macLength = TAG_LENGTH;
  private readonly state: GcmState;

  constructor(keyLength: number, key: Buffer, iv: Buffer) {
    this.state = new GcmState(keyLength, key, iv);
  }

  packetLength(_sequence: number, header: Buffer): number {
    const length = header.readUInt32BE(0);
    checkPacketLength(length, BLOCK_SIZE, true);
    return length;
  }

  open(sequence: number, packet: Buffer): Buffer {
    const length = packet.readUInt32BE(0);
    const end = 4 + length;
    expectPacketSize(packet, end + TAG_LENGTH);
    const { algorithm, key, nonce } = this.state;
    const decipher = createDecipheriv(algorithm, key, nonce, { authTagLength: TAG_LENGTH });
    decipher.setAAD(packet.subarray(0, 4));
    decipher.setAuthTag(packet.subarray(end));
    const plain = decipher.update(packet.subarray(4, end));
    try {
      decipher.final();
    } catch {
      throw new MacError(`AES-GCM authentication failed for packet ${sequence >>> 0}`);
    }
    this.state.advance();
    const payload = payloadLength(length, plain[0]!);
    return plain.subarray(1, 1 + payload);
  }
}
