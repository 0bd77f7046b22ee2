/**
 * Load with faults (issue 21): many concurrent stock `ssh` clients hold sessions on one `tether server`
 * process and stream checksummed data through `cat` for a while; a fifth of them are killed (SIGKILL) at
 * random moments. Afterwards: zero corrupted bytes, the server never crashed, and every dead connection's
 * processes, descriptors and memory were released (child processes and descriptors back to the baseline;
 * RSS reported). Not part of npm test.
 *
 *   node_modules/.bin/node bench/load-faults.ts [--clients 200] [--seconds 60] [--kill 0.2]
 *   npm run bench:load -- --clients 50 --seconds 20
 *
 * Every byte a client sends is AES-CTR keystream from its own key, so the echo can be checked byte for byte
 * without keeping what was sent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, randomBytes, type Cipheriv } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { descendants, describeFds, fdCount, measureBaseline, rssKiB, startServerProcess, TEST_USER } from '../test/helpers/server-process.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}

const CLIENTS = option('clients', 200);
const SECONDS = option('seconds', 60);
const KILL_FRACTION = option('kill', 0.2);
const CHUNK = 16 * 1024;
/** Bytes a client may have sent and not yet seen echoed: keeps 200 clients from swamping two cores. */
const IN_FLIGHT = 256 * 1024;

interface ClientStats {
  sent: number;
  verified: number;
  corrupted: number;
  killed: boolean;
  exit: number | string | null;
  stderr: string;
}

/** One ssh running `cat` on the server, fed keystream, its echo compared with the same keystream. */
function runClient(args: string[], env: NodeJS.ProcessEnv, deadline: number, killAt: number | undefined, onSpawn: (child: ChildProcess) => void): Promise<ClientStats> {
  const key = randomBytes(16);
  const iv = randomBytes(16);
  const sender: Cipheriv = createCipheriv('aes-128-ctr', key, iv);
  const checker: Cipheriv = createCipheriv('aes-128-ctr', key, iv);
  const zeros = Buffer.alloc(CHUNK);
  const stats: ClientStats = { sent: 0, verified: 0, corrupted: 0, killed: false, exit: null, stderr: '' };
  const child = spawn('/usr/bin/ssh', [...args, `${TEST_USER}@127.0.0.1`, 'cat'], { stdio: ['pipe', 'pipe', 'pipe'], env });
  onSpawn(child);
  let ended = false;
  const pump = () => {
    while (!ended && stats.sent - stats.verified < IN_FLIGHT) {
      if (Date.now() >= deadline) {
        ended = true;
        child.stdin.end();
        return;
      }
      stats.sent += CHUNK;
      if (!child.stdin.write(sender.update(zeros))) return void child.stdin.once('drain', pump);
    }
  };
  child.stdin.on('error', () => {});
  child.stdout.on('data', (chunk: Buffer) => {
    const expected = checker.update(Buffer.alloc(chunk.length));
    if (!expected.equals(chunk)) {
      for (let i = 0; i < chunk.length; i++) if (chunk[i] !== expected[i]) stats.corrupted++;
    }
    stats.verified += chunk.length;
    pump();
  });
  child.stderr.on('data', (chunk: Buffer) => (stats.stderr = (stats.stderr + chunk.toString()).slice(-2000)));
  const killTimer = killAt === undefined ? undefined : setTimeout(() => ((stats.killed = true), child.kill('SIGKILL')), Math.max(0, killAt - Date.now()));
  // A client that never finishes is killed a while after the deadline and counted as failed.
  const hangTimer = setTimeout(() => child.kill('SIGKILL'), deadline - Date.now() + 60_000);
  pump();
  return new Promise((resolve) => {
    child.once('close', (status, signal) => {
      clearTimeout(killTimer);
      clearTimeout(hangTimer);
      stats.exit = status ?? signal;
      resolve(stats);
    });
  });
}

