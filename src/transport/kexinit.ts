/**
 * SSH_MSG_KEXINIT encoding and algorithm negotiation (RFC 4253 §7.1).
 */
import { randomBytes } from 'node:crypto';
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { SSH_MSG } from '../wire/message-numbers.ts';
import { ProtocolError } from '../wire/errors.ts';

export interface AlgorithmLists {
  kex: string[];
  hostKey: string[];
  cipherClientToServer: string[];
  cipherServerToClient: string[];
  macClientToServer: string[];
  macServerToClient: string[];
  compressionClientToServer: string[];
  compressionServerToClient: string[];
}

export interface KexInit extends AlgorithmLists {
  cookie: Buffer;
  firstKexPacketFollows: boolean;
}

export function encodeKexInit(lists: AlgorithmLists): Buffer {
  const writer = new Writer(1024).byte(SSH_MSG.KEXINIT).raw(randomBytes(16));
  for (const list of [
    lists.kex,
    lists.hostKey,
    lists.cipherClientToServer,
    lists.cipherServerToClient,
    lists.macClientToServer,
    lists.macServerToClient,
    lists.compressionClientToServer,
    lists.compressionServerToClient,
    [], // languages client to server
    [], // languages server to client
  ]) {
    writer.nameList(list);
  }
  return Buffer.from(writer.boolean(false).uint32(0).finish());
}

export function decodeKexInit(payload: Buffer): KexInit {
  const reader = new Reader(payload, 1);
  const cookie = reader.raw(16);
  const init: KexInit = {
    cookie,
    kex: reader.nameList(),
    hostKey: reader.nameList(),
    cipherClientToServer: reader.nameList(),
    cipherServerToClient: reader.nameList(),
    macClientToServer: reader.nameList(),
    macServerToClient: reader.nameList(),
    compressionClientToServer: reader.nameList(),
    compressionServerToClient: reader.nameList(),
    firstKexPacketFollows: false,
  };
  reader.nameList();
  reader.nameList();
  init.firstKexPacketFollows = reader.boolean();
  reader.uint32(); // reserved
  return init;
}

export interface NegotiatedAlgorithms {
  kex: string;
  hostKey: string;
  cipherClientToServer: string;
  cipherServerToClient: string;
  macClientToServer: string;
  macServerToClient: string;
  compressionClientToServer: string;
  compressionServerToClient: string;
}

/** RFC 4253 §7.1: the first algorithm on the client's list that is also on the server's. */
function pick(what: string, client: string[], server: string[]): string {
  const chosen = client.find((name) => server.includes(name));
  if (chosen === undefined) {
    throw new ProtocolError(
      `no matching ${what} found. Their offer: ${server.join(',')}`,
      3, // KEY_EXCHANGE_FAILED
    );
  }
  return chosen;
}

/** Whether a cipher authenticates itself, in which case the MAC list is not consulted (OpenSSH PROTOCOL §1.6). */
export type IsAeadCipher = (cipher: string) => boolean;

export function negotiate(client: KexInit, server: KexInit, isAead: IsAeadCipher): NegotiatedAlgorithms {
  const cipherClientToServer = pick('cipher', client.cipherClientToServer, server.cipherClientToServer);
  const cipherServerToClient = pick('cipher', client.cipherServerToClient, server.cipherServerToClient);
  return {
    kex: pick('key exchange method', client.kex, server.kex),
    hostKey: pick('host key type', client.hostKey, server.hostKey),
    cipherClientToServer,
    cipherServerToClient,
    macClientToServer: isAead(cipherClientToServer)
      ? '<implicit>'
      : pick('MAC', client.macClientToServer, server.macClientToServer),
    macServerToClient: isAead(cipherServerToClient)
      ? '<implicit>'
      : pick('MAC', client.macServerToClient, server.macServerToClient),
    compressionClientToServer: pick('compression method', client.compressionClientToServer, server.compressionClientToServer),
    compressionServerToClient: pick('compression method', client.compressionServerToClient, server.compressionServerToClient),
  };
}

/**
 * RFC 4253 §7: a guessed first kex packet is right only when both sides' preferred kex and host-key
 * algorithms are the same.
 */
export function guessWasRight(client: KexInit, server: KexInit): boolean {
  return client.kex[0] === server.kex[0] && client.hostKey[0] === server.hostKey[0];
}
