/**
 * OpenSSH's host key rotation extension (PROTOCOL §2.5): after authentication the server lists all its host
 * keys in a "hostkeys-00@openssh.com" global request, and proves possession of any of them when the client
 * asks with "hostkeys-prove-00@openssh.com", so clients with UpdateHostKeys learn new and rotated keys.
 */
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import type { PrivateKey } from '../keys/index.ts';
import type { Connection, IncomingGlobalRequest } from '../connection/connection.ts';

export const HOSTKEYS_REQUEST = 'hostkeys-00@openssh.com';
export const HOSTKEYS_PROVE_REQUEST = 'hostkeys-prove-00@openssh.com';

/** Sends the announcement (no reply wanted). */
export function announceHostKeys(connection: Connection, hostKeys: readonly PrivateKey[]): void {
  const writer = new Writer(4096);
  for (const key of hostKeys) writer.string(key.publicKey.blob);
  void connection.globalRequest(HOSTKEYS_REQUEST, writer.finish(), false);
}

/**
 * Answers a prove request: one signature per requested key over
 * string "hostkeys-prove-00@openssh.com" || string session identifier || string key blob. RSA keys sign
 * with the RSA algorithm negotiated for the key exchange when there was one, otherwise rsa-sha2-512, the
 * algorithms OpenSSH's client accepts for the proof.
 */
export function proveHostKeys(
  request: IncomingGlobalRequest,
  hostKeys: readonly PrivateKey[],
  sessionId: Buffer,
  negotiatedHostKeyAlgorithm: string | undefined,
): void {
  const reader = new Reader(request.data);
  const signatures = new Writer(4096);
  let count = 0;
  while (reader.remaining > 0) {
    const blob = reader.string(16 * 1024);
    if (++count > hostKeys.length) return request.reply(false);
    const key = hostKeys.find((candidate) => candidate.publicKey.blob.equals(blob));
    if (!key) return request.reply(false);
    let algorithm = key.publicKey.signatureAlgorithms[0]!;
    if (key.publicKey.type === 'ssh-rsa') {
      algorithm = negotiatedHostKeyAlgorithm?.startsWith('rsa-sha2-') ? negotiatedHostKeyAlgorithm : 'rsa-sha2-512';
    }
    const signed = new Writer(blob.length + 128).string(HOSTKEYS_PROVE_REQUEST).string(sessionId).string(blob).finish();
    signatures.string(key.sign(Buffer.from(signed), algorithm));
  }
  request.reply(count > 0, count > 0 ? signatures.finish() : undefined);
}
