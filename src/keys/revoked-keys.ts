/**
 * sshd's RevokedKeys file (authfile.c sshkey_check_revoked): either a KRL (PROTOCOL.krl, see krl.ts) or, when
 * the file does not start with the KRL magic, a plain list of public keys, one `type base64 [comment]` per
 * line. A key listed is revoked; a file that cannot be read or decoded is an error, and sshd then refuses
 * every key (fail closed).
 */
import { open } from 'node:fs/promises';
import { Reader, Writer } from '../wire/index.ts';
import { isKrl, KrlError, parseKrl, type Krl } from './krl.ts';
import { parsePublicKeyBlob } from './public-key.ts';
import { isKeyType } from './algorithms/index.ts';
import type { PublicKey } from './types.ts';

/** sshbuf's ceiling on a loaded file is 128 MiB; revocation lists are far smaller, so we stop well before. */
export const MAX_REVOKED_KEYS_FILE_BYTES = 32 * 1024 * 1024;

/** The file could not be used; `message` is worded like OpenSSH's ssh_err() text for the same failure. */
export class RevokedKeysFileError extends Error {
  override readonly name = 'RevokedKeysFileError';
  /** The KRL's own complaint, when there is one (sshd logs it on a line of its own). */
  readonly detail: string | undefined;

  constructor(message: string, detail?: string) {
    super(message);
    this.detail = detail;
  }
}

/** strerror(3) for the errors reading a file gives, as OpenSSH prints them. */
const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  EMFILE: 'Too many open files',
  EIO: 'Input/output error',
};

function systemErrorText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return STRERROR[code] ?? (error as Error).message;
}

/**
 * Key types OpenSSH 9.2's sshkey_read knows besides Tether's own (and their certificates): lines of these
 * types are read and compared; a line naming any other type is "invalid format".
 */
const OTHER_OPENSSH_KEY_TYPES = new Set(['ssh-dss', 'sk-ecdsa-sha2-nistp256@openssh.com', 'sk-ssh-ed25519@openssh.com']);

function isOpensshKeyType(name: string): boolean {
  if (isKeyType(name) || OTHER_OPENSSH_KEY_TYPES.has(name)) return true;
  const certified = /^(.+)-cert-v01@openssh\.com$/.exec(name)?.[1];
  if (certified === undefined) return false;
  return isKeyType(certified) || certified === 'ssh-dss' || certified === 'sk-ecdsa-sha2-nistp256' || certified === 'sk-ssh-ed25519';
}

/**
 * A certificate's plain key as a blob (PROTOCOL.certkeys: type, nonce, then the key's own fields), for the
 * certificate types whose plain keys Tether can authenticate with; sshd compares a certificate line in a
 * RevokedKeys list by its public key too (sshkey_equal_public).
 */
function plainBlobOfCertificate(type: string, blob: Buffer): Buffer | undefined {
  const plain = type.replace(/-cert-v01@openssh\.com$/, '');
  if (!isKeyType(plain)) return undefined;
  const reader = new Reader(blob);
  reader.string(64);
  reader.string(1024); // nonce
  const writer = new Writer(blob.length).string(plain);
  const fields = plain === 'ssh-ed25519' ? 1 : plain === 'ssh-dss' ? 4 : 2; // pk | p, q, g, y | curve, Q | e, n
  for (let i = 0; i < fields; i++) writer.string(reader.string(16 * 1024));
  return Buffer.from(writer.finish());
}

