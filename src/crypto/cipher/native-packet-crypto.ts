/**
 * Every cipher mode through native/packet-crypto: the same OpenSSL primitives node:crypto wraps, used without
 * a context (or an HMAC) per packet, with Poly1305 from OpenSSL rather than WebAssembly, sealing into one
 * buffer per packet and opening in place (issue 17: per packet, node:crypto cost a context, one to three
 * fresh buffers and, for chacha20-poly1305, a WebAssembly call per direction). The wire formats are those of
 * chacha20-poly1305.ts, aes-gcm.ts and aes-ctr-hmac.ts, which remain the fallback when the addon is not
 * built; the framing (padding, length checks) is shared with them through framing.ts.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findNativeAddon, requireNativeAddon } from '../native-addon.ts';
import { PendingLength, SealerBase, payloadLength } from './framing.ts';
import { MacError } from './types.ts';
import type { CtrHmacKeys } from './aes-ctr-hmac.ts';
import type { PacketOpener, PacketSealer, SealedOutput } from './types.ts';

const TAG_LENGTH = 16;

interface Handle {
  readonly __packetCrypto: unique symbol;
}

/** native/packet-crypto/packet_crypto.c */
export interface PacketCryptoAddon {
  chachaPoly(key: Buffer, encrypt: boolean): Handle;
  chachaPolyLength(handle: Handle, sequence: number, header: Buffer): number;
  chachaPolySeal(handle: Handle, sequence: number, packet: Buffer, out: Buffer): void;
  chachaPolyOpen(handle: Handle, sequence: number, packet: Buffer): boolean;
  gcm(key: Buffer, iv: Buffer, encrypt: boolean): Handle;
  gcmSeal(handle: Handle, packet: Buffer, out: Buffer): void;
  gcmOpen(handle: Handle, packet: Buffer): boolean;
  ctrHmac(key: Buffer, iv: Buffer, macKey: Buffer, sha512: boolean, encryptThenMac: boolean, encrypt: boolean): Handle;
  ctrHmacLength(handle: Handle, header: Buffer): number;
  ctrHmacSeal(handle: Handle, sequence: number, packet: Buffer, out: Buffer): void;
  ctrHmacOpen(handle: Handle, sequence: number, packet: Buffer): boolean;
}

let addon: PacketCryptoAddon | null | undefined;

/** The addon, or undefined when it is not built (no compiler at install time) or cannot load. */
export function packetCrypto(): PacketCryptoAddon | undefined {
  if (addon === undefined) {
    const path = findNativeAddon('packet-crypto', 'packet_crypto.node', dirname(fileURLToPath(import.meta.url)));
    try {
      addon = path === undefined ? null : requireNativeAddon<PacketCryptoAddon>(path);
    } catch {
      addon = null;
    }
  }
  return addon ?? undefined;
}

/** Every mode sends the packet followed by its tag or MAC, written by the addon into one buffer. */
abstract class NativeSealer extends SealerBase implements PacketSealer {
  protected readonly lengthEncrypted: boolean = false;
  protected readonly native: PacketCryptoAddon;
  protected readonly handle: Handle;
  private readonly macLength: number;

  constructor(native: PacketCryptoAddon, handle: Handle, macLength = TAG_LENGTH) {
    super();
    this.native = native;
    this.handle = handle;
    this.macLength = macLength;
  }

  protected protect(sequence: number, packet: Buffer, output?: SealedOutput): Buffer[] {
    const length = packet.length + this.macLength;
    const out = output?.take(length) ?? Buffer.allocUnsafe(length);
    this.sealInto(sequence, packet, out);
    return [out];
  }

  protected abstract sealInto(sequence: number, packet: Buffer, out: Buffer): void;
}

/** Opening checks the tag or MAC (encrypt-and-MAC: after decrypting) and decrypts the packet where it lies. */
abstract class NativeOpener implements PacketOpener {
  readonly headerLength: number = 4;
  readonly macLength: number = TAG_LENGTH;
  protected readonly native: PacketCryptoAddon;
  protected readonly handle: Handle;
  private readonly pending = new PendingLength();
  protected abstract readonly blockSize: number;
  /** Whether packet_length travels in clear (and so is left out of the alignment). */
  protected readonly lengthInClear: boolean = true;

  constructor(native: PacketCryptoAddon, handle: Handle) {
    this.native = native;
    this.handle = handle;
  }

  packetLength(sequence: number, header: Buffer): number {
    return this.pending.keep(this.readLength(sequence, header), this.blockSize, this.lengthInClear);
  }

  open(sequence: number, packet: Buffer): Buffer {
    const length = this.pending.take(packet, this.macLength);
    if (!this.openInPlace(sequence, packet)) throw new MacError(this.failure(sequence));
    return packet.subarray(5, 5 + payloadLength(length, packet[4]!));
  }

