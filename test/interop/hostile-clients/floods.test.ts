/**
 * Floods from one logged-in client, against a real `tether server` process (issue 21): session-channel
 * opens, a burst of direct-tcpip opens, and remote-forward (tcpip-forward) requests, each in a bounded count.
 * Every open and request must be answered (the excess refused with CHANNEL_OPEN_FAILURE or REQUEST_FAILURE),
 * other users must still be served while the flood holds its resources, and afterwards the recovery check
 * holds: a stock ssh logs in and moves 16 MiB intact, RSS back within 10% of the baseline, descriptors at the
 * baseline. Each flood gets a server of its own, so a crash is reported by the flood that caused it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server as TcpServer, type Socket } from 'node:net';
import { checkRecovered, measureBaseline, runProgram, startServerProcess, TEST_USER, type Baseline, type ServerProcess, type ServerProcessOptions } from '../../helpers/server-process.ts';
import { drivenConnection, message, openFailure, SSH_MSG, type DrivenConnection } from '../../helpers/hostile-client.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ALGORITHMS = { kex: ['curve25519-sha256'] };
const OPEN_REPLIES = new Set<number>([SSH_MSG.CHANNEL_OPEN_CONFIRMATION, SSH_MSG.CHANNEL_OPEN_FAILURE]);
const REQUEST_REPLIES = new Set<number>([SSH_MSG.REQUEST_SUCCESS, SSH_MSG.REQUEST_FAILURE]);

/** A server of its own for one flood, its baseline, and the checks every flood ends with. */
function floodServer(options: ServerProcessOptions) {
  const state = {} as { server: ServerProcess; baseline: Baseline };
  before(async () => {
    state.server = await startServerProcess(options);
    state.baseline = await measureBaseline(state.server);
  });
  after(async () => {
    await state.server?.stop();
  });
  return {
    get server() {
      return state.server;
    },
    login: (): Promise<DrivenConnection> => drivenConnection(state.server.port, TEST_USER, state.server.clientKey, ALGORITHMS),
    /** Another user's `ssh … true` while the flood holds what it got. */
    async otherUserServed(attack: string): Promise<void> {
      assert.ok(state.server.alive(), `during ${attack}: the server process exited (${state.server.child.exitCode ?? state.server.child.signalCode}); log tail:\n${state.server.log().slice(-3000)}`);
      const started = Date.now();
      const result = await runProgram('/usr/bin/ssh', [...state.server.sshArgs(), `${TEST_USER}@127.0.0.1`, 'true'], '', 30_000, { ...process.env, HOME: state.server.dir });
      assert.equal(result.status, 0, `during ${attack}: another user's "ssh true" failed after ${Date.now() - started} ms: ${result.stderr.trim()}; server alive: ${state.server.alive()}; log tail:\n${state.server.log().slice(-2000)}`);
    },
    /**
     * Runs the flood twice, and after each the server must be back within 10% of the baseline: a leak —
     * anything kept per flood — shows after the second. (Before the server released memory after a burst,
     * 5,000 direct-tcpip opens left RSS 149 → 189 MiB for good with the heap back to 12 MiB in use.)
     * Descriptors and processes must be back at the baseline both times.
     */
    async survivesTwice(attack: string, run: () => Promise<void>): Promise<void> {
      for (const round of ['first', 'second']) {
        await run();
        const recovery = await checkRecovered(state.server, state.baseline, `${attack} (${round})`, 20_000);
        assert.deepEqual(recovery.problems, [], recovery.problems.join('\n'));
      }
    },
  };
}

/** Sends `count` channel opens built by `open(id)`, at most `inFlight` unanswered; returns the replies. */
async function openMany(server: ServerProcess, connection: DrivenConnection, count: number, inFlight: number, open: (id: number) => Buffer, what: string): Promise<Buffer[]> {
  let sent = 0;
  const replies = () => connection.messages.filter((m) => OPEN_REPLIES.has(m[0]!)).length;
  for (const deadline = Date.now() + 60_000; sent < count; ) {
    while (sent < count && sent - replies() < inFlight) connection.send(open(sent++));
    if (connection.transport.isClosed) break;
    assert.ok(Date.now() < deadline, `${what}: only ${replies()} of ${sent} opens answered within 60 s`);
    await sleep(5);
  }
  const answered = await connection.collect((m) => OPEN_REPLIES.has(m[0]!), count, 30_000);
  assert.equal(connection.transport.isClosed ? `closed: ${(await connection.closed)?.message}` : 'open', 'open', `${what}: the flooding connection was ended after ${answered.length} replies; ${serverState(server)}`);
  assert.equal(answered.length, count, `${what}: every CHANNEL_OPEN is answered with a confirmation or CHANNEL_OPEN_FAILURE (${answered.length} of ${count})`);
  return answered;
}

