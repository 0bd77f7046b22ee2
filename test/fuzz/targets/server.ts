/**
 * The server's state machines driven in memory: `tether server` (Transport, authentication, Connection and
 * the session handlers) on one end of a stream pair, and on the other
 *   - server-transport: raw, mutated bytes from the identification line on (version exchange, packet
 *     framing, KEXINIT and the first key exchange messages, all in the clear);
 *   - server-auth: a real key exchange, then a sequence of mutated authentication-phase messages;
 *   - server-connection: a real key exchange and a password login, then a sequence of mutated
 *     connection-protocol messages (channels, requests, data, window adjustments, global requests).
 * Oracle: the connection ends — within a bound — either by our disconnect or with a typed error, and in that
 * case the server told the client with SSH_MSG_DISCONNECT; nothing escapes as an uncaught exception; no log
 * line carries an engine error or the password.
 */
import { PassThrough, duplexPair } from 'node:stream';
import { parseSshdConfigText } from '../../../src/config/sshd/index.ts';
import { MacError } from '../../../src/crypto/cipher/index.ts';
import { generatePrivateKey, KeyFormatError } from '../../../src/keys/index.ts';
import { currentAccount } from '../../../src/server/accounts.ts';
import { createLogger } from '../../../src/server/logger.ts';
import { createServer } from '../../../src/server/server.ts';
import type { ProcessExit, SessionProcess } from '../../../src/sessions/session-process.ts';
import { Transport } from '../../../src/transport/transport.ts';
import { IdentificationError } from '../../../src/transport/version.ts';
import { DecodeError, DisconnectError, ProtocolError, SSH_MSG, Writer } from '../../../src/wire/index.ts';
import { messageSequence, mutatedInput } from '../mutate.ts';
import { FuzzFinding, loadCorpus, type FuzzTarget } from '../target.ts';

const PASSWORD = 'fuzz-Secret-Passw0rd';
const hostKey = generatePrivateKey('ed25519');
const config = parseSshdConfigText(
  [
    'PermitRootLogin yes',
    'StrictModes no',
    'AuthorizedKeysFile /nonexistent/authorized_keys',
    'PasswordAuthentication yes',
    'KbdInteractiveAuthentication yes',
    'AllowTcpForwarding no',
    'AllowStreamLocalForwarding no',
    'AllowAgentForwarding no',
    'X11Forwarding no',
    'PermitTunnel no',
    'MaxAuthTries 4',
    'LogLevel DEBUG3',
    '',
  ].join('\n'),
  'fuzz',
  { sshDir: '/nonexistent' },
);

/** What an engine error looks like in a log line: a bug that a catch-all turned into a log message. */
const ENGINE_ERROR = /Cannot read|Cannot set|is not a function|is not iterable|is not defined|Invalid array length|out of range|Maximum call stack|Invalid typed array|must be of type|\bERR_[A-Z_]+|TypeError|RangeError/;
/** Bound on one input's whole conversation. */
const CONVERSATION_MS = 8000;

/** A session program that echoes its input and exits at its end: no real process is started. */
function echoProcess(): SessionProcess {
  const pipe = new PassThrough();
  const exit = new Promise<ProcessExit>((resolve) => pipe.on('end', () => resolve({ code: 0, signal: null, coreDumped: false })));
  return { pid: 0, terminal: false, ttyName: undefined, input: pipe, output: pipe, errorOutput: null, exit, resize: () => {}, signal: () => false, hangUp: () => pipe.end() };
}

