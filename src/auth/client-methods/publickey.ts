/**
 * The client's "publickey" method (RFC 4252 §7, RFC 8332 for RSA SHA-2 signatures, PROTOCOL.certkeys for
 * certificates), as sshconnect2.c userauth_pubkey: each attempt offers the next key of the round without a
 * signature, and signs only for a key the server accepts (USERAUTH_PK_OK), so a passphrase is asked for only
 * then. The keys' order across partial successes is the KeyQueue's.
 */
import { Writer } from '../../wire/writer.ts';
import { SSH_MSG } from '../../wire/message-numbers.ts';
import { ProtocolError } from '../../wire/errors.ts';
import type { PublicKey } from '../../keys/types.ts';
import { certificateAlgorithm, plainAlgorithmOf } from '../../keys/certificate.ts';
import { KeyQueue } from '../key-queue.ts';
import type { AuthKey } from '../client-auth.ts';
import type { ClientAttempt, ClientAuthContext, ClientAuthMethod } from './method.ts';
import { publickeySignedData } from '../signed-data.ts';

export interface PublickeyClientOptions {
  /** Keys to offer, in order; opened lazily, the first time publickey is tried. */
  keys?: () => AsyncIterable<AuthKey> | Iterable<AuthKey>;
  /** PubkeyAcceptedAlgorithms: the names keys may be offered under, in preference order (default: any). */
  acceptedAlgorithms?: readonly string[];
}

export class PublickeyClientMethod implements ClientAuthMethod {
  readonly name = 'publickey';
  private readonly keys: KeyQueue;
  private readonly acceptedAlgorithms: readonly string[] | undefined;
  /** The key the last request was about, so a partial success knows which one the server took. */
  private lastKey: AuthKey | undefined;

  constructor(options: PublickeyClientOptions) {
    this.keys = new KeyQueue(() => options.keys?.() ?? []);
    this.acceptedAlgorithms = options.acceptedAlgorithms;
  }

  /**
   * Offers the next key of this round; resolves with the server's verdict on it, or undefined when no key is
   * left to offer. A key whose signature cannot be made is passed over.
   */
  async attempt(context: ClientAuthContext): Promise<ClientAttempt | undefined> {
    this.lastKey = undefined;
    const serverSigAlgs = context.peerExtension('server-sig-algs')?.toString('latin1').split(',');
    for (;;) {
      const key = await this.keys.next();
      if (!key) return undefined;
      this.lastKey = key;
      // A certificate goes under its own name for the same signature algorithm (PROTOCOL.certkeys); the
      // signature inside is still the certified key's.
      const chosen = offerAlgorithmFor(key.publicKey, key.certificate !== undefined, serverSigAlgs, this.acceptedAlgorithms);
      const type = key.certificate?.type ?? key.publicKey.type;
      if (!chosen) {
        context.debug(`Skipping ${type} key ${key.label} - corresponding algorithm not in PubkeyAcceptedAlgorithms`);
        continue;
      }
      const { offer: algorithm, signature: signatureAlgorithm } = chosen;
      const blob = key.certificate?.blob ?? key.publicKey.blob;
      context.debug(`Offering public key: ${key.label} ${type}`);
      // RFC 4252 §7: ask first without a signature.
      context.request('publickey', new Writer().boolean(false).string(algorithm).string(blob));
      const answer = await context.nextReply();
      if (answer.kind !== 'other') return { reply: answer };
      if (answer.payload[0] !== SSH_MSG.USERAUTH_PK_OK) throw new ProtocolError(`unexpected message ${answer.payload[0]} in publickey authentication`);
      context.debug(`Server accepts key: ${key.label} ${type}`);
      let signature: Buffer;
      try {
        signature = await key.sign(publickeySignedData({ sessionId: context.sessionId, user: context.username, service: 'ssh-connection' }, algorithm, blob), signatureAlgorithm);
      } catch (error) {
        context.debug(`signing with ${key.label} failed: ${(error as Error).message}`);
        continue;
      }
      context.request('publickey', new Writer().boolean(true).string(algorithm).string(blob).string(signature));
      return { reply: await context.nextReply() };
    }
  }

  partialSuccess(method: string): void {
    // sshconnect2.c pubkey_reset: the keys start a new round, without the one just accepted.
    this.keys.partialSuccess(method === this.name ? this.lastKey : undefined);
  }

  close(): void {
    this.keys.close();
  }
}

/**
 * The algorithm a key is offered under (sshconnect2.c key_sig_algorithm), or undefined when
 * PubkeyAcceptedAlgorithms leaves it none. Only RSA has a choice: our accepted list, in our order, intersected
 * with the server's server-sig-algs (RFC 8332 §3.3, RFC 8308); a server that sent none gets the key's own name
 * (ssh-rsa) if that is accepted. A certificate goes under its certificate name (PROTOCOL.certkeys).
 */
export function offerAlgorithmFor(
  key: PublicKey,
  certified: boolean,
  serverSigAlgs: readonly string[] | undefined,
  accepted: readonly string[] | undefined,
): { offer: string; signature: string } | undefined {
  const isAccepted = (name: string) => accepted === undefined || accepted.includes(name);
  const named = (signature: string) => ({ offer: certified ? certificateAlgorithm(signature) : signature, signature });
  if (key.type !== 'ssh-rsa' || serverSigAlgs === undefined) {
    const signature = key.type === 'ssh-rsa' ? 'ssh-rsa' : key.signatureAlgorithms[0]!;
    return isAccepted(named(signature).offer) ? named(signature) : undefined;
  }
  const preference = accepted ?? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'].flatMap((alg) => (certified ? [certificateAlgorithm(alg)] : [alg]));
  for (const offer of preference) {
    const signature = certified ? plainAlgorithmOf(offer) : offer;
    if (signature === undefined || !key.signatureAlgorithms.includes(signature)) continue;
    // server-sig-algs names plain signature algorithms only, certificates included (kex.c kex_send_ext_info).
    if (named(signature).offer === offer && serverSigAlgs.includes(signature)) return named(signature);
  }
  return undefined;
}
