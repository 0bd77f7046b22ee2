/** Random keys of the right sizes for one direction of a cipher (and MAC, unless the cipher is an AEAD). */
import { randomBytes } from 'node:crypto';
import { CIPHERS, MACS, type DirectionKeys } from '../../src/crypto/cipher/index.ts';

export function keysFor(cipher: string, mac: string): DirectionKeys {
  const info = CIPHERS.get(cipher)!;
  return {
    cipher,
    mac,
    encryptionKey: randomBytes(info.keyLength),
    iv: randomBytes(info.ivLength),
    integrityKey: randomBytes(info.aead ? 0 : MACS.get(mac)!.keyLength),
  };
}
