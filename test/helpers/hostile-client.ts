/**
 * Our own hostile SSH clients, for the hostile-client suite (test/interop/hostile-clients/): raw TCP
 * connections that send crafted bytes before any key exchange, and a keyed, logged-in connection whose
 * connection layer the test drives message by message (RFC 4254) and whose outgoing bytes it can corrupt.
 * Every wait is bounded; every socket is destroyed by the test that opened it.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { authenticateClient } from '../../src/auth/client-auth.ts';
import { identityFileKeys } from '../../src/client/identities.ts';
import { Transport } from '../../src/transport/transport.ts';
import { Reader } from '../../src/wire/reader.ts';
import { Writer } from '../../src/wire/writer.ts';
import { SSH_MSG } from '../../src/wire/message-numbers.ts';

export { SSH_MSG };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- raw TCP, before keys ------------------------------------------------------------------------------

export interface RawConnection {
  socket: Socket;
  /** Everything received so far. */
  received(): Buffer;
  /** Resolves when the server closed the connection (true) or `timeoutMs` passed (false). */
  closed(timeoutMs: number): Promise<boolean>;
  /** Resolves once the server's identification line arrived (bounded). */
  identification(timeoutMs?: number): Promise<string>;
  destroy(): void;
}

/** Opens a TCP connection to the server and records what it sends. */
export function rawConnect(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let size = 0;
    let isClosed = false;
    const closeWaiters: Array<() => void> = [];
    socket.on('data', (chunk: Buffer) => {
      // Bounded: a test never needs more than the first megabyte of what the server says.
      if (size < 1024 * 1024) chunks.push(chunk);
      size += chunk.length;
    });
    socket.on('error', () => {});
    socket.once('close', () => {
      isClosed = true;
      for (const waiter of closeWaiters.splice(0)) waiter();
    });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve({
        socket,
        received: () => Buffer.concat(chunks),
        closed(timeoutMs) {
          if (isClosed) return Promise.resolve(true);
          return new Promise((done) => {
            const timer = setTimeout(() => done(false), timeoutMs);
            closeWaiters.push(() => (clearTimeout(timer), done(true)));
          });
        },
        async identification(timeoutMs = 5000) {
          for (const deadline = Date.now() + timeoutMs; ; await sleep(10)) {
            const text = Buffer.concat(chunks).toString('latin1');
            if (text.includes('\r\n')) return text.slice(0, text.indexOf('\r\n'));
            if (isClosed || Date.now() > deadline) throw new Error(`no identification line from the server; got ${JSON.stringify(text)}`);
          }
        },
        destroy: () => socket.destroy(),
      });
    });
    socket.once('error', reject);
  });
}

/** Frames `payload` as a binary packet with the "none" cipher (RFC 4253 §6): block size 8, ≥ 4 padding bytes. */
export function plainPacket(payload: Buffer): Buffer {
  let padding = 8 - ((5 + payload.length) % 8);
  if (padding < 4) padding += 8;
  const packet = Buffer.alloc(5 + payload.length + padding);
  packet.writeUInt32BE(1 + payload.length + padding, 0);
  packet[4] = padding;
  payload.copy(packet, 5);
  return packet;
}

export interface PlainMessage {
  type: number;
  payload: Buffer;
}

/** The unencrypted packets the server sent after its identification line (those before its NEWKEYS). */
export function plainMessages(data: Buffer): PlainMessage[] {
  let offset = data.indexOf('\r\n') + 2;
  const messages: PlainMessage[] = [];
  while (offset > 1 && offset + 5 <= data.length) {
    const length = data.readUInt32BE(offset);
    if (length > 256 * 1024 || offset + 4 + length > data.length) break;
    const padding = data[offset + 4]!;
    const payload = data.subarray(offset + 5, offset + 4 + length - padding);
    messages.push({ type: payload[0]!, payload });
    offset += 4 + length;
    if (payload[0] === SSH_MSG.NEWKEYS) break;
  }
  return messages;
}

