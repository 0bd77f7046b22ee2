/**
 * A hostile or broken server must end `tether ssh` with a clear message and exit 255: never a hang, never a
 * stack trace. The garbage comes from small servers in the test and from a proxy that corrupts a real sshd's
 * stream.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { makeKey, publicKeyLine, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { runTether } from '../helpers/tether.ts';
import { startTestServer, TEST_USER } from './server-harness.ts';
import type { ServerConnection } from '../../src/server/server-connection.ts';

/** A TCP server on 127.0.0.1 treating each connection with `behaviour`; `stop()` drops every connection. */
async function fakeServer(behaviour: (socket: Socket) => void): Promise<{ port: number; server: Server; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    behaviour(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    server,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const home = tempDir();

async function sshTo(port: number, extra: string[] = []) {
  const result = await runTether(
    ['ssh', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`,
      '-o', 'ConnectTimeout=20', '-p', String(port), ...extra, 'root@127.0.0.1', 'true'],
    { env: { HOME: home }, timeoutMs: 30_000 },
  );
  assert.equal(result.timedOut, false, 'tether ssh hung');
  assert.equal(result.status, 255, result.stderr);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'a stack trace was printed');
  return result.stderr;
}

describe('tether ssh against broken servers', () => {
  test('random bytes instead of an identification string', async () => {
    const fake = await fakeServer((socket) => socket.end(randomBytes(20_000)));
    try {
      const stderr = await sshTo(fake.port);
      assert.match(stderr, /kex_exchange_identification|Connection closed by/);
    } finally {
      await fake.stop();
    }
  });

  test('a truncated packet, then the connection closes', async () => {
    const fake = await fakeServer((socket) => {
      socket.write('SSH-2.0-Broken_1.0\r\n');
      // 4 + 0x10c bytes is a whole number of 8-byte blocks: a plausible packet, cut short.
      socket.end(Buffer.from([0, 0, 1, 0x0c, 10, 20, 1, 2, 3]));
    });
    try {
      const stderr = await sshTo(fake.port);
      assert.match(stderr, /Connection closed by 127\.0\.0\.1 port \d+/);
    } finally {
      await fake.stop();
    }
  });

  test('a packet length of 2^31', async () => {
    const fake = await fakeServer((socket) => {
      socket.write('SSH-2.0-Broken_1.0\r\n');
      // The socket stays open: the client must give up on its own.
      socket.write(Buffer.concat([Buffer.from([0x80, 0, 0, 0]), randomBytes(64)]));
    });
    try {
      const stderr = await sshTo(fake.port);
      assert.match(stderr, /Bad packet length 2147483648\./);
    } finally {
      await fake.stop();
    }
  });

  test('a server that says nothing is abandoned after ConnectTimeout', async () => {
    const fake = await fakeServer(() => {});
    try {
      const result = await runTether(['ssh', '-F', 'none', '-o', 'ConnectTimeout=1', '-p', String(fake.port), 'root@127.0.0.1', 'true'], {
        env: { HOME: home },
        timeoutMs: 15_000,
      });
      assert.equal(result.timedOut, false);
      assert.equal(result.status, 255);
      assert.match(result.stderr, /timed out/);
    } finally {
      await fake.stop();
    }
  });

  test('a refused connection is reported like ssh', async () => {
    const fake = await fakeServer(() => {});
    await fake.stop();
    const stderr = await sshTo(fake.port);
    assert.match(stderr, new RegExp(`ssh: connect to host 127\\.0\\.0\\.1 port ${fake.port}: Connection refused`));
  });
});

describe('tether ssh when a real sshd stream is corrupted in transit', () => {
  let sshd: RunningSshd;
  let key: string;

  before(async () => {
    key = makeKey(home, 'id_ed25519', 'ed25519');
    sshd = await startSshd({ authorizedKeys: [publicKeyLine(key)] });
  });
  after(() => sshd.stop());

  test('a flipped bit after key exchange is a MAC error, exit 255', async () => {
    // A proxy that flips one bit of the server's stream well after the key exchange.
    const FLIP_AT = 40_000;
    const proxy = await fakeServer((client) => {
      const upstream = connect(sshd.port, '127.0.0.1');
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      let seen = 0;
      upstream.on('data', (chunk: Buffer) => {
        if (seen <= FLIP_AT && seen + chunk.length > FLIP_AT) {
          chunk = Buffer.from(chunk);
          chunk[FLIP_AT - seen]! ^= 0x10;
        }
        seen += chunk.length;
        client.write(chunk);
      });
    });
    try {
      const result = await runTether(
        ['ssh', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`,
          '-i', key, '-p', String(proxy.port), 'root@127.0.0.1', 'head -c 200000 /dev/zero'],
        { env: { HOME: home }, timeoutMs: 30_000 },
      );
      assert.equal(result.timedOut, false);
      assert.equal(result.status, 255, result.stderr);
      assert.match(result.stderr, /Corrupted MAC on input\./);
      assert.doesNotMatch(result.stderr, /^\s+at /m);
      assert.ok(result.stdout.length < 200_000, 'output after the corruption must not be delivered');
    } finally {
      await proxy.stop();
    }
  });

  test('a cipher the server does not offer: "Unable to negotiate"', async () => {
    const restricted = await startSshd({ authorizedKeys: [publicKeyLine(key)], config: ['Ciphers aes128-ctr'] });
    try {
      const result = await runTether(
        ['ssh', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`,
          '-i', key, '-p', String(restricted.port), '-o', 'Ciphers=aes256-gcm@openssh.com', 'root@127.0.0.1', 'true'],
        { env: { HOME: home } },
      );
      assert.equal(result.status, 255);
      assert.match(result.stderr, new RegExp(`Unable to negotiate with 127\\.0\\.0\\.1 port ${restricted.port}: no matching cipher found\\. Their offer: aes128-ctr`));
    } finally {
      await restricted.stop();
    }
  });
});

describe('tether ssh when the server says goodbye', () => {
  test('a DISCONNECT right after login reaches the user with its reason, as ssh prints it', async () => {
    const server = await startTestServer();
    server.server.on('connection', (connection: ServerConnection) => {
      connection.once('authenticated', () => connection.disconnect('Maintenance: come back later'));
    });
    try {
      const result = await runTether(
        ['ssh', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`,
          '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', server.clientKey, '-p', String(server.port), `${TEST_USER}@127.0.0.1`, 'true'],
        { env: { HOME: home }, timeoutMs: 30_000 },
      );
      assert.equal(result.timedOut, false);
      assert.equal(result.status, 255, result.stderr);
      assert.match(result.stderr, new RegExp(`^Received disconnect from 127\\.0\\.0\\.1 port ${server.port}:11: Maintenance: come back later$`, 'm'));
      assert.match(result.stderr, new RegExp(`^Disconnected from 127\\.0\\.0\\.1 port ${server.port}$`, 'm'));
      assert.doesNotMatch(result.stderr, /connection is closed/);
    } finally {
      await server.stop();
    }
  });
});
