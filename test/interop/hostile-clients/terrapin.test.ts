/**
 * Terrapin over TCP (CVE-2023-48795; OpenSSH PROTOCOL §1.10 "strict key exchange"): a man in the middle of
 * our own, between real client and server processes, inserts an SSH_MSG_IGNORE before NEWKEYS — alone, and
 * with the first packet after NEWKEYS removed to put the sequence numbers back (the attack proper). Strict
 * kex must abort the connection on both sides, in each direction, for tether ssh ↔ tether server, stock ssh
 * ↔ tether server and tether ssh ↔ sshd. (test/unit/transport/transport.test.ts covers the same in memory.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server as TcpServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { plainPacket } from '../../helpers/hostile-client.ts';
import { sshdWithClientKey, type SshdWithClientKey } from '../../helpers/openssh.ts';
import { runProgram, startServerProcess, TEST_USER, type ServerProcess } from '../../helpers/server-process.ts';
import { tetherMainModule } from '../server-harness.ts';

type Direction = 'to-server' | 'to-client' | 'none';
type Variant = 'ignore' | 'ignore-and-drop';

/**
 * One direction of the relay: passes the identification line, frames the plain packets up to NEWKEYS
 * (inserting the IGNORE after KEXINIT when this is the attacked direction), optionally drops the first packet
 * after NEWKEYS, then only relays.
 */
class Tap {
  private buffer = Buffer.alloc(0);
  private sawIdentification = false;
  private plain = true;
  private passThrough = false;
  private readonly inject: boolean;
  private readonly variant: Variant;
  injected = false;
  constructor(inject: boolean, variant: Variant) {
    this.inject = inject;
    this.variant = variant;
  }

  /** Returns what to forward for `chunk`. */
  push(chunk: Buffer): Buffer {
    if (this.passThrough) return chunk;
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const out: Buffer[] = [];
    if (!this.sawIdentification) {
      const end = this.buffer.indexOf('\n');
      if (end < 0) return Buffer.alloc(0);
      out.push(this.buffer.subarray(0, end + 1));
      this.buffer = this.buffer.subarray(end + 1);
      this.sawIdentification = true;
    }
    while (!this.passThrough && this.buffer.length >= 4) {
      // After NEWKEYS the test pins hmac-sha2-256-etm, whose packet length stays in clear, MAC 32 bytes.
      const total = 4 + this.buffer.readUInt32BE(0) + (this.plain ? 0 : 32);
      if (this.buffer.length < total) break;
      const packet = this.buffer.subarray(0, total);
      this.buffer = this.buffer.subarray(total);
      if (!this.plain) {
        // The attack proper: after the IGNORE the receiver's sequence number is one ahead; removing one
        // encrypted packet (EXT_INFO) would make it agree again were it not for strict kex's reset.
        this.passThrough = true;
        continue;
      }
      out.push(packet);
      if (packet[5] === 20 && this.inject) {
        out.push(plainPacket(Buffer.from([2, 0, 0, 0, 4, 0x74, 0x65, 0x72, 0x72])));
        this.injected = true;
      }
      if (packet[5] === 21) {
        this.plain = false;
        if (!(this.injected && this.variant === 'ignore-and-drop')) this.passThrough = true;
      }
    }
    if (this.passThrough) {
      out.push(this.buffer);
      this.buffer = Buffer.alloc(0);
    }
    return Buffer.concat(out);
  }
}

interface Mitm {
  port: number;
  /** Per relayed connection: whether each leg closed, and whether the injection happened. */
  sessions: Array<{ clientClosed: boolean; serverClosed: boolean; injected: () => boolean }>;
  close(): Promise<void>;
}

function startMitm(upstreamPort: number, direction: Direction, variant: Variant): Promise<Mitm> {
  const sessions: Mitm['sessions'] = [];
  const sockets = new Set<Socket>();
  const server: TcpServer = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    const toServer = new Tap(direction === 'to-server', variant);
    const toClient = new Tap(direction === 'to-client', variant);
    const session = { clientClosed: false, serverClosed: false, injected: () => toServer.injected || toClient.injected };
    sessions.push(session);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
    }
    client.on('data', (chunk: Buffer) => upstream.write(toServer.push(chunk)));
    upstream.on('data', (chunk: Buffer) => client.write(toClient.push(chunk)));
    client.on('close', () => ((session.clientClosed = true), upstream.end()));
    upstream.on('close', () => ((session.serverClosed = true), client.end()));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as { port: number }).port,
        sessions,
        close: () => {
          for (const socket of sockets) socket.destroy();
          return new Promise((done) => server.close(() => done()));
        },
      }),
    ),
  );
}