/** The reason code and description of the first SSH_MSG_DISCONNECT among `messages`, if any. */
export function disconnectOf(messages: PlainMessage[]): { reason: number; description: string } | undefined {
  const message = messages.find((m) => m.type === SSH_MSG.DISCONNECT);
  if (!message) return undefined;
  const reader = new Reader(message.payload, 1);
  return { reason: reader.uint32(), description: reader.text() };
}

// ---- a keyed, logged-in connection whose connection layer the test drives ------------------------------

/** A stream between the transport and the socket that can flip a bit in what the client sends next. */
class CorruptibleStream extends Duplex {
  private corruptNext = false;
  private readonly socket: Socket;
  constructor(socket: Socket) {
    super();
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
    socket.on('error', (error) => this.destroy(error));
  }
  /** The next chunk the transport writes has its last byte (inside the last packet's MAC) inverted. */
  corrupt(): void {
    this.corruptNext = true;
  }
  override _read(): void {
    this.socket.resume();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.corruptNext) {
      this.corruptNext = false;
      chunk = Buffer.from(chunk);
      chunk[chunk.length - 1]! ^= 0xff;
    }
    this.socket.write(chunk, callback);
  }
  /**
   * A packet leaves as several pieces (length, ciphertext, MAC) in one corked batch: the batch is joined so
   * that the byte inverted is the last packet's last MAC byte, not the end of whichever piece came first.
   */
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this._write(Buffer.concat(chunks.map((entry) => entry.chunk)), 'binary', callback);
  }
  override _final(callback: () => void): void {
    this.socket.end(callback);
  }
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}

export interface DrivenConnection {
  transport: Transport;
  /** Every message the server sent after authentication, in order (capped at 100,000). */
  messages: Buffer[];
  /** Sends one connection-layer message. */
  send(payload: Buffer): boolean;
  /** Resolves with the first message (from index `from`) matching `match`; rejects after `timeoutMs`. */
  next(match: (payload: Buffer) => boolean, timeoutMs?: number, from?: number): Promise<Buffer>;
  /** Waits until `count` messages matching `match` arrived (bounded); returns those. */
  collect(match: (payload: Buffer) => boolean, count: number, timeoutMs?: number): Promise<Buffer[]>;
  /** The next outgoing packet has a corrupted MAC. */
  corruptNextPacket(): void;
  /** SSH_MSG_UNIMPLEMENTED sequence numbers the server reported. */
  unimplemented: number[];
  /** Resolves with the error that ended the transport (a DisconnectError carries the server's reason). */
  closed: Promise<Error | null>;
  close(): void;
}

export interface KeyedTransport {
  transport: Transport;
  /** SSH_MSG_UNIMPLEMENTED sequence numbers the server reported. */
  unimplemented: number[];
  corruptNextPacket(): void;
}

type Algorithms = ConstructorParameters<typeof Transport>[0]['algorithms'];

/** Connects and completes the first key exchange (bounded); nothing else is sent. */
export async function keyedTransport(port: number, algorithms?: Algorithms): Promise<KeyedTransport> {
  const socket = tcpConnect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const stream = new CorruptibleStream(socket);
  const unimplemented: number[] = [];
  const transport = new Transport({
    role: 'client',
    stream,
    algorithms,
    verifyHostKey: () => {},
    debug: (message) => {
      const match = /^Received SSH2_MSG_UNIMPLEMENTED for (\d+)$/.exec(message);
      if (match) unimplemented.push(Number(match[1]));
    },
  });
  const timer = setTimeout(() => transport.fail(new Error('key exchange timed out')), 15_000);
  try {
    await transport.ready;
  } finally {
    clearTimeout(timer);
  }
  return { transport, unimplemented, corruptNextPacket: () => stream.corrupt() };
}

