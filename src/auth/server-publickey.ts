/**
 * The "publickey" method on the server (RFC 4252 §7): a query without a signature is answered with
 * USERAUTH_PK_OK when the key is authorized; a signed request succeeds when the signature, made with the
 * declared algorithm, verifies over the session identifier and the request. RSA signatures follow RFC 8332.
 * A certificate (PROTOCOL.certkeys) is offered under its certificate algorithm name; its CA signature is
 * checked on arrival, as sshd's cert_parse does, and the request's signature is the certified key's.
 */
import { Writer } from '../wire/writer.ts';
import { SSH_MSG } from '../wire/message-numbers.ts';
import type { Reader } from '../wire/reader.ts';
import { fingerprint, keyTypeLabel, parsePublicKeyBlob, type FingerprintHash, type PublicKey } from '../keys/index.ts';
import { certificateTypeLabel, describeCertificate, isCertificateType, parseVerifiedCertificate, plainAlgorithmOf, type Certificate } from '../keys/certificate.ts';
import type { AuthAttemptContext, MethodResult, ServerAuthMethod, SessionRestrictions } from './server-auth.ts';
import { publickeySignedData } from './signed-data.ts';

export interface PublickeyPolicy {
  /** PubkeyAcceptedAlgorithms. */
  acceptedAlgorithms: readonly string[];
  /** RequiredRSASize. */
  requiredRsaBits: number;
  /**
   * CASignatureAlgorithms: the algorithms a CA may have signed a certificate with (undefined: any the key
   * layer verifies).
   */
  caSignatureAlgorithms?: readonly string[];
  /**
   * The restrictions for an authorized key, or undefined when the key is not authorized for this user.
   * `certificate` is set when the client offered a certificate of `key` (already CA-verified).
   */
  authorize(key: PublicKey, certificate?: Certificate): Promise<SessionRestrictions | undefined>;
  /** Log lines worded as sshd's (never key material). */
  log?(message: string): void;
  /** FingerprintHash for the log lines (default SHA256). */
  fingerprintHash?: FingerprintHash;
}

/** How sshd names a key in its log: "ED25519 SHA256:…". */
export function describeKey(key: PublicKey, hash: FingerprintHash = 'sha256'): string {
  return `${keyTypeLabel(key.type)} ${fingerprint(key.blob, hash)}`;
}

export class PublickeyMethod implements ServerAuthMethod {
  readonly name = 'publickey';
  private readonly policy: PublickeyPolicy;
  /**
   * Keys that already completed a publickey step of this connection: with AuthenticationMethods
   * "publickey,publickey" each step needs a different key (auth2.c auth2_key_already_used).
   */
  private readonly usedKeys: PublicKey[] = [];

  constructor(policy: PublickeyPolicy) {
    this.policy = policy;
  }

  async attempt(body: Reader, context: AuthAttemptContext): Promise<MethodResult> {
    const hasSignature = body.boolean();
    const algorithm = body.text(128);
    const blob = body.string(16 * 1024);
    const signature = hasSignature ? body.string(16 * 1024) : undefined;
    body.end('publickey request');

    let key: PublicKey;
    let certificate: Certificate | undefined;
    try {
      if (isCertificateType(algorithm)) {
        certificate = parseVerifiedCertificate(blob);
        key = certificate.key;
      } else {
        key = parsePublicKeyBlob(blob);
      }
    } catch {
      return { outcome: 'failure', detail: `unsupported or malformed key (${algorithm.slice(0, 64)})` };
    }
    const hash = this.policy.fingerprintHash;
    const detail = certificate ? describeCertificate(certificate, hash) : describeKey(key, hash);
    // sshd compares the plain keys (sshkey_equal_public): a certificate and its own key are the same key.
    if (this.usedKeys.some((used) => used.equals(key))) {
      this.policy.log?.(`refusing previously-used ${certificate ? certificateTypeLabel(certificate) : keyTypeLabel(key.type)} key`);
      return { outcome: 'failure', detail };
    }
    // The algorithm must be one this key signs with (under the certificate's name for a certificate) and
    // one the configuration accepts.
    const signatureAlgorithm = certificate ? plainAlgorithmOf(algorithm)! : algorithm;
    if (key.signatureAlgorithms.includes(signatureAlgorithm) && !this.policy.acceptedAlgorithms.includes(algorithm)) {
      this.policy.log?.(`userauth_pubkey: signature algorithm ${algorithm.slice(0, 64)} not in PubkeyAcceptedAlgorithms`);
    }
    if (!key.signatureAlgorithms.includes(signatureAlgorithm) || !this.policy.acceptedAlgorithms.includes(algorithm)) {
      return { outcome: 'failure', detail: `${detail} (signature algorithm ${algorithm.slice(0, 64)} not accepted)` };
    }
    const caAlgorithms = this.policy.caSignatureAlgorithms;
    if (certificate && caAlgorithms && !caAlgorithms.includes(certificate.signatureAlgorithm)) {
      this.policy.log?.(`userauth_pubkey: certificate signature algorithm ${certificate.signatureAlgorithm.slice(0, 64)}: signature algorithm not supported`);
      return { outcome: 'failure', detail };
    }
    if (key.type === 'ssh-rsa' && key.bits < this.policy.requiredRsaBits) {
      return { outcome: 'failure', detail: `${detail} (RSA key below RequiredRSASize)` };
    }
    const restrictions = context.valid ? await this.policy.authorize(key, certificate) : undefined;

    if (signature === undefined) {
      if (!restrictions) return { outcome: 'failure', detail };
      context.send(Buffer.from(new Writer(blob.length + 64).byte(SSH_MSG.USERAUTH_PK_OK).string(algorithm).string(blob).finish()));
      return { outcome: 'postponed', detail };
    }
    const signedData = publickeySignedData({ sessionId: context.sessionId, user: context.requestedUser, service: context.service }, algorithm, blob);
    const verified = key.verify(signedData, signature, [signatureAlgorithm]);
    if (!restrictions || !verified) return { outcome: 'failure', detail };
    this.usedKeys.push(key);
    return { outcome: 'success', detail, restrictions };
  }
}
