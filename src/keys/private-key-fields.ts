/**
 * The per-type private key field list shared by the openssh-key-v1 private section (PROTOCOL.key) and the
 * agent's SSH_AGENTC_ADD_IDENTITY message (draft-miller-ssh-agent §4.2.3):
 *
 *   string key type, <type-specific fields>, string comment
 *
 * (ssh-ed25519: string A, string k||A; ecdsa: string curve, string Q, mpint d;
 *  ssh-rsa: mpint n, mpint e, mpint d, mpint iqmp, mpint p, mpint q.)
 */
import { Reader, Writer } from '../wire/index.ts';
import { algorithmFor, keyTypeFromName } from './algorithms/index.ts';
import { privateKeyFromJwk, SshPrivateKey } from './private-key.ts';
import { asKeyFormatError } from './public-key.ts';
import { KeyFormatError, type PrivateKey } from './types.ts';

function asOurKey(key: PrivateKey): SshPrivateKey {
  if (!(key instanceof SshPrivateKey)) throw new TypeError('private key was not created by src/keys');
  return key;
}

/** Appends `string type, fields…, string comment` to `writer`. */
export function writePrivateKeyFields(key: PrivateKey, writer: Writer): void {
  const ours = asOurKey(key);
  const type = ours.publicKey.type;
  writer.string(type);
  algorithmFor(type).writePrivateFields(type, ours.exportJwk(), writer);
  writer.string(ours.comment);
}

/** `string type, fields…, string comment` as a new buffer (the caller should zero it when done). */
export function encodePrivateKeyFields(key: PrivateKey): Buffer {
  const writer = new Writer(1024);
  writePrivateKeyFields(key, writer);
  return Buffer.from(writer.finish());
}

/**
 * Reads `string type, fields…, string comment` from `reader`, leaving it positioned after the comment
 * (the agent message may carry constraints after it). Throws KeyFormatError for unknown types or bad keys.
 */
export function decodePrivateKeyFields(reader: Reader): SshPrivateKey {
  try {
    const type = keyTypeFromName(reader.text(64));
    const jwk = algorithmFor(type).readPrivateFields(type, reader);
    const comment = reader.text(64 * 1024);
    const key = privateKeyFromJwk(jwk, comment);
    // The stored public part must be the one the private scalar yields (catches corrupt or spliced keys).
    const expected = new Writer().string(type);
    algorithmFor(type).writePublicFields(type, jwk, expected);
    if (!key.publicKey.blob.equals(expected.finish())) {
      throw new KeyFormatError('invalid format: private key does not match its public key');
    }
    return key;
  } catch (error) {
    throw asKeyFormatError(error);
  }
}
