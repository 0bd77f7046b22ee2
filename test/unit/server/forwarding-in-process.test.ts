/**
 * The server's forwarding at the message level, driven by our own client in one process: half-closes
 * across direct-tcpip, the failure reason codes and descriptions, tcpip-forward's allocated port in
 * REQUEST_SUCCESS with replies kept in order, the forwarded-tcpip fields, cancel, and listeners closed when
 * the connection ends.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SshClient } from '../../../src/client/client.ts';
import { ChannelOpenError } from '../../../src/connection/connection.ts';
import type { Channel } from '../../../src/connection/channel.ts';
import { parseSshdConfigText } from '../../../src/config/sshd/index.ts';
import { generatePrivateKey, type PrivateKey } from '../../../src/keys/index.ts';
import { createServer, silentLogger, type Server } from '../../../src/server/index.ts';
import { currentAccount } from '../../../src/server/accounts.ts';
import { Reader } from '../../../src/wire/reader.ts';
import { Writer } from '../../../src/wire/writer.ts';
import { CHANNEL_OPEN_FAILURE } from '../../../src/wire/message-numbers.ts';
import { connectWithKey } from '../../helpers/library-client.ts';

/** Reads until end, then answers with what it got: proves the client's EOF arrived as a half-close. */
function countingService(): TcpServer {
  return createTcpServer({ allowHalfOpen: true }, (socket) => {
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
    socket.on('end', () => socket.end(`got ${bytes} bytes`));
    socket.on('error', () => {});
  });
}

function listenTcp(server: TcpServer): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

function readAll(channel: Channel): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    channel.on('data', (chunk: Buffer) => (text += chunk.toString()));
    channel.once('end', () => resolve(text));
    channel.once('error', reject);
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

const directTcpip = (host: string, port: number) => new Writer().string(host).uint32(port).string('127.0.0.1').uint32(4242).finish();
const tcpipForward = (address: string, port: number) => new Writer().string(address).uint32(port).finish();

describe('server forwarding in process', () => {
  let server: Server;
  let dir: string;
  let userKey: PrivateKey;
  let service: TcpServer;
  let servicePort: number;
  let client: SshClient;

  const login = async () => connectWithKey(server.addresses[0]!.port, (await currentAccount()).name, userKey);

  before(async () => {
    service = countingService();
    servicePort = await listenTcp(service);
    dir = mkdtempSync(join(tmpdir(), 'tether-fwd-'));
    userKey = generatePrivateKey('ed25519');
    writeFileSync(join(dir, 'authorized_keys'), `${userKey.publicKey.toLine()}\n`);
    const config = parseSshdConfigText(
      ['PermitRootLogin yes', 'StrictModes no', `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, `PermitOpen 127.0.0.1:${servicePort} 127.0.0.1:1`, ''].join('\n'),
      'in-process',
    );
    server = createServer({ config, hostKeys: [generatePrivateKey('ed25519')], logger: silentLogger, listen: [{ address: '127.0.0.1', port: 0 }], switchUser: false });
    await server.listen();
    client = await login();
  });
  after(async () => {
    client?.end();
    await server.close();
    await new Promise((resolve) => service.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('direct-tcpip: the client\'s EOF half-closes the socket and the answer still comes back', async () => {
    const channel = await client.connection.openChannel('direct-tcpip', directTcpip('127.0.0.1', servicePort));
    const answer = readAll(channel);
    channel.end(Buffer.alloc(100_000, 1));
    assert.equal(await answer, 'got 100000 bytes');
  });

  it('a refused connection is CONNECT_FAILED "Connection refused"; PermitOpen refusals are ADMINISTRATIVELY_PROHIBITED "open failed"', async () => {
    await assert.rejects(client.connection.openChannel('direct-tcpip', directTcpip('127.0.0.1', 1)), (error: ChannelOpenError) => {
      assert.equal(error.reason, CHANNEL_OPEN_FAILURE.CONNECT_FAILED);
      assert.equal(error.description, 'Connection refused');
      return true;
    });
    await assert.rejects(client.connection.openChannel('direct-tcpip', directTcpip('localhost', servicePort)), (error: ChannelOpenError) => {
      assert.equal(error.reason, CHANNEL_OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED);
      assert.equal(error.description, 'open failed');
      return true;
    });
    await assert.rejects(client.connection.openChannel('direct-tcpip', Buffer.from([0, 0, 0, 50])), ChannelOpenError);
    // The connection carries on.
    const channel = await client.connection.openChannel('direct-tcpip', directTcpip('127.0.0.1', servicePort));
    const answer = readAll(channel);
    channel.end('x');
    assert.equal(await answer, 'got 1 bytes');
  });

  it('tcpip-forward on port 0 answers with the port, in order with a keepalive sent right after', async () => {
    const forward = client.connection.globalRequest('tcpip-forward', tcpipForward('localhost', 0));
    const keepalive = client.connection.globalRequest('keepalive@openssh.com');
    const [listening, alive] = await Promise.all([forward, keepalive]);
    assert.equal(listening.success, true);
    assert.equal(alive.success, false);
    const port = new Reader(listening.data).uint32();
    assert.ok(port > 0);

    const opened = new Promise<{ data: Buffer; channel: Channel }>((resolve) => {
      client.channelHandlers.set('forwarded-tcpip', (request) => resolve({ data: request.data, channel: request.accept() }));
    });
    const socket = netConnect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const { data, channel } = await opened;
    const fields = new Reader(data);
    assert.deepEqual([fields.text(), fields.uint32(), fields.text(), fields.uint32()], ['localhost', port, '127.0.0.1', socket.localPort]);
    channel.end('from the client side');
    const received = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.once('end', () => resolve(text));
    });
    assert.equal(received, 'from the client side');
    socket.destroy();

    assert.equal((await client.connection.globalRequest('cancel-tcpip-forward', tcpipForward('localhost', port))).success, true);
    assert.equal(await canConnect(port), false);
    assert.equal((await client.connection.globalRequest('cancel-tcpip-forward', tcpipForward('localhost', port))).success, false);
  });

  it('a busy port fails, and the listeners of a connection close when it ends', async () => {
    const second = await login();
    const reply = await second.connection.globalRequest('tcpip-forward', tcpipForward('127.0.0.1', 0));
    const port = new Reader(reply.data).uint32();
    assert.equal(await canConnect(port), true);
    assert.equal((await client.connection.globalRequest('tcpip-forward', tcpipForward('127.0.0.1', port))).success, false);
    second.end();
    await second.closed;
    const deadline = Date.now() + 5000;
    while ((await canConnect(port)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await canConnect(port), false);
  });
});
