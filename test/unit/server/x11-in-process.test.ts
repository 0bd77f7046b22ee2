/**
 * The server's X11 forwarding at the message level, driven by our own client in one process: x11-req's
 * reply comes before later requests' (it answers once the display listens), one per session, DISPLAY with
 * the requested screen, the x11 channel's originator fields, single-connection, a busy display skipped,
 * invalid cookies refused, and the display's sockets closed when the session ends. XAuthLocation is
 * /bin/true here, so nothing touches a real X authority file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer as createTcpServer, type Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type SshClient } from '../../../src/client/client.ts';
import type { Channel } from '../../../src/connection/channel.ts';
import { parseSshdConfigText } from '../../../src/config/sshd/index.ts';
import { generatePrivateKey, type PrivateKey } from '../../../src/keys/index.ts';
import { createServer, silentLogger, type Server } from '../../../src/server/index.ts';
import { currentAccount } from '../../../src/server/accounts.ts';
import { displayAddresses, listenOnFreeDisplay, X11DisplayError } from '../../../src/server/x11/display-listener.ts';
import { decodeX11Request, validXauthString } from '../../../src/server/x11/x11-session.ts';
import { encodeX11Request } from '../../../src/client/x11-forwarding.ts';
import { Reader } from '../../../src/wire/reader.ts';
import { Writer } from '../../../src/wire/writer.ts';
import { connectWithKey } from '../../helpers/library-client.ts';

/** Clear of the interop tests' displays (sshd's 10, server-x11's 60). */
const OFFSET = 80;
const COOKIE = '00112233445566778899aabbccddeeff';

function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect(port, host);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

function connected(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1');
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function readAll(channel: Channel): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    channel.on('data', (chunk: Buffer) => (text += chunk.toString()));
    channel.once('end', () => resolve(text));
  });
}

const x11Request = (singleConnection: boolean, screen = 0, cookieHex = COOKIE) =>
  encodeX11Request({ singleConnection, protocol: 'MIT-MAGIC-COOKIE-1', cookieHex, screen });

