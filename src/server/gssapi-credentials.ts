/**
 * The credential a gssapi-with-mic client delegated (GSSAPIDelegateCredentials, a forwarded TGT), stored for
 * the connection's sessions as sshd does (gss-serv-krb5.c ssh_gssapi_krb5_storecreds): a new ccache file
 * /tmp/krb5cc_<uid>_<random> owned by the user, mode 0600, named by KRB5CCNAME in every session's
 * environment, and removed when the connection ends if GSSAPICleanupCredentials is yes. `kinit`, `klist`,
 * `kinit -R` and `kdestroy` in the session then act on it.
 */
import { randomInt } from 'node:crypto';
import { chmodSync, chownSync, lstatSync, rmSync } from 'node:fs';
import type { AcceptorContext } from '../auth/gssapi/gssapi-context.ts';
import { GssapiError } from '../auth/gssapi/gssapi-addon.ts';
import type { ServerLogger } from './logger.ts';

export interface StoredCredentials {
  /** The KRB5CCNAME value, "FILE:/tmp/krb5cc_1000_Ab3dE5fG7h". */
  readonly ccacheName: string;
  readonly path: string;
  /** Deletes the ccache file (GSSAPICleanupCredentials); a no-op once gone (the user's kdestroy). */
  remove(): void;
}

const NAME_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** mkstemp's ten random characters, as krb5_cc_new_unique's template "krb5cc_<uid>_XXXXXXXXXX". */
export function randomSuffix(): string {
  let suffix = '';
  for (let i = 0; i < 10; i++) suffix += NAME_ALPHABET[randomInt(NAME_ALPHABET.length)];
  return suffix;
}

/**
 * Stores the context's delegated credential for `account`; undefined when the client delegated none or it
 * could not be stored (logged; the login goes on without it, as with sshd).
 */
export function storeDelegatedCredentials(
  acceptor: AcceptorContext,
  account: { uid: number; gid: number },
  logger: ServerLogger,
): StoredCredentials | undefined {
  if (!acceptor.result?.delegatedCredential) return undefined;
  const path = `/tmp/krb5cc_${account.uid}_${randomSuffix()}`;
  const remove = () => rmSync(path, { force: true });
  try {
    // MIT's FILE ccache creates the file with O_CREAT|O_EXCL, mode 0600 (never through a planted symlink).
    if (!acceptor.storeDelegatedCredential(`FILE:${path}`)) return undefined;
    const stat = lstatSync(path);
    if (!stat.isFile()) throw new Error(`${path} is not a regular file`);
    if (process.getuid?.() === 0) chownSync(path, account.uid, account.gid);
    chmodSync(path, 0o600);
  } catch (error) {
    remove();
    const text = error instanceof GssapiError ? error.message : (error as Error).message;
    logger.error(`ssh_gssapi_storecreds: cannot store delegated credentials: ${text}`);
    return undefined;
  }
  logger.debug(`ssh_gssapi_storecreds: stored delegated credentials in ${path}`);
  return { ccacheName: `FILE:${path}`, path, remove };
}
