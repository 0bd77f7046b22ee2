/**
 * The message exchanges of each kex flow, for both roles: one round trip (DH over a fixed group, RFC 4253 §8;
 * ECDH / X25519, RFC 5656 §4, RFC 8731; the PQ/T hybrids, draft-ietf-sshm-mlkem-hybrid-kex §2) and group
 * exchange (RFC 4419). The method's properties decide how public values and K are encoded and its key
 * agreement computes K, so no method has a case of its own here. A flow consumes kex-specific messages
 * (30–49) and ends with the shared secret and exchange hash; the transport owns KEXINIT, NEWKEYS and the keys.
 */
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { SSH_MSG } from '../wire/message-numbers.ts';
import { ProtocolError } from '../wire/errors.ts';
import type { KexMethod } from '../crypto/kex/methods.ts';
import { dhAgreement, keyPairAgreement, modpGroup } from '../crypto/kex/methods.ts';
import type { KeyAgreement, KeyAgreementMethod } from '../crypto/kex/key-agreement.ts';
import type { PrivateKey, PublicKey } from '../keys/types.ts';
import { parsePublicKeyBlob } from '../keys/public-key.ts';
import { encodeSharedSecret, hashOf } from './key-derivation.ts';

const KEX_FAILED = 3;

export interface KexOutcome {
  /** K as it enters the hash: an mpint or a string, as the method says. */
  encodedSecret: Buffer;
  exchangeHash: Buffer;
  /** The server's host key (the client learns it here; the server knows its own). */
  hostKey: PublicKey;
}

export interface KexTranscript {
  clientVersion: string;
  serverVersion: string;
  clientKexInit: Buffer;
  serverKexInit: Buffer;
}

export interface KexFlow {
  /** Sends the flow's first message, if this role speaks first. */
  start(): void;
  /** Handles one kex-specific message; returns the outcome once the flow is complete. */
  handle(payload: Buffer): KexOutcome | undefined;
}

/** RFC 4419 §3: the client's acceptable group sizes (OpenSSH's DH_GRP_MIN / DH_GRP_MAX). */
const GEX_MIN_BITS = 2048;
const GEX_MAX_BITS = 8192;
/** The largest public value in string form: a hybrid's C_INIT is 1216 bytes (ML-KEM-768 key + X25519). */
const MAX_PUBLIC_STRING = 4096;

/** The transcript prefix common to every exchange hash: V_C, V_S, I_C, I_S, K_S. */
function hashPrefix(transcript: KexTranscript, hostKeyBlob: Buffer): Writer {
  return new Writer(2048)
    .string(transcript.clientVersion)
    .string(transcript.serverVersion)
    .string(transcript.clientKexInit)
    .string(transcript.serverKexInit)
    .string(hostKeyBlob);
}

/** Ends the exchange hash with K and returns both: H = HASH(... || K), K encoded as the method says. */
function finish(method: KexMethod, hashInput: Writer, secret: Buffer): { encodedSecret: Buffer; exchangeHash: Buffer } {
  const encodedSecret = encodeSharedSecret(secret, method.secretEncoding);
  secret.fill(0);
  return { encodedSecret, exchangeHash: hashOf(method.hash, Buffer.from(hashInput.raw(encodedSecret).finish())) };
}

function writePublic(writer: Writer, method: KexMethod, value: Buffer): Writer {
  return method.publicEncoding === 'string' ? writer.string(value) : writer.mpint(value);
}

function readPublic(reader: Reader, method: KexMethod): Buffer {
  return method.publicEncoding === 'string' ? reader.string(MAX_PUBLIC_STRING) : reader.mpint();
}

/** Group exchange: DH over the negotiated group, as a key agreement like any other. */
function groupAgreement(group: { prime: Buffer; generator: Buffer }): KeyAgreementMethod {
  return keyPairAgreement(() => dhAgreement(group.prime, group.generator));
}

