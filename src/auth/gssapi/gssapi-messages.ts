/**
 * The messages of RFC 4462 §3 (gssapi-with-mic user authentication), encoded once for both roles, and the
 * mechanism OIDs as the wire carries them: DER-encoded, tag and length included (RFC 4462 §3.2, "the
 * ASN.1 DER encoding of the OID", RFC 2743 §3.1).
 */
import { Reader } from '../../wire/reader.ts';
import { Writer } from '../../wire/writer.ts';
import { DecodeError } from '../../wire/errors.ts';

/** RFC 4462 §3 message numbers (in the method-specific range 60–79 of RFC 4252 §6). */
export const GSSAPI_MSG = {
  USERAUTH_GSSAPI_RESPONSE: 60,
  USERAUTH_GSSAPI_TOKEN: 61,
  USERAUTH_GSSAPI_EXCHANGE_COMPLETE: 63,
  USERAUTH_GSSAPI_ERROR: 64,
  USERAUTH_GSSAPI_ERRTOK: 65,
  USERAUTH_GSSAPI_MIC: 66,
} as const;

export const GSSAPI_WITH_MIC = 'gssapi-with-mic';

/**
 * Largest token either side accepts. A Kerberos AP-REQ carrying a forwarded TGT is a few KiB; with a large
 * authorization-data (an Active Directory PAC) tens of KiB. Packets themselves stop at 256 KiB.
 */
export const MAX_GSSAPI_TOKEN_LENGTH = 128 * 1024;
/** Most mechanisms a request may list; OpenSSH's client sends one per supported mechanism (one or two). */
export const MAX_GSSAPI_MECHANISMS = 32;
/** Longest OID accepted (DER, tag and length included); real ones are about a dozen bytes. */
export const MAX_OID_LENGTH = 64;

/** The Kerberos 5 mechanism, 1.2.840.113554.1.2.2 (RFC 1964 §1), content octets without tag and length. */
export const KRB5_MECHANISM_OID_CONTENT = Buffer.from([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02]);
/** The same, DER-encoded as it appears on the wire: 06 09 2a 86 48 86 f7 12 01 02 02. */
export const KRB5_MECHANISM_OID = derEncodeOid(KRB5_MECHANISM_OID_CONTENT);

/** DER OBJECT IDENTIFIER (tag 0x06) around an OID's content octets (short-form length, under 128 bytes). */
export function derEncodeOid(content: Buffer): Buffer {
  if (content.length === 0 || content.length > 127) throw new RangeError('OID content must be 1–127 bytes');
  return Buffer.concat([Buffer.from([0x06, content.length]), content]);
}

/** The content octets of a DER OID, or undefined when `der` is not one (a client may send garbage). */
export function derOidContent(der: Buffer): Buffer | undefined {
  if (der.length < 3 || der[0] !== 0x06 || der[1]! > 127 || der[1] !== der.length - 2) return undefined;
  return der.subarray(2);
}

/** The dotted form of a DER OID, for logs ("1.2.840.113554.1.2.2"); undefined when malformed. */
export function oidToString(der: Buffer): string | undefined {
  const content = derOidContent(der);
  if (!content) return undefined;
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < content.length; i++) {
    value = value * 128 + (content[i]! & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) return undefined;
    if ((content[i]! & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(Math.min(2, Math.floor(value / 40)), value - Math.min(2, Math.floor(value / 40)) * 40);
      else arcs.push(value);
      value = 0;
    } else if (i === content.length - 1) {
      return undefined;
    }
  }
  return arcs.join('.');
}

/** RFC 4462 §3.2: the method-specific fields of the USERAUTH_REQUEST (uint32 n, string[n] mechanism OIDs). */
export function encodeGssapiRequestFields(mechanisms: readonly Buffer[], writer = new Writer(64)): Writer {
  writer.uint32(mechanisms.length);
  for (const mechanism of mechanisms) writer.string(mechanism);
  return writer;
}

/** The mechanism OIDs of a request (bounded in count and length), read from the method-specific fields. */
export function decodeGssapiRequestFields(reader: Reader): Buffer[] {
  const count = reader.uint32();
  if (count > MAX_GSSAPI_MECHANISMS) throw new DecodeError(`gssapi-with-mic request lists too many mechanisms (${count})`);
  const mechanisms: Buffer[] = [];
  for (let i = 0; i < count; i++) mechanisms.push(reader.string(MAX_OID_LENGTH));
  reader.end('gssapi-with-mic request');
  return mechanisms;
}

