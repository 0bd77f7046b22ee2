/**
 * The negotiable ciphers and MACs (RFC 4253 §6.3, §6.4; RFC 4344 §4 for -ctr; RFC 6668 for hmac-sha2;
 * OpenSSH PROTOCOL §1.5–1.7 for the @openssh.com names) with the key and IV lengths key derivation must
 * produce for them (RFC 4253 §7.2).
 */
import type { CipherInfo, MacInfo } from './types.ts';

function cipher(name: string, keyLength: number, ivLength: number, blockSize: number, aead: boolean, eagerDataWrites = true): CipherInfo {
  return Object.freeze({ name, keyLength, ivLength, blockSize, aead, eagerDataWrites });
}

function mac(name: string, keyLength: number, digestLength: number, encryptThenMac: boolean): MacInfo {
  return Object.freeze({ name, keyLength, digestLength, encryptThenMac });
}

/** Every cipher we can negotiate, by SSH name. `none` is not negotiable and is absent on purpose. */
export const CIPHERS: ReadonlyMap<string, CipherInfo> = new Map(
  [
    // PROTOCOL.chacha20poly1305: 64 bytes of key (two ChaCha20 keys), no IV, 8-byte "block" alignment.
    // One writev per tick: OpenSSH opens this cipher slower than AES-GCM, and its ssh and sshd both
    // measured 6-14% slower when fed packet by packet (eagerDataWrites).
    cipher('chacha20-poly1305@openssh.com', 64, 0, 8, true, false),
    cipher('aes128-ctr', 16, 16, 16, false),
    cipher('aes192-ctr', 24, 16, 16, false),
    cipher('aes256-ctr', 32, 16, 16, false),
    // RFC 5647 §7.1: 12-byte IV (4-byte fixed field + 8-byte invocation counter).
    cipher('aes128-gcm@openssh.com', 16, 12, 16, true),
    cipher('aes256-gcm@openssh.com', 32, 12, 16, true),
  ].map((info) => [info.name, info]),
);

/** Every MAC we can negotiate (used only with non-AEAD ciphers). Keys are as long as the digest (RFC 6668 §2). */
export const MACS: ReadonlyMap<string, MacInfo> = new Map(
  [
    mac('hmac-sha2-256-etm@openssh.com', 32, 32, true),
    mac('hmac-sha2-512-etm@openssh.com', 64, 64, true),
    mac('hmac-sha2-256', 32, 32, false),
    mac('hmac-sha2-512', 64, 64, false),
  ].map((info) => [info.name, info]),
);

/** OpenSSH 9's default cipher preference (ssh_config(5) Ciphers), restricted to what we implement. */
export const DEFAULT_CIPHERS: readonly string[] = Object.freeze([
  'chacha20-poly1305@openssh.com',
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
]);

/** OpenSSH 9's default MAC preference (ssh_config(5) MACs) without the umac family, which we do not implement. */
export const DEFAULT_MACS: readonly string[] = Object.freeze([
  'hmac-sha2-256-etm@openssh.com',
  'hmac-sha2-512-etm@openssh.com',
  'hmac-sha2-256',
  'hmac-sha2-512',
]);

/** node:crypto digest name behind each HMAC. */
export function hmacDigest(macName: string): string {
  return macName.startsWith('hmac-sha2-512') ? 'sha512' : 'sha256';
}