  protected abstract readLength(sequence: number, header: Buffer): number;
  protected abstract openInPlace(sequence: number, packet: Buffer): boolean;
  protected abstract failure(sequence: number): string;
}

/** PROTOCOL.chacha20poly1305; only padding_length || payload || padding is aligned, to 8 bytes. */
export class NativeChachaPolySealer extends NativeSealer {
  protected readonly blockSize = 8;

  constructor(native: PacketCryptoAddon, key: Buffer) {
    super(native, native.chachaPoly(key, true));
  }

  protected sealInto(sequence: number, packet: Buffer, out: Buffer): void {
    this.native.chachaPolySeal(this.handle, sequence, packet, out);
  }
}

export class NativeChachaPolyOpener extends NativeOpener {
  protected readonly blockSize = 8;

  constructor(native: PacketCryptoAddon, key: Buffer) {
    super(native, native.chachaPoly(key, false));
  }

  // Unauthenticated until open() checks the tag, as OpenSSH's chachapoly_get_length().
  protected readLength(sequence: number, header: Buffer): number {
    return this.native.chachaPolyLength(this.handle, sequence, header);
  }

  protected openInPlace(sequence: number, packet: Buffer): boolean {
    return this.native.chachaPolyOpen(this.handle, sequence, packet);
  }

  protected failure(sequence: number): string {
    return `chacha20-poly1305 authentication failed for packet ${sequence >>> 0}`;
  }
}

/** RFC 5647 §7.3 with OpenSSH PROTOCOL §1.6: the clear packet_length is the AAD, the nonce counts packets. */
export class NativeGcmSealer extends NativeSealer {
  protected readonly blockSize = 16;

  constructor(native: PacketCryptoAddon, key: Buffer, iv: Buffer) {
    super(native, native.gcm(key, iv, true));
  }

  protected sealInto(_sequence: number, packet: Buffer, out: Buffer): void {
    this.native.gcmSeal(this.handle, packet, out);
  }
}

export class NativeGcmOpener extends NativeOpener {
  protected readonly blockSize = 16;

  constructor(native: PacketCryptoAddon, key: Buffer, iv: Buffer) {
    super(native, native.gcm(key, iv, false));
  }

  protected readLength(_sequence: number, header: Buffer): number {
    return header.readUInt32BE(0);
  }

  protected openInPlace(_sequence: number, packet: Buffer): boolean {
    return this.native.gcmOpen(this.handle, packet);
  }

  protected failure(sequence: number): string {
    return `AES-GCM authentication failed for packet ${sequence >>> 0}`;
  }
}

function ctrHmac(native: PacketCryptoAddon, keys: CtrHmacKeys, encrypt: boolean): Handle {
  return native.ctrHmac(keys.encryptionKey, keys.iv, keys.integrityKey, keys.digest === 'sha512', keys.encryptThenMac, encrypt);
}

/** RFC 4344 §4 with RFC 6668; encrypt-then-MAC as OpenSSH PROTOCOL §1.5, encrypt-and-MAC as RFC 4253 §6.4. */
export class NativeCtrHmacSealer extends NativeSealer {
  protected readonly blockSize = 16;
  protected override readonly lengthEncrypted: boolean;

  constructor(native: PacketCryptoAddon, keys: CtrHmacKeys) {
    super(native, ctrHmac(native, keys, true), keys.macLength);
    this.lengthEncrypted = !keys.encryptThenMac;
  }

  protected sealInto(sequence: number, packet: Buffer, out: Buffer): void {
    this.native.ctrHmacSeal(this.handle, sequence, packet, out);
  }
}

export class NativeCtrHmacOpener extends NativeOpener {
  protected readonly blockSize = 16;
  override readonly headerLength: number;
  override readonly macLength: number;
  protected override readonly lengthInClear: boolean;

  constructor(native: PacketCryptoAddon, keys: CtrHmacKeys) {
    super(native, ctrHmac(native, keys, false));
    this.macLength = keys.macLength;
    this.lengthInClear = keys.encryptThenMac;
    // Encrypt-and-MAC: the length is inside the first cipher block, which must be decrypted to read it.
    this.headerLength = keys.encryptThenMac ? 4 : 16;
  }

  protected readLength(_sequence: number, header: Buffer): number {
    return this.lengthInClear ? header.readUInt32BE(0) : this.native.ctrHmacLength(this.handle, header);
  }

  protected openInPlace(sequence: number, packet: Buffer): boolean {
    return this.native.ctrHmacOpen(this.handle, sequence, packet);
  }

  protected failure(sequence: number): string {
    return `MAC verification failed for packet ${sequence >>> 0}`;
  }
}