function messageWithString(type: number, value: Buffer): Buffer {
  return new Writer(value.length + 8).byte(type).string(value).finish();
}

function readStringMessage(payload: Buffer, type: number, maxLength: number, what: string): Buffer {
  const reader = new Reader(payload);
  if (reader.byte() !== type) throw new DecodeError(`not a ${what} message`);
  const value = reader.string(maxLength);
  reader.end(what);
  return value;
}

/** §3.3 SSH_MSG_USERAUTH_GSSAPI_RESPONSE: the mechanism the server chose. */
export function encodeGssapiResponse(mechanism: Buffer): Buffer {
  return messageWithString(GSSAPI_MSG.USERAUTH_GSSAPI_RESPONSE, mechanism);
}

export function decodeGssapiResponse(payload: Buffer): Buffer {
  return readStringMessage(payload, GSSAPI_MSG.USERAUTH_GSSAPI_RESPONSE, MAX_OID_LENGTH, 'USERAUTH_GSSAPI_RESPONSE');
}

/** §3.4 SSH_MSG_USERAUTH_GSSAPI_TOKEN: a context-establishment token, either direction. */
export function encodeGssapiToken(token: Buffer): Buffer {
  return messageWithString(GSSAPI_MSG.USERAUTH_GSSAPI_TOKEN, token);
}

export function decodeGssapiToken(payload: Buffer): Buffer {
  return readStringMessage(payload, GSSAPI_MSG.USERAUTH_GSSAPI_TOKEN, MAX_GSSAPI_TOKEN_LENGTH, 'USERAUTH_GSSAPI_TOKEN');
}

/** §3.5 SSH_MSG_USERAUTH_GSSAPI_MIC: gss_get_mic over the data of signed-data.ts gssapiMicData. */
export function encodeGssapiMic(mic: Buffer): Buffer {
  return messageWithString(GSSAPI_MSG.USERAUTH_GSSAPI_MIC, mic);
}

export function decodeGssapiMic(payload: Buffer): Buffer {
  return readStringMessage(payload, GSSAPI_MSG.USERAUTH_GSSAPI_MIC, MAX_GSSAPI_TOKEN_LENGTH, 'USERAUTH_GSSAPI_MIC');
}

/** §3.6 SSH_MSG_USERAUTH_GSSAPI_EXCHANGE_COMPLETE: sent instead of a MIC when the context lacks integrity. */
export function encodeGssapiExchangeComplete(): Buffer {
  return Buffer.from([GSSAPI_MSG.USERAUTH_GSSAPI_EXCHANGE_COMPLETE]);
}

/** §3.8 SSH_MSG_USERAUTH_GSSAPI_ERROR: a failure's status, shown to the user by the client. */
export interface GssapiErrorMessage {
  major: number;
  minor: number;
  message: string;
  language: string;
}

export function encodeGssapiError(error: GssapiErrorMessage): Buffer {
  return new Writer(error.message.length + 32)
    .byte(GSSAPI_MSG.USERAUTH_GSSAPI_ERROR)
    .uint32(error.major >>> 0)
    .uint32(error.minor >>> 0)
    .string(error.message)
    .string(error.language)
    .finish();
}

export function decodeGssapiError(payload: Buffer): GssapiErrorMessage {
  const reader = new Reader(payload);
  if (reader.byte() !== GSSAPI_MSG.USERAUTH_GSSAPI_ERROR) throw new DecodeError('not a USERAUTH_GSSAPI_ERROR message');
  const major = reader.uint32();
  const minor = reader.uint32();
  const message = reader.text(4096);
  const language = reader.text(64);
  reader.end('USERAUTH_GSSAPI_ERROR');
  return { major, minor, message, language };
}

/** §3.9 SSH_MSG_USERAUTH_GSSAPI_ERRTOK: the error token a failed gss_*_sec_context produced. */
export function encodeGssapiErrtok(token: Buffer): Buffer {
  return messageWithString(GSSAPI_MSG.USERAUTH_GSSAPI_ERRTOK, token);
}

export function decodeGssapiErrtok(payload: Buffer): Buffer {
  return readStringMessage(payload, GSSAPI_MSG.USERAUTH_GSSAPI_ERRTOK, MAX_GSSAPI_TOKEN_LENGTH, 'USERAUTH_GSSAPI_ERRTOK');
}
