/**
 * Connect + authenticate + `exec true`, the whole client process timed (Node's start-up included for tether
 * ssh): client side, tether ssh against ssh on sshd; server side, ssh against the tether server and sshd.
 * curve25519-sha256 for all (peers.ts, KEX), as in the figures.
 */
import { measureAlternating, summaryOf, type BenchContext, type BenchGroup } from './context.ts';
import { runClient } from './measure.ts';
import { BASELINE, KEX, pairingCommand, TETHER_CLIENT, TETHER_SERVER } from './peers.ts';
import { rowKey, type Row } from './report.ts';

const NAME = 'connect + auth + exec true (curve25519)';
const OPTIONS = KEX;
const VARIANTS = [BASELINE, TETHER_CLIENT, TETHER_SERVER];

export const LATENCY_GROUP: BenchGroup = {
  rows: [rowKey(`${NAME}, client side`, TETHER_CLIENT.label), rowKey(`${NAME}, server side`, TETHER_SERVER.label)],
  async run(context: BenchContext): Promise<Row[]> {
    const once = async (pairing: (typeof VARIANTS)[number]) => {
      const run = await runClient(pairingCommand(context.peers, pairing, OPTIONS, 'true'), { timeoutMs: 30_000 });
      return run.seconds * 1000;
    };
    // One unmeasured round first: page cache, known_hosts written, the servers' first-connection work.
    for (const pairing of VARIANTS) await once(pairing).catch(() => 0); // a failure shows in the measured runs
    const values = await measureAlternating(context, NAME, VARIANTS, context.latencyRounds, once);
    return [
      { name: `${NAME}, client side`, pairing: TETHER_CLIENT.label, unit: 'ms', openssh: summaryOf(values, BASELINE), tether: summaryOf(values, TETHER_CLIENT), target: { op: '≤', value: 1.2, of: 'ratio' } },
      { name: `${NAME}, server side`, pairing: TETHER_SERVER.label, unit: 'ms', openssh: summaryOf(values, BASELINE), tether: summaryOf(values, TETHER_SERVER), target: { op: '≤', value: 0.6, of: 'ratio' } },
    ];
  },
};
