/**
 * What every case file shares: the run's settings, a group of rows measured together, and the ABBA loop that
 * measures a group's variants in alternating order.
 */
import { abbaOrder, summarize, type Summary } from './measure.ts';
import type { Peers } from './peers.ts';
import type { Row } from './report.ts';

export interface BenchContext {
  peers: Peers;
  /** The bulk size: 1 GiB, 64 MiB with --quick. */
  bytes: number;
  quick: boolean;
  /** Rounds for throughput cases (each variant runs once per round). */
  rounds: number;
  /** Rounds for latency cases. */
  latencyRounds: number;
  /** Progress lines on stderr, so the table on stdout stays clean. */
  progress(line: string): void;
  /** A sentence for the notes under the table. */
  note(line: string): void;
}

/**
 * Rows measured together (they share their runs, e.g. the baseline ssh → sshd). `rows` names every row the
 * group can produce (rowKey(name, pairing)), so --only can skip a group without running it.
 */
export interface BenchGroup {
  rows: string[];
  run(context: BenchContext): Promise<Row[]>;
}

/**
 * Measures each variant `rounds` times in ABBA order and returns the values per variant. `measure` returns
 * one figure per run (MB/s, ms, …); progress shows each as it comes. A variant that fails once is noted and
 * not run again (its rows then show the failure), so one broken pairing does not cost the others' rows.
 */
export async function measureAlternating<V extends { label: string }>(
  context: BenchContext,
  title: string,
  variants: readonly V[],
  rounds: number,
  measure: (variant: V) => Promise<number>,
): Promise<Map<V, number[]>> {
  const values = new Map<V, number[]>(variants.map((variant) => [variant, []]));
  const failed = new Set<V>();
  for (const variant of abbaOrder(variants, rounds)) {
    if (failed.has(variant)) continue;
    try {
      const value = await measure(variant);
      values.get(variant)!.push(value);
      context.progress(`${title} · ${variant.label}: ${value.toFixed(value < 10 ? 2 : 0)}`);
    } catch (error) {
      failed.add(variant);
      values.set(variant, []);
      const message = `${title} · ${variant.label}: failed: ${(error as Error).message.slice(0, 600)}`;
      context.note(message);
      context.progress(message);
    }
  }
  return values;
}

/** The summary of a variant's values; undefined when it has none (it failed). */
export function summaryOf<V>(values: Map<V, number[]>, variant: V): Summary | undefined {
  return maybeSummary(values.get(variant) ?? []);
}

export function maybeSummary(values: number[]): Summary | undefined {
  return values.length > 0 ? summarize(values) : undefined;
}

/** MB/s (10^6 bytes a second, as the figures). */
export function rate(bytes: number, seconds: number): number {
  return bytes / seconds / 1e6;
}

/** "1 GiB", "64 MiB", "512 MiB": sizes in the rows' names. */
export function sizeLabel(bytes: number): string {
  if (bytes >= 2 ** 30 && bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30} GiB`;
  const mebibytes = bytes / 2 ** 20;
  return `${Number.isInteger(mebibytes) ? mebibytes : mebibytes.toFixed(1)} MiB`;
}