async function main(): Promise<void> {
  const server = await startServerProcess({
    // sshd's defaults would drop most of 200 simultaneous logins (MaxStartups 10:30:100) — that is not
    // what is measured here.
    config: ['MaxStartups 1000', 'PerSourceMaxStartups none', 'LoginGraceTime 120'],
  });
  const children = new Set<ChildProcess>();
  try {
    const baseline = await measureBaseline(server);
    const baselineChildren = descendants(server.pid).length;
    console.log(`tether server pid ${server.pid}: baseline RSS ${(baseline.rssKiB / 1024).toFixed(1)} MiB, ${baseline.fds} descriptors, ${baselineChildren} child processes`);
    console.log(`${CLIENTS} clients for ${SECONDS} s, ${Math.round(CLIENTS * KILL_FRACTION)} killed at random moments`);
    const started = Date.now();
    const deadline = started + SECONDS * 1000;
    const victims = new Set<number>();
    while (victims.size < Math.round(CLIENTS * KILL_FRACTION)) victims.add(Math.floor(Math.random() * CLIENTS));
    let peakRss = 0;
    let peakFds = 0;
    let peakChildren = 0;
    let crashed = false;
    const sampler = setInterval(() => {
      if (!server.alive()) return void (crashed = true);
      peakRss = Math.max(peakRss, rssKiB(server.pid));
      peakFds = Math.max(peakFds, fdCount(server.pid));
      peakChildren = Math.max(peakChildren, descendants(server.pid).length);
    }, 1000);
    const results = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, index) => {
        // Logins are spread over the first few seconds, as a real crowd arrives.
        await sleep(Math.random() * Math.min(5000, SECONDS * 250));
        const killAt = victims.has(index) ? started + 2000 + Math.random() * (SECONDS * 1000 - 2000) : undefined;
        // 200 logins at once take a while on a small machine; a slow login is not a fault (first value wins).
        return runClient(['-o', 'ConnectTimeout=120', ...server.sshArgs()], { ...process.env, HOME: server.dir }, deadline, killAt, (child) => {
          children.add(child);
          child.once('close', () => children.delete(child));
        });
      }),
    );
    clearInterval(sampler);
    const elapsed = (Date.now() - started) / 1000;
    if (!server.alive()) crashed = true;
    // Let the server notice the dead connections and reap their processes (bounded).
    let fds = crashed ? -1 : fdCount(server.pid);
    let left = crashed ? [] : descendants(server.pid);
    for (const settle = Date.now() + 30_000; !crashed && (fds > baseline.fds || left.length > baselineChildren) && Date.now() < settle; ) {
      await sleep(500);
      fds = fdCount(server.pid);
      left = descendants(server.pid);
    }
    await sleep(crashed ? 0 : 5000);
    const endRss = crashed ? 0 : rssKiB(server.pid);
    const survivors = results.filter((r) => !r.killed);
    const failed = survivors.filter((r) => r.exit !== 0);
    const corrupted = results.reduce((sum, r) => sum + r.corrupted, 0);
    const verified = results.reduce((sum, r) => sum + r.verified, 0);
    const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
    const lines = [
      `clients: ${CLIENTS} (${results.filter((r) => r.killed).length} killed, ${survivors.length - failed.length} finished cleanly, ${failed.length} failed)`,
      `duration: ${elapsed.toFixed(1)} s; checksummed echo: ${(verified / 2 ** 20).toFixed(0)} MiB (${(verified / 2 ** 20 / elapsed).toFixed(1)} MiB/s)`,
      `corrupted bytes: ${corrupted}`,
      `server crashed: ${crashed ? `yes (${server.child.exitCode ?? server.child.signalCode})` : 'no'}`,
      `server RSS: baseline ${mib(baseline.rssKiB)}, peak ${mib(peakRss)}, end ${mib(endRss)}`,
      `server descriptors: baseline ${baseline.fds}, peak ${peakFds}, end ${fds}${fds > baseline.fds ? ` (${describeFds(server.pid)})` : ''}`,
      `server child processes: baseline ${baselineChildren}, peak ${peakChildren}, end ${left.length}${left.length > baselineChildren ? ` (${left.join(', ')})` : ''}`,
    ];
    for (const line of lines) console.log(line);
    for (const failure of failed.slice(0, 5)) console.log(`  a surviving client failed (exit ${failure.exit}): ${failure.stderr.trim().split('\n').at(-1)}`);
    console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; Node ${process.versions.node}`);
    const ok = corrupted === 0 && !crashed && failed.length === 0 && fds <= baseline.fds && left.length <= baselineChildren;
    console.log(ok ? 'PASS' : 'FAIL');
    process.exitCode = ok ? 0 : 1;
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await server.stop();
  }
}

await main();