function isTyped(error: Error | null): boolean {
  if (error === null) return true;
  return error instanceof DisconnectError || error instanceof ProtocolError || error instanceof DecodeError || error instanceof MacError || error instanceof KeyFormatError;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_resolve, reject) => {
      timer = setTimeout(() => reject(new FuzzFinding(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

interface Conversation {
  /** Drives the client end; resolves when it has said everything. */
  client(stream: import('node:stream').Duplex): Promise<{ sawServerDisconnect: (error: Error) => boolean; end: () => void }>;
}

async function converse(conversation: Conversation): Promise<void> {
  const lines: string[] = [];
  const server = createServer({
    config,
    hostKeys: [hostKey],
    logger: createLogger({ level: 'DEBUG3', destination: (line) => lines.push(line) }),
    passwords: { verify: async (_name, password) => password === PASSWORD },
    listen: [],
    switchUser: false,
    startProcess: echoProcess,
  });
  const [clientSide, serverSide] = duplexPair();
  const served = server.serveStream(serverSide, { peer: { address: '192.0.2.7', port: 40000 }, local: { address: '127.0.0.1', port: 22 } });
  let client: Awaited<ReturnType<Conversation['client']>> | undefined;
  try {
    client = await withTimeout(conversation.client(clientSide), CONVERSATION_MS, 'the conversation');
  } finally {
    // Whatever the client managed, it now goes away; the server must then finish promptly.
    setTimeout(() => client?.end() ?? clientSide.destroy(), 20);
  }
  const connection = await withTimeout(served, CONVERSATION_MS, 'the server connection');
  const error = await connection.transport.closed;
  if (!isTyped(error)) throw new FuzzFinding(`the server connection ended with ${error?.name}: ${error?.message}\n${error?.stack ?? ''}`);
  const ourFault = error !== null && !(error instanceof DisconnectError && error.byPeer);
  if (ourFault && !client.sawServerDisconnect(error)) throw new FuzzFinding(`the server ended the connection (${error.message}) without SSH_MSG_DISCONNECT`);
  const engine = lines.find((line) => ENGINE_ERROR.test(line));
  if (engine) throw new FuzzFinding(`server log shows an engine error: ${engine}`);
  const secret = lines.find((line) => line.includes(PASSWORD));
  if (secret) throw new FuzzFinding(`server log shows the password: ${secret}`);
}

/**
 * Whether the server's plaintext (pre-NEWKEYS) output tells the client why it ends: the one-line refusal of
 * a bad identification (kex.c send_error), or a DISCONNECT packet. After NEWKEYS nothing can be seen.
 */
function plaintextDisconnectSeen(output: Buffer, error: Error): boolean | 'encrypted' {
  const newline = output.indexOf('\n');
  if (error instanceof IdentificationError) return output.subarray(newline + 1).toString('latin1').startsWith(`${error.reply}\r\n`);
  let at = newline + 1;
  while (at + 5 <= output.length) {
    const length = output.readUInt32BE(at);
    const type = output[at + 5];
    if (type === SSH_MSG.DISCONNECT) return true;
    if (type === SSH_MSG.NEWKEYS) return 'encrypted';
    at += 4 + length;
  }
  return false;
}

export const serverTransport: FuzzTarget = {
  name: 'server-transport',
  input: mutatedInput(loadCorpus('server-transport'), { maxRandom: 2048 }),
  run: (input) =>
    converse({
      async client(stream) {
        const output: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => output.push(chunk));
        stream.on('error', () => {});
        // In uneven pieces, as TCP delivers.
        for (let at = 0; at < input.length; at += 1 + (at % 97)) stream.write(input.subarray(at, at + 1 + (at % 97)));
        await new Promise((resolve) => setTimeout(resolve, 10));
        return {
          sawServerDisconnect: (error) => plaintextDisconnectSeen(Buffer.concat(output), error) !== false,
          end: () => stream.end(),
        };
      },
    }),
};

/** A client Transport that completed key exchange with the server; records what the server sends. */
async function keyedClient(stream: import('node:stream').Duplex) {
  const transport = new Transport({ role: 'client', stream, verifyHostKey: () => {} });
  const received: number[] = [];
  transport.packetHandler = (payload) => {
    received.push(payload[0]!);
  };
  await transport.ready;
  return { transport, received };
}

async function sendAll(transport: Transport, messages: readonly Buffer[]): Promise<void> {
  for (const message of messages) {
    if (transport.isClosed) break;
    if (message.length > 0 && message.length < 32 * 1024) transport.send(message);
    await new Promise((resolve) => setImmediate(resolve));
  }
  // Give the server time to act on the last messages.
  await new Promise((resolve) => setTimeout(resolve, 20));
}

function endOf(transport: Transport) {
  let peerDisconnect = false;
  void transport.closed.then((error) => {
    peerDisconnect = error instanceof DisconnectError && error.byPeer && error.reason !== 10;
  });
  return { sawServerDisconnect: () => peerDisconnect, end: () => transport.disconnect() };
}

export const serverAuth: FuzzTarget<Buffer[]> = {
  name: 'server-auth',
  input: messageSequence(loadCorpus('server-auth'), 10),
  run: (messages) =>
    converse({
      async client(stream) {
        const { transport } = await keyedClient(stream);
        const ending = endOf(transport);
        await sendAll(transport, messages);
        return ending;
      },
    }),
  serialize: (messages) => Buffer.from(JSON.stringify(messages.map((m) => m.toString('base64')))),
};

let loginUser: string | undefined;

export const serverConnection: FuzzTarget<Buffer[]> = {
  name: 'server-connection',
  input: messageSequence(loadCorpus('server-connection'), 12),
  run: async (messages) => {
    loginUser ??= (await currentAccount()).name;
    const user = loginUser;
    return converse({
      async client(stream) {
        const { transport, received } = await keyedClient(stream);
        const ending = endOf(transport);
        transport.send(Buffer.from(new Writer().byte(SSH_MSG.SERVICE_REQUEST).string('ssh-userauth').finish()));
        transport.send(Buffer.from(new Writer().byte(SSH_MSG.USERAUTH_REQUEST).string(user).string('ssh-connection').string('password').boolean(false).string(PASSWORD).finish()));
        const deadline = Date.now() + 5000;
        while (!received.includes(SSH_MSG.USERAUTH_SUCCESS) && !transport.isClosed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
        if (!received.includes(SSH_MSG.USERAUTH_SUCCESS)) throw new FuzzFinding('the password login that starts every input failed');
        await sendAll(transport, messages);
        return ending;
      },
    });
  },
  serialize: (messages) => Buffer.from(JSON.stringify(messages.map((m) => m.toString('base64')))),
};

export const SERVER_TARGETS = [serverTransport, serverAuth, serverConnection] as const;
