/**
 * The client's receive and output path (issue 17), tree against tree: `tether ssh` from each given source
 * tree downloads N MiB from a stock sshd on 127.0.0.1 (`head -c N /dev/zero` remotely) into a pipe that a
 * reader drains, runs alternating between the trees (ABBA). For each run it prints the client's CPU seconds
 * per GiB (user + system, from /usr/bin/time, so that other processes on a loaded machine matter less than to
 * wall-clock rates), its peak RSS, the wall time and the bytes received (which must be exactly N MiB).
 * /usr/bin/ssh runs as the reference.
 *
 *   node_modules/.bin/node bench/client-path.ts [--mib N] [--rounds N] [--cipher C] [--slow] TREE…
 *
 * Each TREE runs as bin/tether.js runs it: its dist/bundle when built, its sources under TETHER_SOURCE=1.
 * CLIENT_NODE_FLAGS adds Node flags to the tether clients (a profiler or GC-counting preload, heap sizes).
 *
 * --slow drains the pipe at ~64 MiB/s so that stdout, not decryption, is the bottleneck.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { sshdWithClientKey } from '../test/helpers/openssh.ts';
import { abbaOrder, summarize } from './measure.ts';

const args = process.argv.slice(2);
function option(name: string, fallback: string): string {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const [value] = args.splice(at, 2).slice(1);
  return value ?? fallback;
}
const mib = Number(option('--mib', '512'));
const rounds = Number(option('--rounds', '2'));
const cipher = option('--cipher', 'aes128-gcm@openssh.com');
const slowAt = args.indexOf('--slow');
const slow = slowAt >= 0;
if (slow) args.splice(slowAt, 1);
const trees = args.length > 0 ? args : [process.cwd()];

interface Run {
  cpu: number;
  rssKiB: number;
  wall: number;
  bytes: number;
}

const { home, key, sshd } = await sshdWithClientKey({ hostKeyTypes: ['ed25519'] });

function clientArgs(): string[] {
  return [
    '-F', '/dev/null', '-i', key, '-p', String(sshd.port),
    '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`, '-o', 'BatchMode=yes',
    '-o', 'KexAlgorithms=curve25519-sha256', '-o', `Ciphers=${cipher}`,
    'root@127.0.0.1', `head -c ${mib * 1024 * 1024} /dev/zero`,
  ];
}

function runOnce(program: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%U %S %M', ...program, ...clientArgs()], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let bytes = 0;
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      // ~64 MiB/s: pause for 1 ms per 64 KiB read.
      if (slow) {
        child.stdout!.pause();
        setTimeout(() => child.stdout!.resume(), Math.ceil(chunk.length / 65536));
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      const last = stderr.trim().split('\n').at(-1) ?? '';
      const [user, system, rss] = last.split(' ').map(Number);
      if (status !== 0 || rss === undefined) return reject(new Error(`client failed (${status}): ${stderr}`));
      // Lines a preload (CLIENT_NODE_FLAGS=--import …) printed, such as GC counts.
      for (const line of stderr.split('\n').filter((text) => text.startsWith('gc:'))) console.log(line);
      resolve({ cpu: user! + system!, rssKiB: rss, wall: (performance.now() - started) / 1000, bytes });
    });
  });
}

const variants = ['ssh', ...trees];
const results = new Map<string, Run[]>(variants.map((variant) => [variant, []]));
for (const variant of abbaOrder(variants, rounds)) {
  const program = variant === 'ssh' ? ['/usr/bin/ssh'] : [join(variant, 'node_modules/.bin/node'), ...(process.env.CLIENT_NODE_FLAGS ?? '').split(' ').filter(Boolean), join(variant, 'bin/tether.js'), 'ssh'];
  // A tree's dist/bundle when it has one (bin/tether.js picks it), its sources with TETHER_SOURCE=1 set.
  const run = await runOnce(program, {});
  if (run.bytes !== mib * 1024 * 1024) throw new Error(`${variant}: ${run.bytes} bytes received, not ${mib} MiB`);
  results.get(variant)!.push(run);
  console.log(`${variant}: ${((run.cpu * 1024) / mib).toFixed(2)} CPU s/GiB, peak RSS ${(run.rssKiB / 1024).toFixed(1)} MiB, ${run.wall.toFixed(2)} s`);
}
for (const [variant, runs] of results) {
  const cpu = summarize(runs.map((run) => (run.cpu * 1024) / mib));
  const rss = summarize(runs.map((run) => run.rssKiB / 1024));
  const rate = summarize(runs.map((run) => mib / run.wall));
  console.log(`${variant.padEnd(30)} CPU s/GiB median ${cpu.median.toFixed(2)} (${cpu.min.toFixed(2)}–${cpu.max.toFixed(2)}), ${rate.median.toFixed(0)} MiB/s wall (${rate.min.toFixed(0)}–${rate.max.toFixed(0)}), peak RSS median ${rss.median.toFixed(1)} MiB`);
}
await sshd.stop();
