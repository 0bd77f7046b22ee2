/**
 * What user-authentication proofs are computed over, built in one place for both roles so the client signs
 * exactly what the server verifies: the publickey signature's data (RFC 4252 §7) and the gssapi-with-mic MIC's
 * data (RFC 4462 §3.5). Both bind the proof to the connection's session identifier H (RFC 4253 §7.2), so a
 * proof cannot be replayed on another connection.
 */
import { Writer } from '../wire/writer.ts';
import { SSH_MSG } from '../wire/message-numbers.ts';

export interface UserauthRequestFields {
  /** The session identifier H of this connection. */
  sessionId: Buffer;
  /** The user name exactly as sent in the request (with any ":style" suffix). */
  user: string | Buffer;
  /** The service requested ("ssh-connection"). */
  service: string;
}

/**
 * RFC 4252 §7:
 *   string session identifier, byte SSH_MSG_USERAUTH_REQUEST, string user name, string service name,
 *   string "publickey", boolean TRUE, string public key algorithm name, string public key to be used
 */
export function publickeySignedData(fields: UserauthRequestFields, algorithm: string, keyBlob: Buffer): Buffer {
  return Buffer.from(
    new Writer(keyBlob.length + 256)
      .string(fields.sessionId)
      .byte(SSH_MSG.USERAUTH_REQUEST)
      .string(fields.user)
      .string(fields.service)
      .string('publickey')
      .boolean(true)
      .string(algorithm)
      .string(keyBlob)
      .finish(),
  );
}

/**
 * RFC 4462 §3.5, what SSH_MSG_USERAUTH_GSSAPI_MIC's gss_get_mic covers:
 *   string session identifier, byte SSH_MSG_USERAUTH_REQUEST, string user name, string service,
 *   string "gssapi-with-mic"
 */
export function gssapiMicData(fields: UserauthRequestFields): Buffer {
  return Buffer.from(
    new Writer(256)
      .string(fields.sessionId)
      .byte(SSH_MSG.USERAUTH_REQUEST)
      .string(fields.user)
      .string(fields.service)
      .string('gssapi-with-mic')
      .finish(),
  );
}