/** Whether `key` is in a plain list (sshkey_in_file with check_ca: any key or certificate of that key). */
function plainListContains(text: string, key: PublicKey): boolean {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^[ \t]+/, '');
    if (line === '' || line.startsWith('#') || line === '\r') continue;
    const typeEnd = line.search(/[ \t]/);
    if (typeEnd < 0) throw new RevokedKeysFileError('invalid format');
    const type = line.slice(0, typeEnd);
    if (!isOpensshKeyType(type)) throw new RevokedKeysFileError('invalid format');
    const rest = line.slice(typeEnd).replace(/^[ \t]+/, '');
    const base64 = rest.split(/[ \t]/, 1)[0]!.replace(/\r$/, '');
    if (base64 === '' || !/^[A-Za-z0-9+/]+=*$/.test(base64)) throw new RevokedKeysFileError('invalid format');
    const blob = Buffer.from(base64, 'base64');
    let blobType: string;
    try {
      blobType = new Reader(blob).text(64);
    } catch {
      throw new RevokedKeysFileError('invalid format');
    }
    if (blobType !== type) throw new RevokedKeysFileError('key type does not match');
    if (isKeyType(type) || OTHER_OPENSSH_KEY_TYPES.has(type)) {
      // sshkey_read checks no DSA parameters, so ssh-dss lines, like the types Tether lacks, are only compared.
      if (isKeyType(type) && type !== 'ssh-dss') {
        try {
          parsePublicKeyBlob(blob);
        } catch {
          throw new RevokedKeysFileError('invalid format');
        }
      }
      if (blob.equals(key.blob)) return true;
      continue;
    }
    let plain: Buffer | undefined;
    try {
      plain = plainBlobOfCertificate(type, blob);
    } catch {
      throw new RevokedKeysFileError('invalid format');
    }
    if (plain?.equals(key.blob)) return true;
  }
  return false;
}

/** The file's bytes; any failure to read them is a RevokedKeysFileError worded like OpenSSH's. */
async function readRevokedKeysFile(path: string): Promise<Buffer> {
  try {
    return await readBounded(path);
  } catch (error) {
    if (error instanceof RevokedKeysFileError) throw error;
    throw new RevokedKeysFileError(systemErrorText(error));
  }
}

/** Parses a KRL and asks it `question`; a KRL that cannot be used is a RevokedKeysFileError. */
function askKrl(data: Buffer, question: (krl: Krl) => boolean): boolean {
  try {
    return question(parseKrl(data));
  } catch (error) {
    if (!(error instanceof KrlError)) throw error;
    // sshd reports "all signers revoked" as the key itself being revoked.
    if (error.code === 'revoked') return true;
    throw new RevokedKeysFileError(error.message, error.detail);
  }
}

/** Whether `key` is revoked by the file at `path`. Throws RevokedKeysFileError when the file is unusable. */
export async function isKeyRevokedByFile(key: PublicKey, path: string): Promise<boolean> {
  const data = await readRevokedKeysFile(path);
  if (isKrl(data)) return askKrl(data, (krl) => krl.revokesKey(key));
  return plainListContains(data.toString('utf8'), key);
}

/**
 * Whether a certificate is revoked by the file at `path` (krl.c ssh_krl_check_key, authfile.c sshkey_in_file
 * with check_ca): a KRL revokes it by its certified key, by serial or key ID under its CA, or by revoking
 * the CA; a plain list by naming the certified key (or any certificate of it) or the CA. Throws
 * RevokedKeysFileError when the file is unusable.
 */
export async function isCertificateRevokedByFile(
  certificate: { key: PublicKey; signatureKey: PublicKey; serial: bigint; keyId: string },
  path: string,
): Promise<boolean> {
  const data = await readRevokedKeysFile(path);
  const { key, signatureKey, serial, keyId } = certificate;
  if (isKrl(data)) {
    return askKrl(data, (krl) => krl.revokesKey(key) || krl.revokesCertificate({ caKey: signatureKey.blob, serial, keyId }) || krl.revokesKey(signatureKey));
  }
  const text = data.toString('utf8');
  return plainListContains(text, key) || plainListContains(text, signatureKey);
}

/** Reads the whole file, refusing one larger than MAX_REVOKED_KEYS_FILE_BYTES without holding more than that. */
async function readBounded(path: string): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024);
      const { bytesRead } = await file.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_REVOKED_KEYS_FILE_BYTES) throw new RevokedKeysFileError('string is too large');
      chunks.push(chunk.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total);
  } finally {
    await file.close();
  }
}
