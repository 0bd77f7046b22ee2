#!/usr/bin/env node
/**
 * Runs every fuzz target (test/fuzz/targets) for a total time budget, split between the targets, and
 * reports per-target input counts. A failing input is shrunk and written to test/fuzz/findings/ with the
 * error and the fast-check seed and path that replay it; the exit status is then 1.
 *
 *   npm run fuzz -- --time 60            # all targets, 60 s in total (or FUZZ_SECONDS=60)
 *   npm run fuzz -- --time 30 --target known-hosts,server-auth --seed 42
 */
import { join } from 'node:path';
import { TARGETS } from '../test/fuzz/targets/index.ts';
import { runTarget } from '../test/fuzz/runner.ts';
import { CORPUS_ROOT } from '../test/fuzz/target.ts';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  if (at >= 0) return process.argv[at + 1];
  return process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
}

const seconds = Number(option('time') ?? process.env.FUZZ_SECONDS ?? 60);
if (!Number.isFinite(seconds) || seconds <= 0) {
  console.error('usage: npm run fuzz -- [--time SECONDS] [--target NAME,...] [--seed N]');
  process.exit(2);
}
const only = option('target')?.split(',');
const seed = option('seed') === undefined ? undefined : Number(option('seed'));
const targets = TARGETS.filter((target) => !only || only.includes(target.name));
if (targets.length === 0) {
  console.error(`no such target; targets: ${TARGETS.map((target) => target.name).join(', ')}`);
  process.exit(2);
}
const findingsDir = join(CORPUS_ROOT, '..', 'findings');
const share = (seconds * 1000) / targets.length;
let failed = 0;
for (const target of targets) {
  const report = await runTarget(target, { timeMs: share, seed, findingsDir });
  const status = report.failure ? `FAILED\n  ${report.failure.split('\n').join('\n  ')}\n  input: ${report.reproducer}` : 'ok';
  console.log(`${target.name.padEnd(20)} ${String(report.runs).padStart(8)} inputs  seed ${report.seed}  ${status}`);
  if (report.failure) failed++;
}
console.log(failed === 0 ? `no findings in ${seconds} s` : `${failed} target(s) failed; reproducers in ${findingsDir}`);
process.exit(failed === 0 ? 0 : 1);