/** Whether the server still runs, with its log's tail when it does not. */
function serverState(server: ServerProcess): string {
  if (server.alive()) return 'the server process still runs';
  return `the server process exited (${server.child.exitCode ?? server.child.signalCode}); log tail:\n${server.log().slice(-3000)}`;
}

function failureReasons(replies: Buffer[]): Map<number, number> {
  const reasons = new Map<number, number>();
  for (const reply of replies.filter((m) => m[0] === SSH_MSG.CHANNEL_OPEN_FAILURE)) {
    const { reason } = openFailure(reply);
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  return reasons;
}

describe('a flood of session-channel opens', () => {
  const flood = floodServer({ fdLimit: 4096 });

  it('3,000 session opens (500 in flight): MaxSessions are confirmed, the rest refused; others served', async () => {
    await flood.survivesTwice('a session-open flood', async () => {
      const connection = await flood.login();
      try {
        const replies = await openMany(flood.server, connection, 3000, 500, (id) => message.sessionOpen(id), 'session flood');
        const confirmed = replies.filter((m) => m[0] === SSH_MSG.CHANNEL_OPEN_CONFIRMATION).length;
        assert.ok(confirmed <= 10, `at most MaxSessions (10) sessions are opened on one connection, got ${confirmed}`);
        const reasons = failureReasons(replies);
        const unexpected = [...reasons.keys()].filter((reason) => reason !== 1 && reason !== 4);
        assert.deepEqual(unexpected, [], `refusals are "administratively prohibited" or "resource shortage": ${JSON.stringify([...reasons])}`);
        await flood.otherUserServed('the session flood');
      } finally {
        connection.close();
      }
    });
  });
});

describe('a burst of direct-tcpip opens', () => {
  const flood = floodServer({});
  let target: TcpServer;
  const accepted: Socket[] = [];
  let targetPort = 0;
  before(async () => {
    target = createServer((socket) => {
      socket.on('error', () => {});
      accepted.push(socket);
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', () => resolve()));
    targetPort = (target.address() as { port: number }).port;
  });
  after(async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => target.close(resolve));
  });

  it('5,000 direct-tcpip opens (500 in flight) are each confirmed or refused; the server serves others meanwhile', async () => {
    await flood.survivesTwice('a direct-tcpip burst', async () => {
      const connection = await flood.login();
      try {
        const replies = await openMany(flood.server, connection, 5000, 500, (id) => message.directTcpip(id, '127.0.0.1', targetPort), 'direct-tcpip burst');
        const reasons = failureReasons(replies);
        const unexpected = [...reasons.keys()].filter((reason) => reason !== 1 && reason !== 2 && reason !== 4);
        assert.deepEqual(unexpected, [], `refusals are prohibited, connect failed or resource shortage: ${JSON.stringify([...reasons])}`);
        await flood.otherUserServed('the direct-tcpip burst');
      } finally {
        connection.close();
      }
      for (const socket of accepted.splice(0)) socket.destroy();
    });
  });
});

describe('a flood of remote-forward requests', () => {
  // 4,096 descriptors: enough for everything a normal server does, reachable by a bounded flood of listeners.
  const flood = floodServer({ fdLimit: 4096 });

  it('5,000 tcpip-forward requests are each answered; another user can still log in and run a command', async () => {
    await flood.survivesTwice('a remote-forward flood', async () => {
      const connection = await flood.login();
      try {
        const count = 5000;
        let sent = 0;
        const answered = () => connection.messages.filter((m) => REQUEST_REPLIES.has(m[0]!)).length;
        for (const deadline = Date.now() + 60_000; sent < count && !connection.transport.isClosed; await sleep(5)) {
          for (; sent < count && sent - answered() < 500; sent++) connection.send(message.tcpipForward('127.0.0.1', 0));
          assert.ok(Date.now() < deadline, `forward flood: only ${answered()} of ${sent} requests answered within 60 s`);
        }
        const replies = await connection.collect((m) => REQUEST_REPLIES.has(m[0]!), count, 30_000);
        assert.equal(connection.transport.isClosed ? `closed: ${(await connection.closed)?.message}` : 'open', 'open', `forward flood: the flooding connection was ended after ${replies.length} replies; ${serverState(flood.server)}`);
        assert.equal(replies.length, count, `every tcpip-forward gets REQUEST_SUCCESS or REQUEST_FAILURE (${replies.length} of ${count})`);
        await flood.otherUserServed('the forward flood (its listeners still open)');
      } finally {
        connection.close();
      }
    });
  });
});

