/**
 * `-L` forwarding: the client runs `-N -L port:127.0.0.1:target`, the target (bench/tunnel-target.ts, its own
 * process) sends what each connection asks for, and this process reads it through the tunnel: once one big
 * transfer, once 20 smaller ones at the same time. Timed from the first connection to the last byte, once
 * the forward is up (the client's start-up is the latency case's business). chacha20-poly1305, the default.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from '../test/helpers/openssh.ts';
import { stopProcess } from '../test/helpers/processes.ts';
import { measureAlternating, rate, sizeLabel, summaryOf, type BenchContext, type BenchGroup } from './context.ts';
import { sleep, startHelper, transferTimeoutMs, type Command } from './measure.ts';
import { ALL_PAIRINGS, BASELINE, KEX, pairingCommand, TETHER_BOTH, TETHER_CLIENT, TETHER_SERVER } from './peers.ts';
import { rowKey, type Row } from './report.ts';

const CIPHER = [...KEX, '-c', 'chacha20-poly1305@openssh.com'];
const COMPARED = [TETHER_CLIENT, TETHER_SERVER, TETHER_BOTH];

/** The forwarding broke or lost bytes. */
export class TunnelError extends Error {
  override readonly name = 'TunnelError';
}

/** Asks the target for `bytes` through the local end at `port`; resolves with how many arrived before EOF. */
function fetchThrough(port: number, bytes: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const socket = connect(port, '127.0.0.1', () => socket.write(`${bytes}\n`));
    const timer = setTimeout(() => socket.destroy(new TunnelError(`no end of data within ${timeoutMs} ms (${received} of ${bytes} bytes)`)), timeoutMs);
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.once('error', (error) => (clearTimeout(timer), reject(error)));
    socket.once('end', () => (clearTimeout(timer), socket.destroy(), resolve(received)));
  });
}

/** Polls until the client's forward accepts and carries a request (bounded); fails if the client exits. */
async function waitForForward(port: number, exited: () => string | undefined): Promise<void> {
  for (const deadline = Date.now() + 20_000; ; await sleep(25)) {
    const gone = exited();
    if (gone !== undefined) throw new TunnelError(`the client exited before the forward was up: ${gone}`);
    try {
      // One byte, not none: a refused channel open also ends the local connection without data.
      if ((await fetchThrough(port, 1, 5000)) === 1) return;
    } catch (error) {
      if (Date.now() > deadline) throw new TunnelError(`the forward on port ${port} did not come up within 20 s: ${(error as Error).message}`);
    }
  }
}

/** One run: start the forwarding client, move `streams` × `each` bytes at once, stop it; seconds. */
async function tunnelRun(command: Command, port: number, streams: number, each: number): Promise<number> {
  const client = spawn(command.program, command.args, { stdio: ['ignore', 'ignore', 'pipe'], env: command.env });
  let stderr = '';
  client.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = () => (client.exitCode !== null || client.signalCode !== null ? `status ${client.exitCode ?? client.signalCode}: ${stderr.trim()}` : undefined);
  try {
    await waitForForward(port, exited);
    const started = performance.now();
    const counts = await Promise.all(Array.from({ length: streams }, () => fetchThrough(port, each, transferTimeoutMs(each * streams))));
    const seconds = (performance.now() - started) / 1000;
    const short = counts.find((count) => count !== each);
    if (short !== undefined) throw new TunnelError(`a stream through the tunnel ended after ${short} of ${each} bytes: ${exited() ?? stderr.trim()}`);
    return seconds;
  } finally {
    await stopProcess(client);
  }
}

function tunnelGroup(streams: number, each: number): BenchGroup {
  const name = `-L tunnel ${streams} × ${sizeLabel(each)}`;
  return {
    rows: COMPARED.map((pairing) => rowKey(name, pairing.label)),
    async run(context: BenchContext): Promise<Row[]> {
      const target = startHelper('tunnel-target');
      try {
        const { port: targetPort } = await target.nextMessage<{ port: number }>(20_000);
        const values = await measureAlternating(context, name, ALL_PAIRINGS, context.rounds, async (pairing) => {
          const localPort = await freePort();
          const options = [...CIPHER, '-N', '-o', 'ExitOnForwardFailure=yes', '-L', `127.0.0.1:${localPort}:127.0.0.1:${targetPort}`];
          return rate(streams * each, await tunnelRun(pairingCommand(context.peers, pairing, options), localPort, streams, each));
        });
        return COMPARED.map((pairing) => ({
          name,
          pairing: pairing.label,
          unit: 'MB/s',
          openssh: summaryOf(values, BASELINE),
          tether: summaryOf(values, pairing),
          target: { op: '≥', value: 1.0, of: 'ratio' },
        }));
      } finally {
        await target.stop();
      }
    },
  };
}

/** The sizes at 1 GiB: 1 × 512 MiB and 20 × 16 MiB; scaled with --quick. */
export function tunnelGroups(bytes: number): BenchGroup[] {
  return [tunnelGroup(1, bytes / 2), tunnelGroup(20, bytes / 64)];
}
