/**
 * The state before the first key exchange completes (RFC 4253 §6.3 "none", §6.4 "none"): packets are framed
 * and padded to 8 bytes but neither encrypted nor authenticated.
 */
import { DecodeError } from '../../wire/errors.ts';
import { SealerBase, checkPacketLength, payloadLength } from './framing.ts';
import type { PacketOpener, PacketSealer } from './types.ts';

const BLOCK_SIZE = 8;

export class NoneSealer extends SealerBase implements PacketSealer {
  protected readonly blockSize = BLOCK_SIZE;
  protected readonly lengthEncrypted = true;
  protected override readonly zeroPadding = true;

  protected protect(_sequence: number, packet: Buffer): Buffer[] {
    return [Buffer.from(packet)];
  }
}

export class NoneOpener implements PacketOpener {
  readonly headerLength = 4;
  readonly macLength = 0;

  packetLength(_sequence: number, header: Buffer): number {
    const length = header.readUInt32BE(0);
    checkPacketLength(length, BLOCK_SIZE, false);
    return length;
  }

  open(_sequence: number, packet: Buffer): Buffer {
    const length = packet.readUInt32BE(0);
    if (packet.length !== 4 + length) {
      throw new DecodeError(`packet holds ${packet.length} bytes, packet_length says ${4 + length}`);
    }
    const payload = payloadLength(length, packet[4]!);
    // Copy so the payload never aliases the transport's receive buffer, as with every other mode.
    return Buffer.from(packet.subarray(5, 5 + payload));
  }
}
