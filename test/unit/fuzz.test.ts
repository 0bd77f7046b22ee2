/**
 * The fuzzers' CI run (issue 21): every target of test/fuzz — the decoders of keys, certificates,
 * known_hosts, authorized_keys, both configurations, agent messages, SOCKS, the mux protocol and the
 * server's transport, authentication and connection state machines — over a bounded number of inputs
 * mutated from the checked-in corpus. It must find nothing. The seed is fixed so a failure here replays
 * exactly (FUZZ_SEED overrides it); longer, exploring runs are `npm run fuzz -- --time 600`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SLOW_TARGETS, TARGETS } from '../fuzz/targets/index.ts';
import { runTarget } from '../fuzz/runner.ts';
import { loadCorpus } from '../fuzz/target.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20_240_521);
/** Inputs per decoder target, and per state-machine target (each of those is a whole SSH conversation). */
const DECODER_RUNS = 250;
const CONVERSATION_RUNS = 30;

for (const target of TARGETS) {
  test(`fuzz target ${target.name} finds nothing`, { timeout: 120_000 }, async () => {
    assert.ok(loadCorpus(target.name).length > 0, `test/fuzz/corpus/${target.name} has seeds`);
    const report = await runTarget(target, { runs: SLOW_TARGETS.has(target.name) ? CONVERSATION_RUNS : DECODER_RUNS, seed: SEED });
    assert.equal(report.failure, undefined, report.failure);
    assert.ok(report.runs >= (SLOW_TARGETS.has(target.name) ? CONVERSATION_RUNS : DECODER_RUNS));
  });
}
