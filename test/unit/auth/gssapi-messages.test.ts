/**
 * The RFC 4462 §3 message encodings shared by both roles (src/auth/gssapi/gssapi-messages.ts), the Kerberos 5
 * mechanism OID as the wire carries it (DER, §3.2), and the data a MIC (§3.5) and a publickey signature
 * (RFC 4252 §7) cover, built by the one helper both roles use (src/auth/signed-data.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '../../../src/wire/reader.ts';
import { Writer } from '../../../src/wire/writer.ts';
import { DecodeError } from '../../../src/wire/errors.ts';
import {
  decodeGssapiError, decodeGssapiErrtok, decodeGssapiMic, decodeGssapiRequestFields, decodeGssapiResponse, decodeGssapiToken,
  derEncodeOid, derOidContent, encodeGssapiError, encodeGssapiErrtok, encodeGssapiExchangeComplete, encodeGssapiMic,
  encodeGssapiRequestFields, encodeGssapiResponse, encodeGssapiToken, GSSAPI_MSG, KRB5_MECHANISM_OID, MAX_GSSAPI_MECHANISMS,
  MAX_GSSAPI_TOKEN_LENGTH, oidToString,
} from '../../../src/auth/gssapi/gssapi-messages.ts';
import { gssapiMicData, publickeySignedData } from '../../../src/auth/signed-data.ts';

describe('RFC 4462 message encodings', () => {
  it('the Kerberos 5 OID 1.2.840.113554.1.2.2 is DER-encoded with tag and length', () => {
    assert.equal(KRB5_MECHANISM_OID.toString('hex'), '06092a864886f712010202');
    assert.equal(oidToString(KRB5_MECHANISM_OID), '1.2.840.113554.1.2.2');
    assert.equal(oidToString(derEncodeOid(Buffer.from([0x2b, 0x06, 0x01, 0x05, 0x05, 0x02]))), '1.3.6.1.5.5.2');
    assert.equal(derOidContent(Buffer.from([0x06, 0x05, 1, 2])), undefined, 'length disagrees');
    assert.equal(derOidContent(Buffer.from([0x04, 0x02, 1, 2])), undefined, 'not an OID tag');
    assert.equal(oidToString(Buffer.from([0x06, 0x02, 0x2a, 0x86])), undefined, 'truncated arc');
  });

  it('numbers the messages as §3 does', () => {
    assert.deepEqual(GSSAPI_MSG, {
      USERAUTH_GSSAPI_RESPONSE: 60, USERAUTH_GSSAPI_TOKEN: 61, USERAUTH_GSSAPI_EXCHANGE_COMPLETE: 63,
      USERAUTH_GSSAPI_ERROR: 64, USERAUTH_GSSAPI_ERRTOK: 65, USERAUTH_GSSAPI_MIC: 66,
    });
  });

  it('the request lists mechanisms as uint32 n, string[n]; a decoder bounds the count', () => {
    const fields = encodeGssapiRequestFields([KRB5_MECHANISM_OID]).finish();
    assert.equal(fields.toString('hex'), '00000001' + '0000000b' + '06092a864886f712010202');
    assert.deepEqual(decodeGssapiRequestFields(new Reader(fields)), [KRB5_MECHANISM_OID]);
    const many = new Writer().uint32(MAX_GSSAPI_MECHANISMS + 1).finish();
    assert.throws(() => decodeGssapiRequestFields(new Reader(many)), DecodeError);
    const trailing = Buffer.concat([fields, Buffer.from([0])]);
    assert.throws(() => decodeGssapiRequestFields(new Reader(trailing)), DecodeError);
  });

  it('round-trips RESPONSE, TOKEN, MIC, ERRTOK, ERROR and EXCHANGE_COMPLETE', () => {
    const token = Buffer.from('a context token');
    assert.deepEqual(decodeGssapiResponse(encodeGssapiResponse(KRB5_MECHANISM_OID)), KRB5_MECHANISM_OID);
    assert.deepEqual(encodeGssapiToken(token).subarray(0, 5), Buffer.from([61, 0, 0, 0, token.length]));
    assert.deepEqual(decodeGssapiToken(encodeGssapiToken(token)), token);
    assert.deepEqual(decodeGssapiMic(encodeGssapiMic(token)), token);
    assert.deepEqual(decodeGssapiErrtok(encodeGssapiErrtok(token)), token);
    assert.deepEqual(encodeGssapiExchangeComplete(), Buffer.from([63]));
    const error = { major: 0xd0000, minor: 0x96c73a07, message: 'No credentials', language: '' };
    assert.deepEqual(decodeGssapiError(encodeGssapiError(error)), error);
    assert.throws(() => decodeGssapiToken(encodeGssapiMic(token)), DecodeError, 'wrong message type');
  });

  it('refuses a token longer than the bound', () => {
    const huge = new Writer().byte(61).uint32(MAX_GSSAPI_TOKEN_LENGTH + 1).raw(Buffer.alloc(MAX_GSSAPI_TOKEN_LENGTH + 1)).finish();
    assert.throws(() => decodeGssapiToken(huge), DecodeError);
  });
});

describe('what proofs cover (one helper for both roles)', () => {
  const fields = { sessionId: Buffer.alloc(32, 9), user: 'alice', service: 'ssh-connection' };

  it('RFC 4462 §3.5: the MIC covers session id, USERAUTH_REQUEST, user, service, "gssapi-with-mic"', () => {
    const expected = new Writer()
      .string(fields.sessionId).byte(50).string('alice').string('ssh-connection').string('gssapi-with-mic').finish();
    assert.deepEqual(gssapiMicData(fields), expected);
  });

  it('RFC 4252 §7: the signature covers the request with TRUE, algorithm and key', () => {
    const blob = Buffer.from('key blob');
    const expected = new Writer()
      .string(fields.sessionId).byte(50).string('alice').string('ssh-connection').string('publickey').boolean(true)
      .string('ssh-ed25519').string(blob).finish();
    assert.deepEqual(publickeySignedData(fields, 'ssh-ed25519', blob), expected);
  });
});
