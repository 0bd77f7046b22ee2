/**
 * The "publickey" method on the server (RFC 4252 §7): a query without a signature is answered with
 * USERAUTH_PK_OK when the key is authorized; a signed request succeeds when the signature, made with the
 * declared algorithm, verifies over the session identifier and the request. RSA signatures follow RFC 8332.
 */
import { Writer } from '../wire/writer.ts';
import { SSH_MSG } from '../wire/message-numbers.ts';
import type { Reader } from '../wire/reader.ts';
import { fingerprint, keyTypeLabel, parsePublicKeyBlob, type PublicKey } from '../keys/index.ts';
import type { AuthAttemptContext, MethodResult, ServerAuthMethod, SessionRestrictions } from './server-auth.ts';

export interface PublickeyPolicy {
  /** PubkeyAcceptedAlgorithms. */
  acceptedAlgorithms: readonly string[];
  /** RequiredRSASize. */
  requiredRsaBits: number;
  /** The restrictions for an authorized key, or undefined when the key is not authorized for this user. */
  authorize(key: PublicKey): Promise<SessionRestrictions | undefined>;
}

/** How sshd names a key in its log: "ED25519 SHA256:…". */
export function describeKey(key: PublicKey): string {
  return `${keyTypeLabel(key.type)} ${fingerprint(key.blob, 'sha256')}`;
}

export class PublickeyMethod implements ServerAuthMethod {
  readonly name = 'publickey';
  private readonly policy: PublickeyPolicy;

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
    try {
      key = parsePublicKeyBlob(blob);
    } catch {
      return { outcome: 'failure', detail: `unsupported or malformed key (${algorithm.slice(0, 64)})` };
    }
    const detail = describeKey(key);
    // The algorithm must be one this key signs with and one the configuration accepts.
    if (!key.signatureAlgorithms.includes(algorithm) || !this.policy.acceptedAlgorithms.includes(algorithm)) {
      return { outcome: 'failure', detail: `${detail} (signature algorithm ${algorithm.slice(0, 64)} not accepted)` };
    }
    if (key.type === 'ssh-rsa' && key.bits < this.policy.requiredRsaBits) {
      return { outcome: 'failure', detail: `${detail} (RSA key below RequiredRSASize)` };
    }
    const restrictions = context.valid ? await this.policy.authorize(key) : undefined;

    if (signature === undefined) {
      if (!restrictions) return { outcome: 'failure', detail };
      context.send(Buffer.from(new Writer(blob.length + 64).byte(SSH_MSG.USERAUTH_PK_OK).string(algorithm).string(blob).finish()));
      return { outcome: 'postponed', detail };
    }
    const signedData = Buffer.from(
      new Writer(blob.length + 256)
        .string(context.sessionId)
        .byte(SSH_MSG.USERAUTH_REQUEST)
        .string(context.user)
        .string(context.service)
        .string('publickey')
        .boolean(true)
        .string(algorithm)
        .string(blob)
        .finish(),
    );
    const verified = key.verify(signedData, signature, [algorithm]);
    if (!restrictions || !verified) return { outcome: 'failure', detail };
    return { outcome: 'success', detail, restrictions };
  }
}
