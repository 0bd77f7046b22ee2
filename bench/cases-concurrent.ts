/**
 * Aggregate throughput of 20 concurrent bulk downloads through each server, stock ssh clients for both (the
 * same client load): total bytes over the time from the first spawn to the last byte counted (so the 20
 * connections' set-up is included, a small part at 1 GiB). sshd runs a
 * process per connection and so uses both cores; the tether server's CPU time over the run says how many it
 * used.
 */
import { maybeSummary, measureAlternating, rate, sizeLabel, summaryOf, type BenchContext, type BenchGroup } from './context.ts';
import { cpuSeconds, expectCount, runClient, transferTimeoutMs } from './measure.ts';
import { BASELINE, KEX, pairingCommand, TETHER_SERVER } from './peers.ts';
import { rowKey, type Row } from './report.ts';

const STREAMS = 20;
const CIPHER = [...KEX, '-c', 'chacha20-poly1305@openssh.com'];

function concurrentGroup(bytes: number): BenchGroup {
  // 64 MiB each at 1 GiB (1.25 GiB in all), 4 MiB with --quick.
  const each = bytes / 16;
  const name = `aggregate of ${STREAMS} concurrent downloads × ${sizeLabel(each)} chacha20-poly1305`;
  return {
    rows: [rowKey(name, TETHER_SERVER.label)],
    async run(context: BenchContext): Promise<Row[]> {
      const { peers } = context;
      const cores: number[] = [];
      const values = await measureAlternating(context, name, [BASELINE, TETHER_SERVER], context.rounds, async (pairing) => {
        const cpuBefore = pairing === TETHER_SERVER ? cpuSeconds(peers.tether.pid) : 0;
        const started = performance.now();
        const runs = await Promise.all(
          Array.from({ length: STREAMS }, () => runClient(pairingCommand(peers, pairing, CIPHER, `head -c ${each} /dev/zero`), { countOutput: true, timeoutMs: transferTimeoutMs(each * STREAMS) })),
        );
        const seconds = (performance.now() - started) / 1000;
        runs.forEach((run, index) => expectCount(run.stdout, each, `${name} stream ${index + 1} (${pairing.label})`));
        if (pairing === TETHER_SERVER) cores.push((cpuSeconds(peers.tether.pid) - cpuBefore) / seconds);
        return rate(each * STREAMS, seconds);
      });
      const used = maybeSummary(cores);
      if (used) {
        context.note(
          `${name}: the tether server process used ${used.median.toFixed(2)} cores on average (${used.min.toFixed(2)}–${used.max.toFixed(2)}; one process, its CPU time over the wall time), sshd a process per connection; the time includes the 20 connections' set-up, which dominates with --quick.`,
        );
      }
      return [{ name, pairing: TETHER_SERVER.label, unit: 'MB/s', openssh: summaryOf(values, BASELINE), tether: summaryOf(values, TETHER_SERVER), target: { op: '≥', value: 1.0, of: 'ratio' } }];
    },
  };
}

export function concurrentGroups(bytes: number): BenchGroup[] {
  return [concurrentGroup(bytes)];
}
