import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/openssh.ts';
import { connectToDisplay, DisplayConnectError } from '../../../src/client/x11/connect-display.ts';

function listen(server: Server, where: string | number): Promise<void> {
  return new Promise((resolve) => (typeof where === 'string' ? server.listen(where, resolve) : server.listen(where, '127.0.0.1', resolve)));
}

describe('connecting to the local display', () => {
  let dir: string;
  let unixServer: Server;
  let tcpServer: Server;
  const greeting = (socket: import('node:net').Socket) => socket.end('display here');

  before(async () => {
    dir = tempDir();
    unixServer = createServer(greeting);
    await listen(unixServer, join(dir, 'X9'));
    tcpServer = createServer(greeting);
    await listen(tcpServer, 0);
  });
  after(() => {
    unixServer.close();
    tcpServer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const read = (socket: import('node:net').Socket) =>
    new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('end', () => {
        socket.destroy();
        resolve(text);
      });
    });

  test('a Unix socket display: the first path that accepts', async () => {
    const socket = await connectToDisplay({ kind: 'unix', paths: [join(dir, 'missing'), join(dir, 'X9')], displayNumber: 9, screen: 0 });
    assert.equal(await read(socket), 'display here');
  });

  test('a TCP display', async () => {
    const port = (tcpServer.address() as { port: number }).port;
    const socket = await connectToDisplay({ kind: 'tcp', host: '127.0.0.1', port, displayNumber: port - 6000, screen: 0 });
    assert.equal(await read(socket), 'display here');
  });

  test('an absent display fails with ssh\'s "connect PATH: strerror" message', async () => {
    const path = join(dir, 'X404');
    await assert.rejects(connectToDisplay({ kind: 'unix', paths: [path], displayNumber: 404, screen: 0 }),
      new DisplayConnectError(`connect ${path}: No such file or directory`));
  });
});