describe('x11-req and display allocation', () => {
  it('decodes RFC 4254 §6.3.1 and lets only xauth-safe text through', () => {
    assert.deepEqual(decodeX11Request(x11Request(true, 2)), { singleConnection: true, protocol: 'MIT-MAGIC-COOKIE-1', cookie: COOKIE, screen: 2 });
    assert.throws(() => decodeX11Request(Buffer.concat([x11Request(false), Buffer.from([0])])));
    assert.equal(validXauthString('MIT-MAGIC-COOKIE-1'), true);
    assert.equal(validXauthString('abc; rm -rf ~'), false);
    assert.equal(validXauthString('ab\ncd'), false);
  });

  it('binds loopback or wildcard addresses of the families AddressFamily allows', () => {
    assert.deepEqual(displayAddresses(true, 'any'), ['::1', '127.0.0.1']);
    assert.deepEqual(displayAddresses(true, 'inet'), ['127.0.0.1']);
    assert.deepEqual(displayAddresses(false, 'inet6'), ['::']);
  });

  it('skips a display whose port is taken, and gives up at the display limit', async () => {
    const busy = createTcpServer();
    await new Promise<void>((resolve) => busy.listen(6000 + OFFSET + 5, '127.0.0.1', resolve));
    try {
      const listener = await listenOnFreeDisplay({ offset: OFFSET + 5, maxDisplays: 1000, useLocalhost: true, addressFamily: 'inet', onConnection: (s) => s.destroy() });
      assert.equal(listener.display, OFFSET + 6);
      await listener.close();
      assert.equal(await canConnect(6000 + OFFSET + 6), false);
      await assert.rejects(
        listenOnFreeDisplay({ offset: OFFSET + 5, maxDisplays: OFFSET + 6, useLocalhost: true, addressFamily: 'any', onConnection: (s) => s.destroy() }),
        (error: Error) => error instanceof X11DisplayError && error.message === 'Failed to allocate internet-domain X11 display socket.',
      );
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});

describe('server X11 forwarding in process', () => {
  let server: Server;
  let dir: string;
  let userKey: PrivateKey;
  let client: SshClient;

  const login = async () => connectWithKey(server.addresses[0]!.port, (await currentAccount()).name, userKey);

  /** Opens a session with X11 forwarding, starts `command` and resolves with the display's port once it prints DISPLAY. */
  async function x11Session(on: SshClient, command: string): Promise<{ session: Channel; port: number; output: Promise<string> }> {
    const session = await on.connection.openChannel('session');
    assert.equal(await session.request('x11-req', x11Request(false)), true);
    const output = readAll(session);
    assert.equal(await session.request('exec', new Writer().string(`echo "$DISPLAY"; ${command}`).finish()), true);
    const display = await new Promise<string>((resolve) => session.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    const number = /^localhost:(\d+)\.0$/m.exec(display)?.[1];
    assert.ok(number !== undefined && Number(number) >= OFFSET, display);
    return { session, port: 6000 + Number(number), output };
  }

  async function stopsListening(port: number): Promise<void> {
    const deadline = Date.now() + 5000;
    while ((await canConnect(port)) || (await canConnect(port, '::1'))) {
      assert.ok(Date.now() < deadline, `port ${port} still listens after the session ended`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tether-x11-'));
    userKey = generatePrivateKey('ed25519');
    writeFileSync(join(dir, 'authorized_keys'), `${userKey.publicKey.toLine()}\n`);
    const config = parseSshdConfigText(
      ['PermitRootLogin yes', 'StrictModes no', `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'X11Forwarding yes',
        `X11DisplayOffset ${OFFSET}`, 'XAuthLocation /bin/true', ''].join('\n'),
      'in-process',
    );
    server = createServer({ config, hostKeys: [generatePrivateKey('ed25519')], logger: silentLogger, listen: [{ address: '127.0.0.1', port: 0 }], switchUser: false });
    await server.listen();
    client = await login();
  });
  after(async () => {
    client?.end();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('single-connection: DISPLAY with the screen, one x11 channel with the originator, then no more listening', async () => {
    const session = await client.connection.openChannel('session');
    // Sent back to back: x11-req answers late, and the replies still come in order.
    const [first, second, env] = await Promise.all([
      session.request('x11-req', x11Request(true, 3)),
      session.request('x11-req', x11Request(false)),
      session.request('env', new Writer().string('LANG').string('C').finish()),
    ]);
    assert.deepEqual([first, second, env], [true, false, false]);
    const output = readAll(session);
    assert.equal(await session.request('exec', new Writer().string('echo "$DISPLAY"; sleep 1').finish()), true);
    // The display is known once the program prints it; the listener is up before the reply.
    const display = await new Promise<string>((resolve) => session.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
    const match = /^localhost:(\d+)\.3$/.exec(display);
    assert.ok(match, display);
    const port = 6000 + Number(match[1]);

    const opened = new Promise<{ data: Buffer; channel: Channel }>((resolve) => {
      client.channelHandlers.set('x11', (request) => resolve({ data: request.data, channel: request.accept() }));
    });
    const socket = await connected(port);
    const { data, channel } = await opened;
    const fields = new Reader(data);
    assert.deepEqual([fields.text(), fields.uint32()], ['127.0.0.1', socket.localPort]);
    const received = new Promise<string>((resolve) => channel.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    socket.write('hello X');
    assert.equal(await received, 'hello X');
    assert.equal(await canConnect(port), false, 'single-connection: the listener is closed after the first connection');
    socket.destroy();
    await output;
  });

  it('a cookie with shell characters is refused; the session goes on without DISPLAY', async () => {
    const session = await client.connection.openChannel('session');
    assert.equal(await session.request('x11-req', x11Request(false, 0, 'ab$(id)')), false);
    const output = readAll(session);
    assert.equal(await session.request('exec', new Writer().string('echo "[$DISPLAY]"').finish()), true);
    assert.equal(await output, '[]\n');
  });

  it('the display stops listening when the session ends, and two sessions get two displays', async () => {
    const [one, two] = await Promise.all([x11Session(client, 'sleep 0.3'), x11Session(client, 'sleep 0.3')]);
    assert.notEqual(one.port, two.port);
    await Promise.all([one.output, two.output]);
    await stopsListening(one.port);
    await stopsListening(two.port);
  });

  it('X11UseLocalhost no: DISPLAY names this host and the display listens on the wildcard address', async () => {
    const config = parseSshdConfigText(
      ['PermitRootLogin yes', 'StrictModes no', `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'X11Forwarding yes', 'X11UseLocalhost no',
        'AddressFamily inet', `X11DisplayOffset ${OFFSET + 10}`, 'XAuthLocation /bin/true', ''].join('\n'),
      'in-process',
    );
    const wildcard = createServer({ config, hostKeys: [generatePrivateKey('ed25519')], logger: silentLogger, listen: [{ address: '127.0.0.1', port: 0 }], switchUser: false });
    await wildcard.listen();
    const other = await connect({
      host: '127.0.0.1',
      port: wildcard.addresses[0]!.port,
      username: (await currentAccount()).name,
      verifyHostKey: () => {},
      auth: { keys: () => [{ publicKey: userKey.publicKey, label: 'key', sign: async (data, algorithm) => userKey.sign(data, algorithm) }] },
    });
    try {
      const session = await other.connection.openChannel('session');
      assert.equal(await session.request('x11-req', x11Request(false)), true);
      assert.equal(await session.request('exec', new Writer().string('echo "$DISPLAY"; sleep 1').finish()), true);
      const display = await new Promise<string>((resolve) => session.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
      assert.equal(display, `${hostname()}:${OFFSET + 10}.0`);
      // /proc/net/tcp: "local_address rem_address st", hex; 0A is LISTEN.
      const port = (6000 + OFFSET + 10).toString(16).toUpperCase().padStart(4, '0');
      const listening = (file: string) => readFileSync(file, 'utf8').split('\n').filter((line) => new RegExp(`^\\s*\\d+: ([0-9A-F]+):${port} [0-9A-F]+:0000 0A `).test(line))
        .map((line) => /: ([0-9A-F]+):/.exec(line)![1]);
      assert.deepEqual(listening('/proc/net/tcp'), ['00000000'], 'the IPv4 wildcard address only');
      assert.deepEqual(listening('/proc/net/tcp6'), [], 'AddressFamily inet: no IPv6 socket');
    } finally {
      other.end();
      await wildcard.close();
    }
  });

  it('the display stops listening when the connection drops with the program still running', async () => {
    const other = await login();
    const { port } = await x11Session(other, 'sleep 30');
    assert.equal(await canConnect(port), true);
    other.end();
    await stopsListening(port);
  });
});
