/**
 * Identity files as authentication keys, loaded as ssh does: the public half from `file.pub` or from the
 * private file's clear header, and the private half only when the server has accepted the public key, so
 * that a passphrase is asked for a key that will actually be used.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { AuthKey } from '../auth/client-auth.ts';
import type { PrivateKey, PublicKey } from '../keys/types.ts';
import { PassphraseRequiredError, WrongPassphraseError } from '../keys/types.ts';
import { isPrivateKeyEncrypted, parsePrivateKey, readPublicKeyFromPrivate } from '../keys/parse-private-key.ts';
import { parsePublicKeyLine } from '../keys/public-key.ts';
import { checkPrivateKeyPermissions } from '../keys/key-files.ts';
import { isCertificateType, parseCertificateLine, SSH_CERT_TYPE, type Certificate } from '../keys/certificate.ts';

export interface IdentityFileOptions {
  /** Asks for a passphrase; undefined or empty skips the key. */
  passphrase?: (prompt: string) => Promise<string | undefined>;
  /** How many wrong passphrases before giving up on a key (NumberOfPasswordPrompts). */
  attempts?: number;
  warn?: (message: string) => void;
  /** ssh's INFO level (shown unless -q). */
  info?: (message: string) => void;
  debug?: (message: string) => void;
  /** Called once a private key has been loaded (decrypted) for signing: AddKeysToAgent hooks in here. */
  onLoaded?: (path: string, key: PrivateKey) => void | Promise<void>;
}

/** The identity file's private half is not on disk (only its `.pub` is). */
export class IdentityFileMissingError extends Error {
  override readonly name = 'IdentityFileMissingError';
}

/** The default IdentityFile list of OpenSSH 9, in its order, under `sshDir`. */
export function defaultIdentityFiles(sshDir: string): string[] {
  return ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'].map((name) => `${sshDir}/${name}`);
}

/** What a public key file holds: a bare key, or a certificate with the key it certifies. */
interface PublicHalf {
  publicKey: PublicKey;
  certificate?: Certificate;
}

function readPublicKeyFile(path: string): PublicHalf | undefined {
  try {
    const line = readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
    if (line === undefined) return undefined;
    if (isCertificateType(line.split(/\s/, 1)[0]!)) {
      const { certificate } = parseCertificateLine(line);
      return { publicKey: certificate.key, certificate };
    }
    return { publicKey: parsePublicKeyLine(line).key };
  } catch {
    return undefined;
  }
}

/**
 * The public half, looked for as ssh does (authfile.c sshkey_load_public): the file itself as a public key
 * (`IdentityFile id_x.pub`), then `file.pub`, then the private file's clear header. Either of the first two
 * may stand alone, the private half living in an agent, and either may be a certificate.
 */
function readPublicHalf(path: string): PublicHalf | undefined {
  if (existsSync(path)) {
    const direct = readPublicKeyFile(path);
    if (direct) return direct;
  }
  // A broken .pub falls through to the private file rather than hide a good key.
  const fromPub = existsSync(`${path}.pub`) ? readPublicKeyFile(`${path}.pub`) : undefined;
  if (fromPub) return fromPub;
  try {
    return { publicKey: readPublicKeyFromPrivate(readFileSync(path)) };
  } catch {
    return undefined;
  }
}

/** Loads a private key, asking for its passphrase when needed; throws when it cannot be used. */
export async function loadIdentity(path: string, options: IdentityFileOptions): Promise<PrivateKey> {
  checkPrivateKeyPermissions(path);
  const data = readFileSync(path);
  if (!isPrivateKeyEncrypted(data)) return parsePrivateKey(data);
  const attempts = options.attempts ?? 3;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const passphrase = await options.passphrase?.(`Enter passphrase for key '${path}': `);
    if (!passphrase) throw new PassphraseRequiredError(`no passphrase given for ${path}`);
    try {
      return parsePrivateKey(data, passphrase);
    } catch (error) {
      if (!(error instanceof WrongPassphraseError)) throw error;
      options.warn?.('Bad passphrase, try again for ' + path);
    }
  }
  throw new WrongPassphraseError(`incorrect passphrase supplied to decrypt private key ${path}`);
}

/**
 * AuthKeys for the identity files that exist (the private file, or only its public half), in order, each
 * followed by its `file-cert.pub` certificate when there is one (ssh.c load_public_identity_files). A
 * certificate from an identity file signs with that file's private key.
 */
export function identityFileKeys(paths: string[], options: IdentityFileOptions): AuthKey[] {
  const keys: AuthKey[] = [];
  for (const path of paths) {
    if (!existsSync(path) && !existsSync(`${path}.pub`)) {
      options.debug?.(`identity file ${path} type -1`);
      continue;
    }
    const half = readPublicHalf(path);
    if (!half) {
      options.warn?.(`Load key "${path}": invalid format`);
      continue;
    }
    const sign = privateKeySigner(path, options);
    keys.push({ ...half, label: path, sign });
    const cert = existsSync(`${path}-cert.pub`) ? readPublicKeyFile(`${path}-cert.pub`) : undefined;
    if (cert?.certificate && cert.certificate.certType === SSH_CERT_TYPE.USER) keys.push({ ...cert, label: path, sign });
  }
  return keys;
}

/**
 * CertificateFile entries as AuthKeys. They hold no private key: selectAuthKeys lets each sign with the
 * selected key it certifies (sshconnect2.c sign_and_send_pubkey). Host certificates are left out
 * (pubkey_prepare: "not a user certificate").
 */
export function certificateFileKeys(paths: string[], options: Pick<IdentityFileOptions, 'warn' | 'debug'>): AuthKey[] {
  const keys: AuthKey[] = [];
  for (const path of paths) {
    const half = existsSync(path) ? readPublicKeyFile(path) : undefined;
    if (!half?.certificate) {
      options.debug?.(`certificate file ${path} type -1`);
      continue;
    }
    if (half.certificate.certType !== SSH_CERT_TYPE.USER) {
      options.debug?.(`ignoring certificate ${path}: not a user certificate`);
      continue;
    }
    keys.push({
      ...half,
      label: path,
      sign: () => Promise.reject(new IdentityFileMissingError(`no private key for certificate ${path}`)),
    });
  }
  return keys;
}

/** Signs with the private key in `path`, loaded (and its passphrase asked) on first use only. */
function privateKeySigner(path: string, options: IdentityFileOptions): AuthKey['sign'] {
  let loaded: PrivateKey | undefined;
  return async (data, algorithm) => {
    if (!loaded && !existsSync(path)) {
      // Only the public half is here (sshconnect2.c load_identity_file); an agent holding the private half
      // signs instead, when selectAuthKeys has matched it.
      options.info?.(`no such identity: ${path}: No such file or directory`);
      throw new IdentityFileMissingError(`no such identity: ${path}`);
    }
    try {
      if (!loaded) {
        loaded = await loadIdentity(path, options);
        await options.onLoaded?.(path, loaded);
      }
    } catch (error) {
      const message = (error as Error).message;
      if (message.includes('UNPROTECTED PRIVATE KEY FILE')) {
        options.warn?.(message);
        options.warn?.(`Load key "${path}": bad permissions`);
      } else if (error instanceof WrongPassphraseError) {
        options.warn?.(`Load key "${path}": incorrect passphrase supplied to decrypt private key`);
      }
      throw error;
    }
    return loaded.sign(data, algorithm);
  };
}
