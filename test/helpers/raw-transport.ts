/**
 * A hand-driven SSH client for transport tests: it writes the identification and packets framed with the
 * pre-kex "none" protection (RFC 4253 §6), so a test can send what a well-behaved client never would.
 */
import type { Duplex } from 'node:stream';
import { createNoneSealer } from '../../src/crypto/cipher/index.ts';
import { encodeKexInit } from '../../src/transport/kexinit.ts';

/** Writes the identification line on `stream`; returns a function that sends one packet. */
export function rawClient(stream: Duplex): (payload: Buffer) => boolean {
  const sealer = createNoneSealer();
  let sequence = 0;
  stream.write('SSH-2.0-Raw_1.0\r\n');
  return (payload: Buffer) => stream.write(sealer.seal(sequence++, payload));
}

/** A client KEXINIT with one algorithm of each kind, offering strict kex (kex-strict-c-v00) when `strict`. */
export function kexInit(strict: boolean): Buffer {
  return encodeKexInit({
    kex: ['curve25519-sha256', ...(strict ? ['kex-strict-c-v00@openssh.com'] : [])],
    hostKey: ['ssh-ed25519'],
    cipherClientToServer: ['aes128-ctr'],
    cipherServerToClient: ['aes128-ctr'],
    macClientToServer: ['hmac-sha2-256'],
    macServerToClient: ['hmac-sha2-256'],
    compressionClientToServer: ['none'],
    compressionServerToClient: ['none'],
  });
}
