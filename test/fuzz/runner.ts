/**
 * Runs fuzz targets with fast-check, either for a number of inputs (the CI run) or for a time budget (the
 * `npm run fuzz` run), and writes each failing input — shrunk — to a reproducer file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { FuzzTarget } from './target.ts';

export interface TargetReport {
  target: string;
  runs: number;
  seed: number;
  /** The failure (with the fast-check seed and path to replay it), if any. */
  failure?: string;
  /** Where the shrunk failing input was written. */
  reproducer?: string;
}

export interface RunLimits {
  /** Inputs to try (an upper bound when `timeMs` is given too). */
  runs?: number;
  /** Stop after this long. */
  timeMs?: number;
  seed?: number;
  /** Directory for reproducer files (default: none written). */
  findingsDir?: string;
}

/** Errors the code under test let escape asynchronously while a target ran (they would crash a server). */
const escaped: unknown[] = [];
let watching = 0;
const onEscape = (error: unknown) => escaped.push(error);

function watchEscapes(on: boolean): void {
  watching += on ? 1 : -1;
  if (on && watching === 1) {
    process.on('uncaughtException', onEscape);
    process.on('unhandledRejection', onEscape);
  } else if (!on && watching === 0) {
    process.off('uncaughtException', onEscape);
    process.off('unhandledRejection', onEscape);
  }
}

function takeEscaped(): void {
  if (escaped.length === 0) return;
  const error = escaped.splice(0)[0] as Error;
  throw new Error(`uncaught ${error?.name ?? 'exception'}: ${error?.message ?? String(error)}\n${error?.stack ?? ''}`);
}

export async function runTarget<T>(target: FuzzTarget<T>, limits: RunLimits): Promise<TargetReport> {
  const seed = limits.seed ?? Date.now() % 0x7fffffff;
  let runs = 0;
  const parameters: fc.Parameters<[T]> = {
    seed,
    numRuns: limits.runs ?? 1_000_000_000,
    interruptAfterTimeLimit: limits.timeMs,
    markInterruptAsFailure: false,
    // Shrinking re-runs the target many times; cap it so a slow target still reports promptly.
    endOnFailure: false,
    skipAllAfterTimeLimit: limits.timeMs === undefined ? undefined : limits.timeMs * 2,
  };
  watchEscapes(true);
  let details: fc.RunDetails<[T]>;
  try {
    const property = fc.asyncProperty(target.input, async (input) => {
      runs++;
      await target.run(input);
      // Let anything the input set off asynchronously surface before the next input.
      await new Promise((resolve) => setImmediate(resolve));
      takeEscaped();
    });
    details = await fc.check(property, parameters);
  } finally {
    watchEscapes(false);
    await target.teardown?.();
  }
  const report: TargetReport = { target: target.name, runs, seed };
  if (details.failed && details.counterexample) {
    const input = details.counterexample[0];
    const error = details.errorInstance as Error | undefined;
    report.failure = `${error?.message ?? 'failed'}\n(replay: seed ${details.seed}, path "${details.counterexamplePath}")`;
    if (limits.findingsDir) {
      mkdirSync(limits.findingsDir, { recursive: true });
      const file = join(limits.findingsDir, `${target.name}-${details.seed}.input`);
      const bytes = target.serialize ? target.serialize(input) : Buffer.isBuffer(input) ? input : Buffer.from(JSON.stringify(input, (_k, v) => (v?.type === 'Buffer' ? Buffer.from(v.data).toString('base64') : v)));
      writeFileSync(file, bytes);
      writeFileSync(`${file}.txt`, `${report.failure}\n`);
      report.reproducer = file;
    }
  }
  return report;
}
