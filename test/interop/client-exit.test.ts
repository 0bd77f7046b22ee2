/**
 * `tether ssh` always exits. process.exit() could hang now and then in Node's teardown, joining a V8 worker
 * thread (nodejs/node#54918); the CLI now ends through _exit(2) after the 'exit' listeners (src/cli/exit.ts).
 * Three hundred short sessions against a real sshd on 127.0.0.1 must each end, with the remote status,
 * within a bound; a few run at once to keep the test short on two cores.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { makeKey, publicKeyLine, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { runProgram, runTether } from '../helpers/tether.ts';

/** src/cli/exit.ts beside this test, compiled or not. */
const EXIT_MODULE = new URL(`../../src/cli/exit.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url).href;

const RUNS = 300;
const PARALLEL = 4;
const BOUND_MS = 10_000;

describe('tether ssh exits', () => {
  let sshd: RunningSshd;
  let dir: string;
  let args: string[];

  before(async () => {
    dir = tempDir('tether-exit-');
    const key = makeKey(dir, 'id_ed25519', 'ed25519');
    sshd = await startSshd({ authorizedKeys: [publicKeyLine(key)], hostKeyTypes: ['ed25519'], config: ['MaxStartups 50:30:100'] });
    args = [
      'ssh', '-F', 'none', '-p', String(sshd.port), '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none',
      '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=accept-new', '-o', 'BatchMode=yes',
      '-q', 'root@127.0.0.1',
    ];
  });
  after(() => sshd.stop());

  test(`${RUNS} sessions in a row each end within ${BOUND_MS / 1000} s with the remote status`, { timeout: 240_000 }, async () => {
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < RUNS) {
        const run = next++;
        const started = performance.now();
        const result = await runTether([...args, 'exec true'], { timeoutMs: BOUND_MS });
        const elapsed = performance.now() - started;
        if (result.timedOut || result.status !== 0) {
          failures.push(`run ${run}: status ${result.status}, ${result.timedOut ? 'killed after' : 'took'} ${elapsed.toFixed(0)} ms: ${result.stderr}`);
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    assert.deepEqual(failures, []);
  });

  test('the exit status is still the remote one', async () => {
    const result = await runTether([...args, 'exit 42'], { timeoutMs: BOUND_MS });
    assert.equal(result.status, 42, result.stderr);
  });
});

describe('exitNow', () => {
  test("runs the 'exit' listeners once, keeps the status and ends with a worker thread still busy", async () => {
    const dir = tempDir('tether-exitnow-');
    const script = join(dir, 'exit-now.mjs');
    writeFileSync(script, [
      `import { Worker } from 'node:worker_threads';`,
      `import { exitNow } from ${JSON.stringify(EXIT_MODULE)};`,
      `new Worker('for (;;) {}', { eval: true });`,
      `let calls = 0;`,
      `process.on('exit', (code) => { calls++; process.stdout.write('exit listener ' + code + ' ' + calls + '\\n'); });`,
      `setTimeout(() => { process.stdout.write('before\\n'); exitNow(7); }, 200);`,
    ].join('\n'));
    const result = await runProgram(process.execPath, [script], { timeoutMs: BOUND_MS });
    assert.equal(result.timedOut, false);
    assert.equal(result.status, 7, result.stderr);
    assert.equal(result.stdout.toString(), 'before\nexit listener 7 1\n');
    // No ExperimentalWarning from node:ffi: the process is gone before it would print.
    assert.equal(result.stderr, '');
  });
});
