/**
 * Packet protection for the transport: pick a sealer/opener pair from negotiated names and derived keys.
 * The transport sees only the PacketSealer / PacketOpener contract of ./types.ts.
 */
import { AesGcmOpener, AesGcmSealer } from './aes-gcm.ts';
import { CtrHmacOpener, CtrHmacSealer } from './aes-ctr-hmac.ts';
import type { CtrHmacKeys } from './aes-ctr-hmac.ts';
import { ChachaPolyOpener, ChachaPolySealer } from './chacha20-poly1305.ts';
import {
  NativeChachaPolyOpener,
  NativeChachaPolySealer,
  NativeCtrHmacOpener,
  NativeCtrHmacSealer,
  NativeGcmOpener,
  NativeGcmSealer,
  packetCrypto,
} from './native-packet-crypto.ts';
import { NoneOpener, NoneSealer } from './none.ts';
import { CIPHERS, MACS, hmacDigest } from './registry.ts';
import type { CipherInfo, DirectionKeys, PacketOpener, PacketSealer } from './types.ts';

export { CIPHERS, MACS, DEFAULT_CIPHERS, DEFAULT_MACS } from './registry.ts';
export { MacError } from './types.ts';
export type { CipherInfo, DirectionKeys, MacInfo, PacketOpener, PacketSealer } from './types.ts';
export { poly1305 } from './poly1305.ts';
export { PAYLOAD_OFFSET } from './framing.ts';

/** The pre-key-exchange sealer: 8-byte framing, no encryption, no MAC. */
export function createNoneSealer(): PacketSealer {
  return new NoneSealer();
}

/** The pre-key-exchange opener: 8-byte framing, no decryption, no MAC. */
export function createNoneOpener(): PacketOpener {
  return new NoneOpener();
}

/**
 * Builds the outgoing protection for one direction. Throws RangeError for unknown names or bad key sizes.
 * Every mode goes through native/packet-crypto where it is built (native-packet-crypto.ts), node:crypto otherwise.
 */
export function createSealer(keys: DirectionKeys): PacketSealer {
  const cipher = lookupCipher(keys);
  const native = packetCrypto();
  switch (cipher.name) {
    case 'chacha20-poly1305@openssh.com':
      return native ? new NativeChachaPolySealer(native, keys.encryptionKey) : new ChachaPolySealer(keys.encryptionKey);
    case 'aes128-gcm@openssh.com':
    case 'aes256-gcm@openssh.com':
      return native ? new NativeGcmSealer(native, keys.encryptionKey, keys.iv) : new AesGcmSealer(cipher.keyLength, keys.encryptionKey, keys.iv);
    default: {
      const ctr = ctrHmacKeys(cipher, keys);
      return native ? new NativeCtrHmacSealer(native, ctr) : new CtrHmacSealer(ctr);
    }
  }
}

/** Builds the incoming protection for one direction. Throws RangeError for unknown names or bad key sizes. */
export function createOpener(keys: DirectionKeys): PacketOpener {
  const cipher = lookupCipher(keys);
  const native = packetCrypto();
  switch (cipher.name) {
    case 'chacha20-poly1305@openssh.com':
      return native ? new NativeChachaPolyOpener(native, keys.encryptionKey) : new ChachaPolyOpener(keys.encryptionKey);
    case 'aes128-gcm@openssh.com':
    case 'aes256-gcm@openssh.com':
      return native ? new NativeGcmOpener(native, keys.encryptionKey, keys.iv) : new AesGcmOpener(cipher.keyLength, keys.encryptionKey, keys.iv);
    default: {
      const ctr = ctrHmacKeys(cipher, keys);
      return native ? new NativeCtrHmacOpener(native, ctr) : new CtrHmacOpener(ctr);
    }
  }
}

function lookupCipher(keys: DirectionKeys): CipherInfo {
  const cipher = CIPHERS.get(keys.cipher);
  if (cipher === undefined) throw new RangeError(`unsupported cipher ${keys.cipher}`);
  // Key material is never echoed, only its size.
  if (keys.encryptionKey.length !== cipher.keyLength) {
    throw new RangeError(`${cipher.name} needs a ${cipher.keyLength}-byte key, got ${keys.encryptionKey.length}`);
  }
  if (keys.iv.length !== cipher.ivLength) {
    throw new RangeError(`${cipher.name} needs a ${cipher.ivLength}-byte IV, got ${keys.iv.length}`);
  }
  return cipher;
}

function ctrHmacKeys(cipher: CipherInfo, keys: DirectionKeys): CtrHmacKeys {
  const mac = MACS.get(keys.mac);
  if (mac === undefined) throw new RangeError(`unsupported MAC ${keys.mac} for ${cipher.name}`);
  if (keys.integrityKey.length !== mac.keyLength) {
    throw new RangeError(`${mac.name} needs a ${mac.keyLength}-byte key, got ${keys.integrityKey.length}`);
  }
  return {
    algorithm: `aes-${cipher.keyLength * 8}-ctr`,
    encryptionKey: keys.encryptionKey,
    iv: keys.iv,
    digest: hmacDigest(mac.name),
    integrityKey: keys.integrityKey,
    macLength: mac.digestLength,
    encryptThenMac: mac.encryptThenMac,
  };
}
