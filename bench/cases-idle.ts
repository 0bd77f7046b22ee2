/**
 * Server memory per idle authenticated session, and the time to accept them: bench/idle-client.ts (one
 * process, Tether's client library, the same for both servers) opens N connections, 64 handshakes at a time,
 * and holds them authenticated with no channel. Memory is PSS: for sshd the sum over its per-connection
 * processes (monitor and user child), for the tether server its process's growth over the baseline taken just
 * before, both read after a full garbage collection; either divided by the sessions accepted.
 */
import { measureAlternating, summaryOf, type BenchContext, type BenchGroup } from './context.ts';
import { pssKiB, sleep, startHelper } from './measure.ts';
import type { BenchServer } from './peers.ts';
import { rowKey, type Row } from './report.ts';

const IN_FLIGHT = 64;
/** Time for the servers to finish what the last handshakes left (logging, sshd's privsep children). */
const SETTLE_MS = 2000;
/** Long enough for a full collection of a heap holding 1,000 connections on a loaded machine. */
const GC_WAIT_MS = 1000;
const TETHER_SIDE = 'tether server (same client for both)';

interface Opened {
  phase: 'open';
  accepted: number;
  failed: number;
  seconds: number;
  errors: Array<[string, number]>;
}

/**
 * The server's connection processes' PSS in KiB (sshd: summed; the tether server: its process, after a full
 * garbage collection asked for with SIGUSR2, see gc-on-signal.ts).
 */
async function serverPss(server: BenchServer): Promise<number> {
  if (server.kind === 'tether') {
    process.kill(server.pid, 'SIGUSR2');
    await sleep(GC_WAIT_MS);
  }
  return server.connectionProcesses().reduce((sum, pid) => sum + pssKiB(pid), 0);
}

/** Waits (bounded) until sshd's per-connection processes are gone, so the next baseline starts clean. */
async function settleAfterClose(server: BenchServer): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(100)) {
    if (server.kind === 'tether' || server.connectionProcesses().length === 0) break;
  }
  await sleep(500);
}

interface IdleRun {
  perSessionKiB: number;
  seconds: number;
  accepted: number;
  errors: Array<[string, number]>;
}

async function holdIdle(context: BenchContext, server: BenchServer, count: number): Promise<IdleRun> {
  const baseline = server.kind === 'tether' ? await serverPss(server) : 0;
  const holder = startHelper('idle-client', [JSON.stringify({ port: server.port, user: context.peers.user, key: context.peers.key, count, inFlight: IN_FLIGHT })]);
  try {
    const opened = await holder.nextMessage<Opened>(60_000 + count * 500);
    await sleep(SETTLE_MS);
    const grown = (await serverPss(server)) - baseline;
    return { perSessionKiB: opened.accepted > 0 ? grown / opened.accepted : Infinity, seconds: opened.seconds, accepted: opened.accepted, errors: opened.errors };
  } finally {
    await holder.stop(30_000);
    await settleAfterClose(server);
  }
}

function idleGroup(count: number): BenchGroup {
  const memoryName = `server memory per idle authenticated session, ${count} at once (PSS)`;
  const acceptName = `time to accept ${count} sessions (${IN_FLIGHT} handshakes at a time)`;
  return {
    rows: [rowKey(memoryName, TETHER_SIDE), rowKey(acceptName, TETHER_SIDE)],
    async run(context: BenchContext): Promise<Row[]> {
      const { sshd, tether } = context.peers;
      // Both servers' first connections load code and grow pools; measured from the second batch on.
      // A failure here shows in the measured runs.
      for (const server of [sshd, tether]) await holdIdle(context, server, Math.min(count, 100)).catch(() => undefined);
      const variants = [{ label: 'sshd', server: sshd }, { label: 'tether server', server: tether }];
      const times = new Map(variants.map((variant) => [variant, [] as number[]]));
      const shortfalls: string[] = [];
      const rounds = context.quick ? 1 : 2;
      const memory = await measureAlternating(context, memoryName, variants, rounds, async (variant) => {
        const run = await holdIdle(context, variant.server, count);
        times.get(variant)!.push(run.seconds);
        if (run.accepted < count) shortfalls.push(`${variant.label} accepted ${run.accepted} of ${count} (${run.errors.map(([message, n]) => `${n} × ${message}`).join('; ')})`);
        return run.perSessionKiB;
      });
      for (const shortfall of shortfalls) context.note(shortfall);
      if (count === 100) {
        context.note(
          'idle sessions: the tether server is read after a full garbage collection before and after (SIGUSR2, bench/gc-on-signal.ts), so its figure is what it retains; ' +
            "at 100 sessions that is within the allocators' noise (± 1 MiB, ± 10 KiB a session, so it can come out below zero).",
        );
      }
      const tetherAll = !shortfalls.some((line) => line.startsWith('tether'));
      const condition = { holds: tetherAll, text: `all ${count} accepted` };
      return [
        { name: memoryName, pairing: TETHER_SIDE, unit: 'KiB', openssh: summaryOf(memory, variants[0]!), tether: summaryOf(memory, variants[1]!), condition, ...(count >= 1000 ? { target: { op: '≤', value: 64, of: 'tether' } } : {}) },
        { name: acceptName, pairing: TETHER_SIDE, unit: 's', openssh: summaryOf(times, variants[0]!), tether: summaryOf(times, variants[1]!), condition },
      ];
    },
  };
}

export const IDLE_GROUPS: BenchGroup[] = [idleGroup(100), idleGroup(1000)];