/** Client options shared by both clients: EtM (length in clear) so the relay can find packet boundaries. */
function clientOptions(port: number, key: string, knownHosts: string): string[] {
  return [
    '-F', 'none',
    '-o', `UserKnownHostsFile=${knownHosts}`,
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'ConnectTimeout=10',
    '-o', 'KexAlgorithms=curve25519-sha256',
    '-c', 'aes128-ctr',
    '-m', 'hmac-sha2-256-etm@openssh.com',
    '-i', key,
    '-p', String(port),
  ];
}

const tetherSsh = (args: string[]) => {
  const program = `import(${JSON.stringify(tetherMainModule())}).then((m) => m.runAsProgram(["ssh", ...process.argv.slice(1)]))`;
  return runProgram(process.execPath, ['--input-type=module', '-e', program, '--', ...args], '', 20_000);
};
const stockSsh = (args: string[]) => runProgram('/usr/bin/ssh', args, '', 20_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Terrapin: an IGNORE injected before NEWKEYS over TCP aborts the connection on both sides', () => {
  let tetherServer: ServerProcess;
  let sshd: SshdWithClientKey;
  before(async () => {
    tetherServer = await startServerProcess();
    sshd = await sshdWithClientKey();
  });
  after(async () => {
    await tetherServer?.stop();
    await sshd?.sshd.stop();
  });

  const pairs = [
    { name: 'tether ssh ↔ tether server', client: tetherSsh, server: () => ({ port: tetherServer.port, key: tetherServer.clientKey, user: TEST_USER, dir: tetherServer.dir, log: () => tetherServer.log() }) },
    { name: 'stock ssh ↔ tether server', client: stockSsh, server: () => ({ port: tetherServer.port, key: tetherServer.clientKey, user: TEST_USER, dir: tetherServer.dir, log: () => tetherServer.log() }) },
    { name: 'tether ssh ↔ sshd', client: tetherSsh, server: () => ({ port: sshd.sshd.port, key: sshd.key, user: 'root', dir: sshd.home, log: () => sshd.sshd.log() }) },
  ];

  for (const pair of pairs) {
    it(`${pair.name}: the relay alone (no injection) lets the session through`, async () => {
      const target = pair.server();
      const mitm = await startMitm(target.port, 'none', 'ignore');
      try {
        const args = [...clientOptions(mitm.port, target.key, join(target.dir, 'known_hosts_terrapin')), `${target.user}@127.0.0.1`, 'echo RELAYED'];
        const result = await pair.client(args);
        assert.equal(result.stdout.toString(), 'RELAYED\n', `the untouched relay works (status ${result.status}): ${result.stderr}`);
      } finally {
        await mitm.close();
      }
    });
    for (const direction of ['to-server', 'to-client'] as const) {
      for (const variant of ['ignore', 'ignore-and-drop'] as const) {
        it(`${pair.name}: IGNORE ${direction}${variant === 'ignore-and-drop' ? ', first packet after NEWKEYS dropped' : ''}`, async () => {
          const target = pair.server();
          const mitm = await startMitm(target.port, direction, variant);
          const logFrom = target.log().length;
          try {
            const args = [...clientOptions(mitm.port, target.key, join(target.dir, 'known_hosts_terrapin')), `${target.user}@127.0.0.1`, 'echo TERRAPIN-GOT-THROUGH'];
            const result = await pair.client(args);
            assert.equal(mitm.sessions.length, 1, 'the client connected through the man in the middle');
            assert.ok(mitm.sessions[0]!.injected(), 'the IGNORE was injected after KEXINIT');
            assert.doesNotMatch(result.stdout.toString(), /TERRAPIN-GOT-THROUGH/, 'the command must not run over a tampered key exchange');
            assert.equal(result.status, 255, `the client aborts with status 255 (got ${result.status ?? result.signal}); stderr: ${result.stderr}`);
            for (let i = 0; i < 100 && !(mitm.sessions[0]!.clientClosed && mitm.sessions[0]!.serverClosed); i++) await sleep(50);
            assert.ok(mitm.sessions[0]!.serverClosed, 'the server side closed the connection');
            assert.ok(mitm.sessions[0]!.clientClosed, 'the client side closed the connection');
            const receiver = direction === 'to-server' ? target.log().slice(logFrom) : result.stderr;
            assert.match(receiver, /strict KEX violation/i, `the ${direction === 'to-server' ? 'server' : 'client'} that received the IGNORE names the strict kex violation:\n${receiver.slice(-2000)}`);
          } finally {
            await mitm.close();
          }
        });
      }
    }
  }
});