/** Connects, exchanges keys and logs in as `username` with `keyFile`; the connection layer is ours to drive. */
export async function drivenConnection(port: number, username: string, keyFile: string, algorithms?: Algorithms): Promise<DrivenConnection> {
  const { transport, unimplemented, corruptNextPacket } = await keyedTransport(port, algorithms);
  const timer = setTimeout(() => transport.fail(new Error('login timed out')), 15_000);
  try {
    const earlier = await authenticateClient(transport, { methods: ['publickey'], username, keys: () => identityFileKeys([keyFile], {}) });
    const messages: Buffer[] = [];
    const waiters = new Set<() => void>();
    // Kept for the test to look at later: a borrowed payload (channel data in reused memory) is copied.
    transport.packetHandler = (payload, borrowed) => {
      if (messages.length < 100_000) messages.push(borrowed ? Buffer.from(payload) : payload);
      for (const waiter of waiters) waiter();
    };
    for (const payload of earlier) messages.push(payload);
    const next = (match: (payload: Buffer) => boolean, timeoutMs = 10_000, from = 0): Promise<Buffer> =>
      new Promise((resolve, reject) => {
        let index = from;
        const check = () => {
          for (; index < messages.length; index++) {
            if (match(messages[index]!)) {
              const found = messages[index]!;
              finish();
              return resolve(found);
            }
          }
          if (transport.isClosed) {
            finish();
            reject(new Error('the connection closed before the expected message'));
          }
        };
        const timer = setTimeout(() => (finish(), reject(new Error(`no expected message within ${timeoutMs} ms`))), timeoutMs);
        const finish = () => (clearTimeout(timer), waiters.delete(check));
        waiters.add(check);
        void transport.closed.then(check);
        check();
      });
    return {
      transport,
      messages,
      unimplemented,
      send: (payload) => transport.send(payload),
      next,
      async collect(match, count, timeoutMs = 30_000) {
        for (const deadline = Date.now() + timeoutMs; ; await sleep(20)) {
          const found = messages.filter(match);
          if (found.length >= count || transport.isClosed || Date.now() > deadline) return found;
        }
      },
      corruptNextPacket,
      closed: transport.closed,
      close: () => transport.disconnect(),
    };
  } catch (error) {
    transport.fail(error as Error);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

// ---- connection-layer messages (RFC 4254) --------------------------------------------------------------

export const message = {
  sessionOpen: (sender: number, window = 2 * 1024 * 1024, maxPacket = 32768) =>
    new Writer().byte(SSH_MSG.CHANNEL_OPEN).string('session').uint32(sender).uint32(window).uint32(maxPacket).finish(),
  directTcpip: (sender: number, host: string, port: number) =>
    new Writer().byte(SSH_MSG.CHANNEL_OPEN).string('direct-tcpip').uint32(sender).uint32(2 * 1024 * 1024).uint32(32768).string(host).uint32(port).string('127.0.0.1').uint32(40000).finish(),
  exec: (recipient: number, command: string) =>
    new Writer().byte(SSH_MSG.CHANNEL_REQUEST).uint32(recipient).string('exec').boolean(true).string(command).finish(),
  data: (recipient: number, data: Buffer) => new Writer(data.length + 16).byte(SSH_MSG.CHANNEL_DATA).uint32(recipient).string(data).finish(),
  windowAdjust: (recipient: number, bytes: number) => new Writer().byte(SSH_MSG.CHANNEL_WINDOW_ADJUST).uint32(recipient).uint32(bytes).finish(),
  eof: (recipient: number) => new Writer().byte(SSH_MSG.CHANNEL_EOF).uint32(recipient).finish(),
  close: (recipient: number) => new Writer().byte(SSH_MSG.CHANNEL_CLOSE).uint32(recipient).finish(),
  tcpipForward: (address: string, port: number) => new Writer().byte(SSH_MSG.GLOBAL_REQUEST).string('tcpip-forward').boolean(true).string(address).uint32(port).finish(),
};

/** The recipient channel (our id) of a channel message. */
export function recipientOf(payload: Buffer): number {
  return payload.readUInt32BE(1);
}

/** Our channel id and the server's id, window and maximum packet from CHANNEL_OPEN_CONFIRMATION. */
export function confirmation(payload: Buffer): { ours: number; theirs: number; window: number; maxPacket: number } {
  const reader = new Reader(payload, 1);
  return { ours: reader.uint32(), theirs: reader.uint32(), window: reader.uint32(), maxPacket: reader.uint32() };
}

/** Reason code and description of CHANNEL_OPEN_FAILURE. */
export function openFailure(payload: Buffer): { ours: number; reason: number; description: string } {
  const reader = new Reader(payload, 1);
  return { ours: reader.uint32(), reason: reader.uint32(), description: reader.text() };
}
