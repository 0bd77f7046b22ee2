/**
 * Issue 21: one logged-in user cannot take the server down for everyone. A burst of direct-tcpip opens past
 * the channel limit, and a flood of tcpip-forward requests, are refused (CHANNEL_OPEN_FAILURE with
 * RESOURCE_SHORTAGE, REQUEST_FAILURE) and logged, while another user's stock `ssh … true` stays within 2×
 * of its idle latency. The flood runs in its own process (test/helpers/flood-client.ts), stopped by PID.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keyAuth, ssh, startTestServer, TEST_USER, type TestServer } from './server-harness.ts';

const HERE = fileURLToPath(import.meta.url);
const FLOOD_CLIENT = join(HERE, '..', '..', 'helpers', `flood-client.${HERE.endsWith('.ts') ? 'ts' : 'js'}`);
const RESOURCE_SHORTAGE = '4';

interface FloodStats {
  phase: 'burst' | 'end';
  accepted: number;
  refused: Record<string, number>;
  descriptions: Record<string, number>;
  closed: boolean;
}

interface Flood {
  burst: Promise<FloodStats>;
  stop(): Promise<FloodStats>;
}

/** Starts a flood client; burst resolves after its first `total` attempts, stop() ends it (by PID if need be). */
function startFlood(test: TestServer, options: { mode: 'opens' | 'forwards'; total: number; inFlight: number }): Flood {
  const child: ChildProcess = spawn(process.execPath, [FLOOD_CLIENT, JSON.stringify({ port: test.port, user: TEST_USER, key: test.clientKey, ...options })], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const lines: FloodStats[] = [];
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    let end;
    while ((end = stdout.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(stdout.slice(0, end)) as FloodStats);
      stdout = stdout.slice(end + 1);
      waiters.splice(0).forEach((wake) => wake());
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = (phase: FloodStats['phase'], timeoutMs: number) =>
    new Promise<FloodStats>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`flood client gave no ${phase} line in ${timeoutMs} ms; stderr: ${stderr}`));
      }, timeoutMs);
      const check = () => {
        const found = lines.find((l) => l.phase === phase);
        if (found) return (clearTimeout(timer), resolve(found));
        if (child.exitCode !== null) return (clearTimeout(timer), reject(new Error(`flood client exited: ${stderr}`)));
        waiters.push(check);
      };
      void exited.then(() => waiters.splice(0).forEach((wake) => wake()));
      check();
    });
  return {
    burst: line('burst', 60_000),
    async stop() {
      child.stdin!.end();
      try {
        return await line('end', 10_000);
      } finally {
        if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
        await exited;
      }
    },
  };
}

/** The median wall time of `runs` logins running `true`, each bounded. */
/**
 * Another user's `exec true` latency when idle, then the flood's outcome and that latency again while the
 * flood still holds what it got; the flood is stopped by PID whatever happens.
 */
async function floodWhileMeasuring(test: TestServer, options: Parameters<typeof startFlood>[1]): Promise<{ idle: number; burst: FloodStats; loaded: number }> {
  const idle = await execLatency(test);
  const flood = startFlood(test, options);
  try {
    const burst = await flood.burst;
    return { idle, burst, loaded: await execLatency(test) };
  } finally {
    await flood.stop();
  }
}

async function execLatency(test: TestServer, runs = 3): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const result = await ssh(test, [...keyAuth(test), `${TEST_USER}@127.0.0.1`, 'true'], { timeoutMs: 20_000 });
    assert.equal(result.status, 0, result.stderr);
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

function assertWithinTwiceIdle(idle: number, loaded: number): void {
  assert.ok(loaded <= 2 * idle, `exec true took ${loaded.toFixed(0)} ms under the flood, ${idle.toFixed(0)} ms idle`);
}

