/**
 * Fuzz targets over the binary decoders: key blobs, certificates, private key fields, KEXINIT, KRLs, DER,
 * the mux protocol, SOCKS, the identification line and the connection layer's request payloads.
 */
import { decodeClientMessage, decodeServerMessage } from '../../../src/client/mux/protocol.ts';
import { parseSocks4Request, parseSocks5Greeting, parseSocks5Request, SocksError } from '../../../src/client/socks.ts';
import {
  decodeAllocatedPort, decodeDirectStreamlocal, decodeDirectTcpip, decodeForwardedStreamlocal, decodeForwardedTcpip,
  decodeStreamlocalForward, decodeTcpipForward,
} from '../../../src/connection/forwarding-messages.ts';
import { decodeEnv, decodePtyRequest, decodeString, decodeTerminalModes, decodeWindowChange } from '../../../src/connection/session-requests.ts';
import { parseCertificateBlob, verifyCertificateSignature } from '../../../src/keys/certificate.ts';
import { decodePrivateKeyFields, fingerprint, KeyFormatError, parsePublicKeyBlob, randomArt } from '../../../src/keys/index.ts';
import { KrlError, parseKrl } from '../../../src/keys/krl.ts';
import { decodeKexInit, encodeKexInit, negotiate } from '../../../src/transport/kexinit.ts';
import { IdentificationReader } from '../../../src/transport/version.ts';
import { readDerElement, readPublicKeyInfoValue } from '../../../src/wire/der.ts';
import { DecodeError, ProtocolError, Reader } from '../../../src/wire/index.ts';
import { mutatedInput } from '../mutate.ts';
import { expectTyped, loadCorpus, type FuzzTarget } from '../target.ts';

const KEY_ERRORS = [KeyFormatError, DecodeError];

function target(name: string, run: (input: Buffer) => void, maxRandom = 512): FuzzTarget {
  return { name, input: mutatedInput(loadCorpus(name), { maxRandom }), run };
}

export const publicKeyBlob = target('public-key-blob', (input) => {
  const key = expectTyped('parsePublicKeyBlob', KEY_ERRORS, () => parsePublicKeyBlob(input));
  if (key) {
    // What the listing and matching code does next with a key it accepted.
    fingerprint(key.blob, 'sha256');
    randomArt(key);
    key.verify(Buffer.from('data'), input);
  }
});

export const certificate = target('certificate', (input) => {
  const cert = expectTyped('parseCertificateBlob', KEY_ERRORS, () => parseCertificateBlob(input));
  if (cert) expectTyped('verifyCertificateSignature', KEY_ERRORS, () => verifyCertificateSignature(cert));
});

export const privateKeyFields = target('private-key-fields', (input) => {
  expectTyped('decodePrivateKeyFields', KEY_ERRORS, () => decodePrivateKeyFields(new Reader(input)));
});

const ourKexInit = decodeKexInit(encodeKexInit({
  kex: ['curve25519-sha256', 'ecdh-sha2-nistp256', 'kex-strict-s-v00@openssh.com'],
  hostKey: ['ssh-ed25519'],
  cipherClientToServer: ['aes128-ctr', 'chacha20-poly1305@openssh.com'],
  cipherServerToClient: ['aes128-ctr'],
  macClientToServer: ['hmac-sha2-256'],
  macServerToClient: ['hmac-sha2-256'],
  compressionClientToServer: ['none'],
  compressionServerToClient: ['none'],
}));

export const kexinit = target('kexinit', (input) => {
  const peer = expectTyped('decodeKexInit', [DecodeError, ProtocolError], () => decodeKexInit(input));
  if (peer) expectTyped('negotiate', [DecodeError, ProtocolError], () => negotiate(peer, ourKexInit, (name) => name.includes('chacha') || name.includes('gcm')));
}, 2048);

export const krl = target('krl', (input) => {
  expectTyped('parseKrl', [KrlError, KeyFormatError, DecodeError], () => parseKrl(input));
}, 2048);

export const der = target('der', (input) => {
  expectTyped('readPublicKeyInfoValue', [DecodeError], () => readPublicKeyInfoValue(input));
  expectTyped('readDerElement', [DecodeError], () => readDerElement(input, input.length > 0 ? input[0]! % Math.max(1, input.length) : 0));
});

export const mux = target('mux', (input) => {
  expectTyped('decodeClientMessage', [DecodeError, ProtocolError], () => decodeClientMessage(input));
  expectTyped('decodeServerMessage', [DecodeError, ProtocolError], () => decodeServerMessage(input));
});

export const socks = target('socks', (input) => {
  // The parsers see every prefix of a stream as it arrives; each prefix must give "incomplete", a value or a SocksError.
  for (const parse of [parseSocks4Request, parseSocks5Greeting, parseSocks5Request]) {
    for (let end = 0; end <= input.length; end += 1 + (end >> 3)) {
      expectTyped(parse.name, [SocksError], () => parse(input.subarray(0, end)));
    }
  }
});

export const identification = target('identification', (input) => {
  for (const allowPreamble of [false, true]) {
    const reader = new IdentificationReader(allowPreamble);
    // Delivered in pieces, as TCP may, then all at once.
    expectTyped('IdentificationReader', [ProtocolError], () => {
      for (let at = 0; at < input.length; at += 7) if (reader.push(input.subarray(at, at + 7))) break;
    });
    expectTyped('IdentificationReader', [ProtocolError], () => new IdentificationReader(allowPreamble).push(input));
  }
}, 1024);

const CHANNEL_DECODERS: ReadonlyArray<(data: Buffer) => unknown> = [
  decodeDirectTcpip, decodeForwardedTcpip, decodeTcpipForward, decodeStreamlocalForward, decodePtyRequest,
  decodeWindowChange, decodeEnv, decodeTerminalModes, decodeAllocatedPort, decodeDirectStreamlocal,
  decodeForwardedStreamlocal, (data) => decodeString(data),
];

export const channelData = target('channel-data', (input) => {
  if (input.length === 0) return;
  const decode = CHANNEL_DECODERS[input[0]! % CHANNEL_DECODERS.length]!;
  expectTyped(decode.name || 'decodeString', [DecodeError, ProtocolError], () => decode(input.subarray(1)));
});

export const BINARY_TARGETS: readonly FuzzTarget[] = [
  publicKeyBlob, certificate, privateKeyFields, kexinit, krl, der, mux, socks, identification, channelData,
];
