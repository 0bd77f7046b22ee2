/**
 * Output backpressure in the packet layer (issue 21): a peer that makes us answer and never reads the answers
 * is paused, not buffered for. Over an in-memory stream pair, where nothing is absorbed by kernel buffers, a
 * raw client floods the server with messages it must answer (SSH_MSG_UNIMPLEMENTED for an unassigned
 * number) and does not read: the server stops decoding once about 256 KiB of answers wait, and answers the
 * rest, in order and complete, once the client reads again. Channel data does not count towards the bound,
 * so two peers sending each other bulk data never wait on each other.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { duplexPair } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Transport } from '../../../src/transport/transport.ts';
import { OUTPUT_BACKLOG_HIGH_WATER } from '../../../src/transport/packet-layer.ts';
import { generatePrivateKey } from '../../../src/keys/index.ts';
import { Writer } from '../../../src/wire/writer.ts';
import { SSH_MSG } from '../../../src/wire/message-numbers.ts';
import { kexInit, rawClient } from '../../helpers/raw-transport.ts';

const hostKey = generatePrivateKey('ed25519');
/** An unassigned transport-range number: the server answers each with SSH_MSG_UNIMPLEMENTED (RFC 4253 §11.4). */
const UNASSIGNED = 10;
const FLOOD = 60_000;

/** Counts the plain-text UNIMPLEMENTED packets in what the server wrote (pre-kex, unencrypted). */
function countUnimplemented(data: Buffer): { count: number; sequences: number[] } {
  let offset = data.indexOf('\r\n') + 2;
  const sequences: number[] = [];
  while (offset + 5 <= data.length) {
    const length = data.readUInt32BE(offset);
    if (offset + 4 + length > data.length) break;
    if (data[offset + 5] === SSH_MSG.UNIMPLEMENTED) sequences.push(data.readUInt32BE(offset + 6));
    offset += 4 + length;
  }
  return { count: sequences.length, sequences };
}

describe('output backpressure', () => {
  test('a flood of messages needing answers, never read: the server stops reading instead of buffering', async () => {
    const [clientSide, serverSide] = duplexPair();
    const server = new Transport({ role: 'server', stream: serverSide, hostKeys: [hostKey] });
    server.packetHandler = () => {};
    // The client does not read at all yet: everything the server writes stays in its stream's buffer.
    clientSide.pause();
    const send = rawClient(clientSide);
    send(kexInit(false));
    const unassigned = Buffer.from([UNASSIGNED]);
    for (let i = 0; i < FLOOD; i++) send(unassigned);
    await sleep(300);
    const buffered = serverSide.writableLength;
    assert.ok(buffered < OUTPUT_BACKLOG_HIGH_WATER + 64 * 1024, `the server buffered ${buffered} bytes of answers for a peer that does not read`);
    assert.equal(server.isClosed, false);

    // Once the client reads, every message is answered, in order, none twice.
    const received: Buffer[] = [];
    clientSide.on('data', (chunk: Buffer) => received.push(chunk));
    clientSide.resume();
    for (let i = 0; i < 100 && countUnimplemented(Buffer.concat(received)).count < FLOOD; i++) await sleep(50);
    const { count, sequences } = countUnimplemented(Buffer.concat(received));
    assert.equal(count, FLOOD);
    // The KEXINIT was packet 0; the unassigned ones are 1…FLOOD.
    assert.ok(sequences.every((sequence, index) => sequence === index + 1), 'answered in order');
    server.fail(new Error('test over'));
  });

  test('bulk channel data both ways, neither side reading while it writes, still all arrives', async () => {
    const [clientSide, serverSide] = duplexPair();
    const client = new Transport({ role: 'client', stream: clientSide, verifyHostKey: () => {} });
    const server = new Transport({ role: 'server', stream: serverSide, hostKeys: [hostKey] });
    await Promise.all([client.ready, server.ready]);
    const counts = { client: 0, server: 0 };
    client.packetHandler = (payload) => void (payload[0] === SSH_MSG.CHANNEL_DATA && counts.client++);
    server.packetHandler = (payload) => void (payload[0] === SSH_MSG.CHANNEL_DATA && counts.server++);
    // 8 MiB each way, written in one go: channel data is bounded by windows, not by the backlog rule.
    const data = Buffer.from(new Writer().byte(SSH_MSG.CHANNEL_DATA).uint32(0).string(Buffer.alloc(32 * 1024, 7)).finish());
    for (let i = 0; i < 256; i++) {
      client.send(data);
      server.send(data);
    }
    for (let i = 0; i < 200 && (counts.client < 256 || counts.server < 256); i++) await sleep(25);
    assert.deepEqual(counts, { client: 256, server: 256 });
    client.disconnect();
  });
});