describe('a user flooding with the default configuration', () => {
  let test: TestServer;
  before(async () => {
    test = await startTestServer();
  });
  after(async () => {
    await test?.stop();
  });

  it('a burst of direct-tcpip opens past the 4096-channel limit is refused as a resource shortage; others are served', async () => {
    const { idle, burst, loaded } = await floodWhileMeasuring(test, { mode: 'opens', total: 4600, inFlight: 500 });
    assert.equal(burst.closed, false, 'the flooding connection itself is still up');
    assert.ok(burst.accepted <= 4096, `accepted ${burst.accepted}`);
    assert.equal(burst.accepted + (burst.refused[RESOURCE_SHORTAGE] ?? 0), 4600, JSON.stringify(burst));
    assert.ok((burst.refused[RESOURCE_SHORTAGE] ?? 0) >= 504, JSON.stringify(burst));
    await test.waitForLog(/^error: refused channel open direct-tcpip \((MaxChannels 4096|MaxPendingOpens 256)\) for user \S+ from 127\.0\.0\.1 port \d+/);
    assertWithinTwiceIdle(idle, loaded);
  });

  it('a flood of tcpip-forward requests is refused past MaxForwards (256); others are served', async () => {
    const { idle, burst, loaded } = await floodWhileMeasuring(test, { mode: 'forwards', total: 3000, inFlight: 100 });
    assert.equal(burst.closed, false);
    assert.equal(burst.accepted, 256, JSON.stringify(burst));
    assert.equal(burst.refused.failure, 3000 - 256);
    await test.waitForLog(/^error: refused tcpip-forward listen 127\.0\.0\.1 port 0 \(MaxForwards 256\) for user \S+ from 127\.0\.0\.1 port \d+/);
    assertWithinTwiceIdle(idle, loaded);
  });
});

describe('configured caps', () => {
  let test: TestServer;
  before(async () => {
    test = await startTestServer({
      config: ['MaxChannels 40', 'MaxPendingOpens 8', 'MaxForwards 5', 'MaxForwardsPerUser 8', 'MaxSessionsPerUser 2'],
    });
  });
  after(async () => {
    await test?.stop();
  });

  it('MaxChannels and MaxPendingOpens refuse the excess with RESOURCE_SHORTAGE and are logged', async () => {
    const flood = startFlood(test, { mode: 'opens', total: 600, inFlight: 50 });
    const burst = await flood.burst.finally(() => flood.stop());
    assert.equal(burst.accepted, 40, JSON.stringify(burst));
    assert.equal(burst.accepted + (burst.refused[RESOURCE_SHORTAGE] ?? 0), 600, JSON.stringify(burst));
    assert.ok((burst.descriptions['too many channel opens in progress'] ?? 0) > 0, JSON.stringify(burst));
    assert.ok((burst.descriptions['too many channels'] ?? 0) > 0, JSON.stringify(burst));
    await test.waitForLog(/^error: refused channel open direct-tcpip \(MaxPendingOpens 8\) for user /);
    await test.waitForLog(/^error: refused channel open direct-tcpip \(MaxChannels 40\) for user /);
  });

  it('MaxForwards per connection and MaxForwardsPerUser across connections', async () => {
    const first = startFlood(test, { mode: 'forwards', total: 20, inFlight: 4 });
    const one = await first.burst;
    const second = startFlood(test, { mode: 'forwards', total: 20, inFlight: 4 });
    try {
      const two = await second.burst;
      assert.equal(one.accepted, 5, JSON.stringify(one));
      assert.equal(two.accepted, 3, JSON.stringify(two));
      assert.equal(two.refused.failure, 17);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
    await test.waitForLog(/^error: refused tcpip-forward listen 127\.0\.0\.1 port 0 \(MaxForwards 5\) for user /);
    await test.waitForLog(/^error: refused tcpip-forward listen 127\.0\.0\.1 port 0 \(MaxForwardsPerUser 8\) for user /);
    // Once those connections are gone their forwards are the user's again.
    const third = startFlood(test, { mode: 'forwards', total: 6, inFlight: 2 });
    const three = await third.burst.finally(() => third.stop());
    assert.equal(three.accepted, 5, JSON.stringify(three));
  });

  it('MaxSessionsPerUser refuses a third session of the user, on another connection', async () => {
    const started = test.logLines.filter((l) => l.startsWith('Starting session')).length;
    const long = [1, 2].map(() => ssh(test, [...keyAuth(test), `${TEST_USER}@127.0.0.1`, 'sleep 2; echo done'], { timeoutMs: 20_000 }));
    for (let i = 0; i < 100 && test.logLines.filter((l) => l.startsWith('Starting session')).length < started + 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const third = await ssh(test, [...keyAuth(test), `${TEST_USER}@127.0.0.1`, 'echo three'], { timeoutMs: 20_000 });
    // ssh logs "channel 0: open failed: resource shortage: too many sessions" at INFO, below the harness's level.
    assert.equal(third.status, 255, third.stderr);
    assert.equal(third.stdout.toString(), '');
    await test.waitForLog(/^error: refused session \(MaxSessionsPerUser 2\) for user /);
    for (const result of await Promise.all(long)) assert.equal(result.stdout.toString(), 'done\n', result.stderr);
    const after = await ssh(test, [...keyAuth(test), `${TEST_USER}@127.0.0.1`, 'echo again'], { timeoutMs: 20_000 });
    assert.equal(after.stdout.toString(), 'again\n', after.stderr);
  });
});
