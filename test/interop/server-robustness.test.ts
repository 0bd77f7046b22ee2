/**
 * One connection's failure stays in that connection: garbage after the version exchange ends it with a
 * DISCONNECT while a concurrent session carries on and new connections are still served. Also the
 * pre-authentication limits (LoginGraceTime, MaxStartups) and MaxSessions.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { keyAuth, ssh, startTestServer, TEST_USER, type TestServer } from './server-harness.ts';

/** Opens a raw TCP connection and resolves with everything the server sent until it closed (bounded). */
function rawSession(port: number, send: (socket: Socket, banner: string) => void, timeoutMs = 10_000): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let sent = false;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ data: Buffer.concat(chunks), closed: false });
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString('latin1');
      if (!sent && text.includes('\r\n')) {
        sent = true;
        send(socket, text.slice(0, text.indexOf('\r\n')));
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), closed: true });
    });
  });
}

/** The unencrypted packets (before NEWKEYS) in what the server sent after its identification line. */
function plainPackets(data: Buffer): Buffer[] {
  let offset = data.indexOf('\r\n') + 2;
  const payloads: Buffer[] = [];
  while (offset + 5 <= data.length) {
    const length = data.readUInt32BE(offset);
    const padding = data[offset + 4]!;
    if (offset + 4 + length > data.length) break;
    payloads.push(data.subarray(offset + 5, offset + 4 + length - padding));
    offset += 4 + length;
  }
  return payloads;
}

describe('failures stay inside their connection', () => {
  let test: TestServer;
  before(async () => {
    test = await startTestServer({ config: ['MaxSessions 2'] });
  });
  after(async () => {
    await test?.stop();
  });

  it('garbage after the version exchange ends that connection with a DISCONNECT; a concurrent session keeps working', async () => {
    const longSession = ssh(test, [...keyAuth(test), `${TEST_USER}@127.0.0.1`, 'sleep 1.5; echo still-alive']);
    await test.waitForLog(/Starting session: command/);
    const raw = await rawSession(test.port, (socket) => {
      socket.write('SSH-2.0-Garbage_1.0\r\n');
      // A packet length of 0xffffffff, then noise.
      socket.write(Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.alloc(64, 0x41)]));
    });
    assert.equal(raw.closed, true, 'the server closed the bad connection');
    const packets = plainPackets(raw.data);
    const disconnect = packets.find((payload) => payload[0] === 1);
    assert.ok(disconnect, 'a DISCONNECT message was sent');
    assert.equal(disconnect.readUInt32BE(1), 2, 'reason SSH_DISCONNECT_PROTOCOL_ERROR');
    await test.waitForLog(/Bad packet length/);

    const result = await longSession;
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'still-alive\n');
    const after = await ssh(test, [...keyAuth(test), `${TEST_USER}@127.0.0.1`, 'echo next']);
    assert.equal(after.stdout.toString(), 'next\n');
  });

  it('a garbled identification line is refused without harming the server', async () => {
    const raw = await rawSession(test.port, (socket) => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    assert.equal(raw.closed, true);
    const after = await ssh(test, [...keyAuth(test), `${TEST_USER}@127.0.0.1`, 'echo ok']);
    assert.equal(after.stdout.toString(), 'ok\n');
  });

  it('MaxSessions limits session channels per connection (a ControlMaster\'s third session is refused)', async () => {
    // Two sessions on one connection through a ControlMaster, the third refused.
    const control = `${test.dir}/cm-%C`;
    const base = [...keyAuth(test), '-o', `ControlPath=${control}`];
    const master = ssh(test, [...base, '-o', 'ControlMaster=yes', '-N', `${TEST_USER}@127.0.0.1`], { timeoutMs: 20_000 });
    try {
      let ready = false;
      for (let i = 0; i < 50 && !ready; i++) {
        ready = (await ssh(test, [...base, '-O', 'check', `${TEST_USER}@127.0.0.1`])).status === 0;
        if (!ready) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(ready, 'control master is up');
      const startedBefore = test.logLines.filter((l) => l.startsWith('Starting session')).length;
      const first = ssh(test, [...base, `${TEST_USER}@127.0.0.1`, 'sleep 3; echo one']);
      const second = ssh(test, [...base, `${TEST_USER}@127.0.0.1`, 'sleep 3; echo two']);
      for (let i = 0; i < 50 && test.logLines.filter((l) => l.startsWith('Starting session')).length < startedBefore + 2; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      // The master's third session is refused; ssh then falls back to a connection of its own.
      const third = await ssh(test, [...base, `${TEST_USER}@127.0.0.1`, 'echo three']);
      assert.match(third.stderr, /session request failed: Session open refused by peer/);
      await test.waitForLog(/^error: no more sessions \(MaxSessions 2\)$/);
      assert.equal((await first).stdout.toString(), 'one\n');
      assert.equal((await second).stdout.toString(), 'two\n');
    } finally {
      await ssh(test, [...base, '-O', 'exit', `${TEST_USER}@127.0.0.1`]);
      await master.catch(() => undefined);
    }
  });
});

describe('pre-authentication limits', () => {
  let test: TestServer;
  before(async () => {
    test = await startTestServer({ config: ['LoginGraceTime 1', 'MaxStartups 2:100:2'] });
  });
  after(async () => {
    await test?.stop();
  });

  it('LoginGraceTime closes a connection that does not authenticate in time', async () => {
    const started = Date.now();
    const raw = await rawSession(test.port, (socket) => socket.write('SSH-2.0-Idle_1.0\r\n'), 5000);
    assert.equal(raw.closed, true);
    assert.ok(Date.now() - started >= 900, 'not before the grace time');
    await test.waitForLog(/^Timeout before authentication for 127\.0\.0\.1 port \d+$/);
  });

  it('MaxStartups drops connections past the limit of unauthenticated ones', async () => {
    const holders = [0, 1].map(() => connect(test.port, '127.0.0.1'));
    try {
      await Promise.all(holders.map((s) => new Promise((r) => s.once('data', r))));
      const dropped = await rawSession(test.port, () => {}, 3000);
      assert.match(dropped.data.toString(), /^Exceeded MaxStartups\r\n$/);
      await test.waitForLog(/drop connection #\d+ from \[127\.0\.0\.1\]:\d+ on \[127\.0\.0\.1\]:\d+ past MaxStartups/);
    } finally {
      for (const socket of holders) socket.destroy();
    }
  });
});

describe('ClientAliveInterval', () => {
  let test: TestServer;
  before(async () => {
    test = await startTestServer({ config: ['ClientAliveInterval 1', 'ClientAliveCountMax 1'] });
  });
  after(async () => {
    await test?.stop();
  });

  it('gives up on a client that stops answering keepalive@openssh.com probes', async () => {
    let pid = 0;
    const session = ssh(test, [...keyAuth(test), `${TEST_USER}@127.0.0.1`, 'sleep 20'], { timeoutMs: 30_000, onSpawn: (p) => (pid = p) });
    await test.waitForLog(/Starting session: command/);
    // A stopped client cannot answer: after CountMax unanswered probes the server ends the connection.
    process.kill(pid, 'SIGSTOP');
    try {
      await test.waitForLog(/^Timeout, client not responding from user tethertest 127\.0\.0\.1 port \d+$/, 10_000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const result = await session;
    assert.notEqual(result.status, 0);
  });
});

