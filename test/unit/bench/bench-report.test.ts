/**
 * The benchmark's own arithmetic and plumbing (bench/): the ABBA order, medians with min–max, targets
 * judged on the ratio or on Tether's figure, the table, and a client run whose bytes go through real pipes
 * (`head` and `wc -c`) without passing through, or being lost to, the bench process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sizeLabel } from '../../../bench/context.ts';
import { abbaOrder, ClientRunError, expectCount, runClient, summarize } from '../../../bench/measure.ts';
import { formatTable, holds, ratio, type Row } from '../../../bench/report.ts';

const env = process.env;

test('runs alternate ABBA: forwards, backwards, forwards…', () => {
  assert.deepEqual(abbaOrder(['A', 'B'], 4).join(''), 'ABBAABBA');
  assert.deepEqual(abbaOrder(['A', 'B', 'C', 'D'], 2).join(''), 'ABCDDCBA');
});

test('a summary is the median (mean of the middle two for an even count) with min and max', () => {
  assert.deepEqual(summarize([5, 1, 3]), { median: 3, min: 1, max: 5, runs: 3 });
  assert.deepEqual(summarize([4, 1, 3, 10]), { median: 3.5, min: 1, max: 10, runs: 4 });
  assert.throws(() => summarize([]));
});

function row(tether: number, openssh: number, extra: Partial<Row> = {}): Row {
  return { name: 'download x', pairing: 'tether ssh → sshd', unit: 'MB/s', tether: summarize([tether]), openssh: summarize([openssh]), ...extra };
}

test('targets are judged on the ratio Tether ÷ OpenSSH, or on Tether’s own figure, with conditions', () => {
  assert.equal(ratio(row(450, 500)), 0.9);
  assert.equal(holds(row(450, 500, { target: { op: '≥', value: 0.9, of: 'ratio' } })), true);
  assert.equal(holds(row(440, 500, { target: { op: '≥', value: 0.9, of: 'ratio' } })), false);
  assert.equal(holds(row(130, 100, { unit: 'ms', target: { op: '≤', value: 1.2, of: 'ratio' } })), false);
  assert.equal(holds(row(60, 1600, { unit: 'KiB', target: { op: '≤', value: 64, of: 'tether' } })), true);
  assert.equal(holds(row(60, 1600, { unit: 'KiB', target: { op: '≤', value: 64, of: 'tether' }, condition: { holds: false, text: 'all 1000 accepted' } })), false);
  assert.equal(holds(row(1, 2)), undefined);
});

test('the table shows both medians with min–max, the ratio, the target and whether it holds', () => {
  const table = formatTable([
    { ...row(0, 0), tether: summarize([300, 280, 320]), openssh: summarize([400, 390, 410]), target: { op: '≥', value: 1, of: 'ratio' } },
    row(60, 1600, { name: 'idle', unit: 'KiB', target: { op: '≤', value: 64, of: 'tether' } }),
  ]);
  const lines = table.split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[2]!, /\| 400 MB\/s \(390–410\) \| 300 MB\/s \(280–320\) \| 0\.75 +\| ≥ 1\.0 +\| \*\*no\*\* \|/);
  assert.match(lines[3]!, /\| 1600 KiB +\| 60 KiB +\| 0\.04 +\| ≤ 64 KiB \| yes/);
  assert.equal(new Set(lines.map((line) => line.length)).size, 1, 'columns are padded alike');
});

test('a side that failed shows as failed, and its row does not hold', () => {
  const failed = row(0, 400, { tether: undefined, target: { op: '≥', value: 1, of: 'ratio' } });
  assert.equal(holds(failed), false);
  assert.equal(holds(row(0, 400, { tether: undefined })), false);
  assert.match(formatTable([failed]).split('\n')[2]!, /\| failed +\| — +\| ≥ 1\.0 +\| \*\*no\*\* \|/);
});

test('sizes in row names', () => {
  assert.equal(sizeLabel(2 ** 30), '1 GiB');
  assert.equal(sizeLabel(16 * 2 ** 20), '16 MiB');
  assert.equal(sizeLabel(3.2 * 2 ** 20), '3.2 MiB');
});

test('a download goes through a pipe into wc -c and every byte is counted', async () => {
  const bytes = 8 * 1024 * 1024 + 7;
  const run = await runClient({ program: 'head', args: ['-c', String(bytes), '/dev/zero'], env }, { countOutput: true, timeoutMs: 20_000 });
  assert.equal(run.stdout, String(bytes));
  assert.ok(run.seconds > 0);
  assert.ok(run.clientPeakKiB >= 0);
  expectCount(run.stdout, bytes, 'download');
  assert.throws(() => expectCount(run.stdout, bytes + 1, 'download'), ClientRunError);
});

test('an upload is fed from head through a pipe into the client', async () => {
  const bytes = 5 * 1024 * 1024 + 3;
  const run = await runClient({ program: 'wc', args: ['-c'], env }, { uploadBytes: bytes, timeoutMs: 20_000 });
  assert.equal(run.stdout, String(bytes));
});

test('a failing client and one past its time limit are errors, not fast runs', async () => {
  await assert.rejects(runClient({ program: 'sh', args: ['-c', 'echo broken >&2; exit 3'], env }, { timeoutMs: 20_000 }), /exited 3: broken/);
  await assert.rejects(runClient({ program: 'sleep', args: ['30'], env }, { timeoutMs: 300 }), /did not finish within 300 ms/);
  await assert.rejects(runClient({ program: '/nonexistent/client', args: [], env }, { timeoutMs: 5000 }), ClientRunError);
});
