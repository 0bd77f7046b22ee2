/**
 * Benchmarks against OpenSSH, measured side by side in one run (absolute numbers drift between runs; the
 * ratios are what to read). Both clients talk to the same real sshd on 127.0.0.1 running the same remote
 * command, so like is compared with like (see shared/PERFORMANCE-NOTES.md).
 *
 *   npm run bench              # all cases
 *   npm run bench -- bulk      # only cases whose name contains "bulk"
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { makeKey, publicKeyLine, startSshd, tempDir } from '../test/helpers/openssh.ts';
import { TETHER_BIN } from '../test/helpers/tether.ts';

const BULK_BYTES = 512 * 1024 * 1024;
const LATENCY_RUNS = 10;

interface Case {
  name: string;
  /** Extra client arguments and the remote command. */
  args: string[];
  /** Bytes moved, for throughput cases. */
  bytes?: number;
  runs: number;
}

const CASES: Case[] = [
  { name: 'bulk server->client aes128-gcm', args: ['-c', 'aes128-gcm@openssh.com', `head -c ${BULK_BYTES} /dev/zero`], bytes: BULK_BYTES, runs: 2 },
  { name: 'bulk server->client chacha20-poly1305', args: ['-c', 'chacha20-poly1305@openssh.com', `head -c ${BULK_BYTES} /dev/zero`], bytes: BULK_BYTES, runs: 2 },
  { name: 'bulk server->client aes128-ctr + hmac-sha2-256-etm', args: ['-c', 'aes128-ctr', '-m', 'hmac-sha2-256-etm@openssh.com', `head -c ${BULK_BYTES} /dev/zero`], bytes: BULK_BYTES, runs: 2 },
  { name: 'connect + auth + exec true (curve25519)', args: ['-o', 'KexAlgorithms=curve25519-sha256', 'true'], runs: LATENCY_RUNS },
];

/** Runs one client to completion, discarding its output; returns seconds elapsed. */
function timeRun(program: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('close', (code) => (code === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`${program} exited ${code}: ${stderr}`))));
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const filter = process.argv[2];
  const home = tempDir('tether-bench-');
  const key = makeKey(home, 'id_ed25519', 'ed25519');
  const sshd = await startSshd({ authorizedKeys: [publicKeyLine(key)] });
  const common = ['-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`, '-o', 'IdentitiesOnly=yes', '-i', key, '-p', String(sshd.port), 'root@127.0.0.1'];
  const clients = {
    openssh: (args: string[]) => timeRun('/usr/bin/ssh', [...common.slice(0, -1), ...args.slice(0, -1), common.at(-1)!, args.at(-1)!]),
    tether: (args: string[]) => timeRun(process.execPath, [TETHER_BIN, 'ssh', ...common.slice(0, -1), ...args.slice(0, -1), common.at(-1)!, args.at(-1)!]),
  };
  console.log(`Tether vs OpenSSH ${'(ssh client, same sshd, 127.0.0.1)'}; Node ${process.versions.node}`);
  console.log('case'.padEnd(52), 'OpenSSH'.padStart(12), 'Tether'.padStart(12), 'ratio'.padStart(8));
  try {
    for (const benchCase of CASES.filter((c) => !filter || c.name.includes(filter))) {
      const results: Record<string, number[]> = { openssh: [], tether: [] };
      // Alternate the clients so drift in the machine's load affects both alike.
      for (let run = 0; run < benchCase.runs; run++) {
        for (const name of ['openssh', 'tether'] as const) results[name]!.push(await clients[name](benchCase.args));
      }
      const [ours, theirs] = [median(results.tether!), median(results.openssh!)];
      if (benchCase.bytes) {
        const rate = (seconds: number) => benchCase.bytes! / seconds / 1e6;
        console.log(benchCase.name.padEnd(52), `${rate(theirs).toFixed(0)} MB/s`.padStart(12), `${rate(ours).toFixed(0)} MB/s`.padStart(12), `${(rate(ours) / rate(theirs)).toFixed(2)}x`.padStart(8));
      } else {
        console.log(benchCase.name.padEnd(52), `${(theirs * 1000).toFixed(0)} ms`.padStart(12), `${(ours * 1000).toFixed(0)} ms`.padStart(12), `${(theirs / ours).toFixed(2)}x`.padStart(8));
      }
    }
  } finally {
    await sshd.stop();
  }
  console.log('ratio > 1 means Tether is faster; latency is whole-process (node start-up included).');
}

await main();
