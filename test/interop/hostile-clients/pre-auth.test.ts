/**
 * Hostile clients before authentication, against a real `tether server` process (issue 21, "Must show"):
 * garbage instead of an identification, random bytes, truncated, oversized and misaligned packets, messages
 * out of order, KEXINIT floods, slowloris on the version line and 2,000 half-open connections. Each attack
 * checks the protocol answer where one is defined (DISCONNECT reason, sshd's identification replies) and is
 * followed by the recovery check: a stock ssh logs in and moves 16 MiB intact, RSS back within 10% of the
 * baseline, descriptors at the baseline.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { checkRecovered, fdCount, measureBaseline, startServerProcess, stockClientTransfer, TEST_USER, type Baseline, type ServerProcess } from '../../helpers/server-process.ts';
import { disconnectOf, keyedTransport, plainMessages, plainPacket, rawConnect, SSH_MSG, type RawConnection } from '../../helpers/hostile-client.ts';
import { kexInit } from '../../helpers/raw-transport.ts';
import { Writer } from '../../../src/wire/writer.ts';
import { DisconnectError } from '../../../src/wire/errors.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const PROTOCOL_ERROR = 2;
const GRACE_SECONDS = 4;

describe('hostile clients before authentication', () => {
  let server: ServerProcess;
  let baseline: Baseline;
  before(async () => {
    // A short LoginGraceTime bounds what slowloris and half-open connections can hold; 4096 descriptors is
    // enough for 2,000 half-open connections and makes exhaustion reachable with bounded counts.
    server = await startServerProcess({ config: [`LoginGraceTime ${GRACE_SECONDS}`], fdLimit: 4096 });
    baseline = await measureBaseline(server);
  });
  after(async () => {
    await server?.stop();
  });

  async function assertRecovered(attack: string): Promise<void> {
    const recovery = await checkRecovered(server, baseline, attack);
    assert.deepEqual(recovery.problems, [], recovery.problems.join('\n'));
  }

  /** Sends `bytes` after a valid identification; returns the connection once the server closed it (bounded). */
  async function afterIdentification(bytes: Buffer | Buffer[], what: string): Promise<RawConnection> {
    const raw = await rawConnect(server.port);
    await raw.identification();
    raw.socket.write('SSH-2.0-Hostile_1.0\r\n');
    for (const chunk of [bytes].flat()) raw.socket.write(chunk);
    const closed = await raw.closed(5000);
    raw.destroy();
    assert.ok(closed, `${what}: the server did not close the connection within 5 s`);
    return raw;
  }

  function assertDisconnect(raw: RawConnection, reason: number, what: string, description?: RegExp): void {
    const disconnect = disconnectOf(plainMessages(raw.received()));
    assert.ok(disconnect, `${what}: the server closed without SSH_MSG_DISCONNECT`);
    assert.equal(disconnect.reason, reason, `${what}: DISCONNECT reason ${disconnect.reason} (${disconnect.description}), expected ${reason}`);
    if (description) assert.match(disconnect.description, description, `${what}: DISCONNECT description`);
  }

  it('an invalid identification gets sshd\'s one-line answer; an SSH-1 one "Protocol major versions differ."', async () => {
    for (const [sent, answer] of [
      [randomBytes(4096), 'Invalid SSH identification string.'],
      [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 'Invalid SSH identification string.'],
      [Buffer.from('SSH-1.5-Old\r\n'), 'Protocol major versions differ.'],
    ] as const) {
      const raw = await rawConnect(server.port);
      const ours = await raw.identification();
      raw.socket.write(sent);
      assert.ok(await raw.closed(5000), `identification ${JSON.stringify(sent.subarray(0, 16).toString('latin1'))}: the server did not close within 5 s`);
      const text = raw.received().toString('latin1');
      assert.equal(text, `${ours}\r\n${answer}\r\n`, 'the server sends its identification, then exactly sshd\'s reply line');
      raw.destroy();
    }
    await assertRecovered('invalid identification lines');
  });

  it('random bytes after the identification end the connection with DISCONNECT protocol error', async () => {
    for (let i = 0; i < 20; i++) {
      const noise = randomBytes(65536);
      // A random first word may by chance be a plausible length: the server then waits for the rest.
      noise.writeUInt32BE(0x80000000 + i, 0);
      const raw = await afterIdentification(noise, `random bytes #${i}`);
      assertDisconnect(raw, PROTOCOL_ERROR, `random bytes #${i}`);
    }
    await assertRecovered('random bytes');
  });

  it('packet_length 2^32-1, 300,000 and a length not a multiple of the block size are refused with a DISCONNECT', async () => {
    const header = (length: number) => {
      const bytes = Buffer.alloc(64, 0x41);
      bytes.writeUInt32BE(length, 0);
      return bytes;
    };
    for (const [length, description] of [
      [0xffffffff, /^Bad packet length 4294967295\.$/],
      [300_000, /^Bad packet length 300000\.$/],
      [35_001, /block size|Bad packet length/],
      [13, /block size|Bad packet length/],
    ] as const) {
      const raw = await afterIdentification(header(length), `packet_length ${length}`);
      assertDisconnect(raw, PROTOCOL_ERROR, `packet_length ${length}`, description);
    }
    await assertRecovered('oversized and misaligned packets');
  });

  it('a 40,000-byte packet (over RFC 4253\'s 35,000 minimum) is accepted; a truncated packet then EOF ends quietly', async () => {
    const raw = await rawConnect(server.port);
    await raw.identification();
    raw.socket.write('SSH-2.0-Hostile_1.0\r\n');
    raw.socket.write(plainPacket(kexInit(false)));
    raw.socket.write(plainPacket(Buffer.concat([Buffer.from([SSH_MSG.IGNORE]), Buffer.alloc(40_000)])));
    assert.equal(await raw.closed(1000), false, 'a 40,000-byte IGNORE before the key exchange is legal (RFC 4253 §6.1)');
    // Now half a packet, then our end of the stream.
    const truncated = plainPacket(Buffer.concat([Buffer.from([SSH_MSG.IGNORE]), Buffer.alloc(100)]));
    raw.socket.end(truncated.subarray(0, 50));
    assert.ok(await raw.closed(5000), 'after a truncated packet and EOF the server closes within 5 s');
    raw.destroy();
    await server.waitForLog(/^Connection (closed|reset) by 127\.0\.0\.1 port \d+/, 5000);
    await assertRecovered('a 40,000-byte packet and a truncated one');
  });

  it('messages out of order: USERAUTH or a connection message before the key exchange is a protocol error', async () => {
    for (const type of [SSH_MSG.USERAUTH_REQUEST, SSH_MSG.CHANNEL_OPEN, SSH_MSG.NEWKEYS, 255]) {
      const body = Buffer.concat([Buffer.from([type]), Buffer.alloc(12)]);
      const raw = await afterIdentification(plainPacket(body), `message ${type} first`);
      assertDisconnect(raw, PROTOCOL_ERROR, `message ${type} before KEXINIT`);
    }
    await assertRecovered('messages before the key exchange');
  });

  it('after keys but before SERVICE_REQUEST: USERAUTH_REQUEST, message 150 and message 255 are answered or refused', async () => {
    // sshd 9.2 (dispatch.c dispatch_protocol_error) answers an unexpected message with UNIMPLEMENTED and goes on;
    // a type of 192 or more is "Invalid ssh2 packet type" (packet.c), DISCONNECT protocol error. A server may
    // also treat an out-of-order USERAUTH_REQUEST as a protocol error (RFC 4253 §11.4 leaves that open).
    const userauth = new Writer().byte(SSH_MSG.USERAUTH_REQUEST).string(TEST_USER).string('ssh-connection').string('none').finish();
    for (const [what, payload] of [
      ['USERAUTH_REQUEST before SERVICE_REQUEST', userauth],
      ['message 150 before SERVICE_REQUEST', Buffer.from([150, 1, 2, 3])],
      ['message 255 before SERVICE_REQUEST', Buffer.from([255, 1, 2, 3])],
    ] as const) {
      const connection = await keyedTransport(server.port, { kex: ['curve25519-sha256'] });
      try {
        connection.transport.send(payload);
        for (const deadline = Date.now() + 5000; connection.unimplemented.length < 1 && !connection.transport.isClosed && Date.now() < deadline; ) await sleep(20);
        if (connection.transport.isClosed) {
          const ended = await connection.transport.closed;
          assert.ok(ended instanceof DisconnectError && ended.byPeer, `${what}: the server closed without a DISCONNECT (${ended?.message})`);
          assert.equal(ended.reason, PROTOCOL_ERROR, `${what}: DISCONNECT reason (${ended.message})`);
        } else {
          assert.deepEqual(connection.unimplemented, [0], `${what}: SSH_MSG_UNIMPLEMENTED for sequence number 0 within 5 s`);
        }
      } finally {
        connection.transport.disconnect();
      }
    }
    await assertRecovered('unexpected messages before SERVICE_REQUEST');
  });

  it('KEXINIT floods: 2,000 KEXINITs in one burst, and 200 connections each re-sending KEXINIT, stay bounded', async () => {
    const flood = Buffer.concat(Array.from({ length: 2000 }, () => plainPacket(kexInit(false))));
    const raw = await rawConnect(server.port);
    await raw.identification();
    raw.socket.write('SSH-2.0-Hostile_1.0\r\n');
    raw.socket.write(flood);
    assert.ok(await raw.closed(10_000), 'a second KEXINIT during the key exchange ends the connection within 10 s');
    raw.destroy();
    assertDisconnect(raw, PROTOCOL_ERROR, 'KEXINIT flood');
    const storms: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      storms.push(
        (async () => {
          const one = await rawConnect(server.port).catch(() => undefined);
          if (!one) return;
          one.socket.write('SSH-2.0-Hostile_1.0\r\n');
          one.socket.write(Buffer.concat([plainPacket(kexInit(true)), plainPacket(kexInit(true)), plainPacket(kexInit(true))]));
          await one.closed(10_000);
          one.destroy();
        })(),
      );
      if (i % 20 === 19) await Promise.all(storms.splice(0));
    }
    await Promise.all(storms);
    await assertRecovered('KEXINIT floods');
  });

  it('slowloris on the version line: one byte every 100 ms is cut off at LoginGraceTime; others log in meanwhile', async () => {
    const slow: RawConnection[] = [];
    const started = Date.now();
    for (let i = 0; i < 8; i++) slow.push(await rawConnect(server.port));
    const line = Buffer.from(`SSH-2.0-${'x'.repeat(200)}`);
    let sending = true;
    const drip = (async () => {
      for (let i = 0; sending && i < line.length; i++) {
        for (const raw of slow) if (!raw.socket.destroyed) raw.socket.write(line.subarray(i, i + 1));
        await sleep(100);
      }
    })();
    try {
      const during = await stockClientTransfer(server);
      assert.equal(during, undefined, `a legitimate client during slowloris: ${during}`);
      const closed = await Promise.all(slow.map((raw) => raw.closed((GRACE_SECONDS + 4) * 1000)));
      assert.deepEqual(closed, slow.map(() => true), `every slow connection is closed within LoginGraceTime ${GRACE_SECONDS} s (+4 s)`);
      assert.ok(Date.now() - started >= (GRACE_SECONDS - 0.5) * 1000, 'not before LoginGraceTime');
      await server.waitForLog(/^Timeout before authentication for 127\.0\.0\.1 port \d+$/, 1000);
    } finally {
      sending = false;
      await drip;
      for (const raw of slow) raw.destroy();
    }
    await assertRecovered('slowloris');
  });

  it('2,000 half-open connections (nothing, or part of the version line): served or dropped per MaxStartups, then released', async () => {
    const held: RawConnection[] = [];
    try {
      for (let i = 0; i < 2000; i++) {
        const raw = await rawConnect(server.port);
        if (i % 2 === 1) raw.socket.write('SSH-2.0-Ha');
        held.push(raw);
      }
      // Dropped connections get "Exceeded MaxStartups" and are closed (within a second here, at once in sshd).
      await sleep(1500);
      assert.ok(server.alive(), 'the server survives 2,000 half-open connections');
      const texts = held.map((raw) => raw.received().toString('latin1'));
      const served = texts.filter((text) => text.startsWith('SSH-2.0-')).length;
      const dropped = texts.filter((text) => text === 'Exceeded MaxStartups\r\n').length;
      const other = texts.filter((text) => text !== '' && !text.startsWith('SSH-2.0-') && text !== 'Exceeded MaxStartups\r\n');
      assert.deepEqual(other.slice(0, 3), [], 'every connection gets the identification or sshd\'s "Exceeded MaxStartups"');
      // MaxStartups 10:30:100 (the default): at most 100 unauthenticated connections are ever served.
      assert.ok(served <= 100, `at most 100 concurrent unauthenticated connections are served (MaxStartups 10:30:100), got ${served}`);
      assert.ok(dropped >= 1900, `the rest are dropped with "Exceeded MaxStartups", got ${dropped} of 2000 (served ${served})`);
      assert.ok(fdCount(server.pid) < baseline.fds + 200, `the server does not hold descriptors for dropped connections: ${fdCount(server.pid)} open`);
    } finally {
      for (const raw of held) raw.destroy();
    }
    await assertRecovered('2,000 half-open connections');
  });
});