export interface ClientKexParams {
  method: KexMethod;
  transcript: KexTranscript;
  /** The negotiated host-key algorithm: the signature must use it. */
  hostKeyAlgorithm: string;
  /** Group size to ask for in group exchange. */
  preferredGroupBits: number;
  send(payload: Buffer): void;
}

export function clientKexFlow(params: ClientKexParams): KexFlow {
  const { method, transcript, send } = params;
  let agreement: KeyAgreement | undefined;
  let gexGroup: { prime: Buffer; generator: Buffer } | undefined;
  const gexBits = Math.min(Math.max(params.preferredGroupBits, GEX_MIN_BITS), GEX_MAX_BITS);

  const sendInit = (messageType: number): void => {
    agreement = (method.flow === 'dh-gex' ? groupAgreement(gexGroup!) : method.agreement!).initiate();
    send(Buffer.from(writePublic(new Writer().byte(messageType), method, agreement.publicValue).finish()));
  };

  const verifyReply = (payload: Buffer): KexOutcome => {
    const reader = new Reader(payload, 1);
    const hostKeyBlob = reader.string(16 * 1024);
    const serverPublic = readPublic(reader, method);
    const signature = reader.string(16 * 1024);
    reader.end('kex reply');
    const hostKey = parsePublicKeyBlob(hostKeyBlob);
    const secret = agreement!.computeSecret(serverPublic);
    const hashInput = hashPrefix(transcript, hostKeyBlob);
    if (method.flow === 'dh-gex') {
      hashInput.uint32(GEX_MIN_BITS).uint32(gexBits).uint32(GEX_MAX_BITS).mpint(gexGroup!.prime).mpint(gexGroup!.generator);
    }
    writePublic(hashInput, method, agreement!.publicValue);
    writePublic(hashInput, method, serverPublic);
    const { encodedSecret, exchangeHash } = finish(method, hashInput, secret);
    if (!hostKey.signatureAlgorithms.includes(params.hostKeyAlgorithm)) {
      throw new ProtocolError(`server host key type ${hostKey.type} does not match negotiated ${params.hostKeyAlgorithm}`, KEX_FAILED);
    }
    if (!hostKey.verify(exchangeHash, signature, [params.hostKeyAlgorithm])) {
      throw new ProtocolError('incorrect signature on key exchange', KEX_FAILED);
    }
    return { encodedSecret, exchangeHash, hostKey };
  };

  return {
    start() {
      if (method.flow === 'dh-gex') {
        send(
          Buffer.from(
            new Writer().byte(SSH_MSG.KEX_DH_GEX_REQUEST).uint32(GEX_MIN_BITS).uint32(gexBits).uint32(GEX_MAX_BITS).finish(),
          ),
        );
      } else {
        sendInit(SSH_MSG.KEXDH_INIT);
      }
    },
    handle(payload) {
      const type = payload[0];
      if (method.flow === 'dh-gex' && type === SSH_MSG.KEX_DH_GEX_GROUP && gexGroup === undefined) {
        const reader = new Reader(payload, 1);
        const prime = reader.mpint();
        const generator = reader.mpint();
        reader.end('gex group');
        const bits = prime.length * 8;
        if (bits < GEX_MIN_BITS || bits > GEX_MAX_BITS) {
          throw new ProtocolError(`DH_GEX group out of range: ${bits} bits`, KEX_FAILED);
        }
        gexGroup = { prime, generator };
        sendInit(SSH_MSG.KEX_DH_GEX_INIT);
        return undefined;
      }
      const replyType = method.flow === 'dh-gex' ? SSH_MSG.KEX_DH_GEX_REPLY : SSH_MSG.KEXDH_REPLY;
      if (type === replyType && agreement !== undefined) return verifyReply(payload);
      throw new ProtocolError(`unexpected message ${type} during key exchange`);
    },
  };
}

