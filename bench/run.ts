/**
 * `npm run bench` (issue 17): OpenSSH's sshd and `tether server` on 127.0.0.1, /usr/bin/ssh and `tether ssh`
 * against both, and one table of ratios Tether ÷ OpenSSH measured in this run, in ABBA order, medians with
 * min–max, each beside the issue's target. Absolute figures drift between runs; the ratios are what to read.
 *
 *   npm run bench                        # 1 GiB transfers, every row (tens of minutes)
 *   npm run bench -- --quick             # 64 MiB, fewer runs
 *   npm run bench -- --only gcm          # rows whose name or pairing contains "gcm"
 *   npm run bench -- --write             # also write bench/RESULTS.md with the machine described
 *   TETHER_SOURCE=1 node_modules/.bin/node bench/run.ts --quick   # from sources, without a build
 *
 * Cases live in bench/cases-*.ts, one family each; measuring in measure.ts, the peers in peers.ts, the
 * table in report.ts.
 */
import { join } from 'node:path';
import { REPO_ROOT } from '../test/helpers/tether.ts';
import { BULK_GROUPS } from './cases-bulk.ts';
import { concurrentGroups } from './cases-concurrent.ts';
import { IDLE_GROUPS } from './cases-idle.ts';
import { LATENCY_GROUP } from './cases-latency.ts';
import { sessionGroups } from './cases-sessions.ts';
import { SFTP_GROUPS } from './cases-sftp.ts';
import { tunnelGroups } from './cases-tunnel.ts';
import { sizeLabel, type BenchContext, type BenchGroup } from './context.ts';
import { MiB } from './measure.ts';
import { SHELL_NOTE, startPeers, type Peers } from './peers.ts';
import { formatReport, holds, rowKey, writeResults, type Row } from './report.ts';

interface Options {
  quick: boolean;
  only: string[];
  write: boolean;
}

const USAGE = 'usage: bench/run.ts [--quick] [--only SUBSTRING]... [--write]';

function parseOptions(argv: string[]): Options {
  const options: Options = { quick: false, only: [], write: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') options.quick = true;
    else if (arg === '--write') options.write = true;
    else if (arg === '--only' && argv[i + 1] !== undefined) options.only.push(argv[++i]!.toLowerCase());
    else if (arg.startsWith('--only=')) options.only.push(arg.slice('--only='.length).toLowerCase());
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else {
      console.error(`${USAGE}\nunknown argument: ${arg}`);
      process.exit(2);
    }
  }
  return options;
}

function allGroups(bytes: number): BenchGroup[] {
  // Latency first, on a machine not yet warmed by transfers; the issue-16 rows (cases-sessions.ts) last.
  return [LATENCY_GROUP, ...BULK_GROUPS, ...tunnelGroups(bytes), ...SFTP_GROUPS, ...concurrentGroups(bytes), ...IDLE_GROUPS, ...sessionGroups(bytes)];
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const selected = (key: string) => options.only.length === 0 || options.only.some((part) => key.toLowerCase().includes(part));
  const bytes = options.quick ? 64 * MiB : 1024 * MiB;
  const notes: string[] = [];
  // An interrupted run still stops the servers it started (by PID, in peers.stop()).
  const started: { peers?: Peers } = {};
  const stopOnSignal = () => void (started.peers?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  const peers = (started.peers = await startPeers());
  const context: BenchContext = {
    peers,
    bytes,
    quick: options.quick,
    rounds: options.quick ? 2 : 4,
    latencyRounds: options.quick ? 6 : 10,
    progress: (line) => process.stderr.write(`bench: ${line}\n`),
    note: (line) => notes.push(line),
  };
  const rows: Row[] = [];
  let failures = 0;
  try {
    for (const group of allGroups(bytes).filter((candidate) => candidate.rows.some(selected))) {
      try {
        rows.push(...(await group.run(context)).filter((row) => selected(rowKey(row.name, row.pairing))));
      } catch (error) {
        failures++;
        const message = `${group.rows[0]}…: failed: ${(error as Error).message}`;
        notes.push(message);
        context.progress(message);
      }
    }
  } finally {
    await peers.stop();
  }
  const fromSource = Boolean(process.env.TETHER_SOURCE);
  const report = {
    rows,
    commandLine: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    method: [
      `ratio = Tether ÷ OpenSSH of the medians; ${context.rounds} runs of each variant for transfers and ${context.latencyRounds} for latency, in ABBA order (A B B A …); cells are median (min–max).`,
      'OpenSSH column: ssh → sshd, or sshd with the same client for the server-only rows (idle sessions, concurrent downloads).',
      `bulk transfers: ${sizeLabel(bytes)} through pipes (\`head -c N /dev/zero\` into the client or on the server, \`wc -c\` at the other end; every count checked); -L and concurrent sizes are fractions of it.`,
      SHELL_NOTE,
      'every connection uses curve25519-sha256 (OpenSSH 9.2 defaults to the costlier sntrup761x25519 hybrid); the ciphers are pinned per row, chacha20-poly1305 where the row names none.',
      `tether ${fromSource ? 'ran from src/ (TETHER_SOURCE=1: types stripped at load, so its start-up is slower than a build)' : 'ran from dist/ (npm run build)'}; the tether server with Node's default flags and its default configuration (PersistentSessions yes). tether ssh asks hold@ by default, so in the tether → tether rows the session is held: its output goes through the user's session holder, as a user gets it; against sshd and from ssh nothing is held.`,
    ],
    notes,
  };
  console.log(formatReport(report));
  if (options.write) {
    const path = join(REPO_ROOT, 'bench', 'RESULTS.md');
    writeResults(path, report);
    console.log(`written to ${path}`);
  }
  const missed = rows.filter((row) => holds(row) === false).length;
  process.stderr.write(`bench: ${rows.length} rows, ${missed} targets missed, ${failures} group(s) failed\n`);
  process.exitCode = failures > 0 ? 1 : 0;
}

await main();