export interface ServerKexParams {
  method: KexMethod;
  transcript: KexTranscript;
  hostKey: PrivateKey;
  hostKeyAlgorithm: string;
  /** Picks a group for group exchange; defaults to the RFC 3526 groups. */
  chooseGroup?: (min: number, preferred: number, max: number) => { prime: Buffer; generator: Buffer };
  send(payload: Buffer): void;
}

/**
 * Without a usable moduli file, offer the RFC 3526 group nearest the client's preference within its range.
 * 2048-bit modp14 is not among them: the server's groups are at least 3072 bits (src/server/moduli.ts).
 */
export function defaultGroupChooser(min: number, preferred: number, max: number): { prime: Buffer; generator: Buffer } {
  const sizes = [
    { bits: 3072, name: 'modp15' },
    { bits: 4096, name: 'modp16' },
    { bits: 6144, name: 'modp17' },
    { bits: 8192, name: 'modp18' },
  ] as const;
  const usable = sizes.filter((s) => s.bits >= min && s.bits <= max);
  if (usable.length === 0) throw new ProtocolError('no DH group fits the requested range', KEX_FAILED);
  const best = usable.find((s) => s.bits >= preferred) ?? usable[usable.length - 1]!;
  return modpGroup(best.name);
}

export function serverKexFlow(params: ServerKexParams): KexFlow {
  const { method, transcript, send } = params;
  const hostKeyBlob = params.hostKey.publicKey.blob;
  let gexRequest: { min: number; preferred: number; max: number; prime: Buffer; generator: Buffer } | undefined;

  const reply = (payload: Buffer, replyType: number): KexOutcome => {
    const reader = new Reader(payload, 1);
    const clientPublic = readPublic(reader, method);
    reader.end('kex init');
    const { publicValue, secret } = (gexRequest ? groupAgreement(gexRequest) : method.agreement!).respond(clientPublic);
    const hashInput = hashPrefix(transcript, hostKeyBlob);
    if (gexRequest) {
      hashInput
        .uint32(gexRequest.min)
        .uint32(gexRequest.preferred)
        .uint32(gexRequest.max)
        .mpint(gexRequest.prime)
        .mpint(gexRequest.generator);
    }
    writePublic(hashInput, method, clientPublic);
    writePublic(hashInput, method, publicValue);
    const { encodedSecret, exchangeHash } = finish(method, hashInput, secret);
    const signature = params.hostKey.sign(exchangeHash, params.hostKeyAlgorithm);
    const message = new Writer(2048).byte(replyType).string(hostKeyBlob);
    writePublic(message, method, publicValue).string(signature);
    send(Buffer.from(message.finish()));
    return { encodedSecret, exchangeHash, hostKey: params.hostKey.publicKey };
  };

  return {
    start() {},
    handle(payload) {
      const type = payload[0];
      if (method.flow !== 'dh-gex') {
        if (type === SSH_MSG.KEXDH_INIT) return reply(payload, SSH_MSG.KEXDH_REPLY);
      } else if (type === SSH_MSG.KEX_DH_GEX_REQUEST && gexRequest === undefined) {
        const reader = new Reader(payload, 1);
        const min = reader.uint32();
        const preferred = reader.uint32();
        const max = reader.uint32();
        reader.end('gex request');
        if (min > preferred || preferred > max || max < 1024) {
          throw new ProtocolError(`invalid DH_GEX request ${min}/${preferred}/${max}`, KEX_FAILED);
        }
        const group = (params.chooseGroup ?? defaultGroupChooser)(min, preferred, max);
        gexRequest = { min, preferred, max, ...group };
        send(Buffer.from(new Writer().byte(SSH_MSG.KEX_DH_GEX_GROUP).mpint(group.prime).mpint(group.generator).finish()));
        return undefined;
      } else if (type === SSH_MSG.KEX_DH_GEX_INIT && gexRequest !== undefined) {
        return reply(payload, SSH_MSG.KEX_DH_GEX_REPLY);
      }
      throw new ProtocolError(`unexpected message ${type} during key exchange`);
    },
  };
}
