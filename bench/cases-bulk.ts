/**
 * Bulk transfers through a pipe, per cipher and direction, in all three pairings against ssh → sshd: download
 * is `head -c N /dev/zero` on the server into `wc -c` here, upload `head -c N /dev/zero` here into `wc -c`
 * on the server, and both counts are checked. The download with the default cipher also records the client's
 * and the server's peak RSS.
 */
import { maybeSummary, measureAlternating, rate, sizeLabel, summaryOf, type BenchContext, type BenchGroup } from './context.ts';
import { expectCount, runClient, transferTimeoutMs } from './measure.ts';
import { ALL_PAIRINGS, BASELINE, KEX, pairingCommand, serverOf, TETHER_BOTH, TETHER_CLIENT, TETHER_SERVER, type Pairing } from './peers.ts';
import { rowKey, type Row, type Target } from './report.ts';

interface CipherSpec {
  name: string;
  options: string[];
  target: Target;
}

const CIPHERS: CipherSpec[] = [
  // What every stock client negotiates first.
  { name: 'chacha20-poly1305@openssh.com', options: ['-c', 'chacha20-poly1305@openssh.com'], target: { op: '≥', value: 1.0, of: 'ratio' } },
  { name: 'aes128-gcm@openssh.com', options: ['-c', 'aes128-gcm@openssh.com'], target: { op: '≥', value: 1.0, of: 'ratio' } },
  { name: 'aes128-ctr + hmac-sha2-256-etm@openssh.com', options: ['-c', 'aes128-ctr', '-m', 'hmac-sha2-256-etm@openssh.com'], target: { op: '≥', value: 0.9, of: 'ratio' } },
];

type Direction = 'download' | 'upload';

const COMPARED: readonly Pairing[] = [TETHER_CLIENT, TETHER_SERVER, TETHER_BOTH];
const CLIENT_PEAK = 'client peak RSS (VmHWM) during download chacha20-poly1305';
const SERVER_PEAK = 'server peak RSS (VmHWM) during download chacha20-poly1305';

function caseName(direction: Direction, cipher: CipherSpec): string {
  return `${direction} ${cipher.name}`;
}

function bulkGroup(direction: Direction, cipher: CipherSpec, withPeaks: boolean): BenchGroup {
  const name = caseName(direction, cipher);
  const rows = COMPARED.map((pairing) => rowKey(name, pairing.label));
  if (withPeaks) rows.push(rowKey(CLIENT_PEAK, TETHER_CLIENT.label), rowKey(SERVER_PEAK, TETHER_SERVER.label));
  return {
    rows,
    async run(context: BenchContext): Promise<Row[]> {
      const { peers, bytes } = context;
      const clientPeaks = new Map<Pairing, number[]>(ALL_PAIRINGS.map((pairing) => [pairing, []]));
      const serverPeaks = new Map<Pairing, number[]>(ALL_PAIRINGS.map((pairing) => [pairing, []]));
      const title = `${name} ${sizeLabel(bytes)}`;
      const values = await measureAlternating(context, title, ALL_PAIRINGS, context.rounds, async (pairing) => {
        const watch = withPeaks ? peers.watchPeak(serverOf(peers, pairing)) : undefined;
        const command = direction === 'download'
          ? pairingCommand(peers, pairing, [...KEX, ...cipher.options], `head -c ${bytes} /dev/zero`)
          : pairingCommand(peers, pairing, [...KEX, ...cipher.options], 'wc -c');
        const run = await runClient(command, {
          ...(direction === 'download' ? { countOutput: true } : { uploadBytes: bytes }),
          timeoutMs: transferTimeoutMs(bytes),
          ...(watch ? { onSample: () => watch.sample() } : {}),
        });
        expectCount(run.stdout, bytes, `${title} (${pairing.label})`);
        clientPeaks.get(pairing)!.push(run.clientPeakKiB / 1024);
        if (watch) serverPeaks.get(pairing)!.push(watch.finish() / 1024);
        return rate(bytes, run.seconds);
      });
      const result: Row[] = COMPARED.map((pairing) => ({
        name,
        pairing: pairing.label,
        unit: 'MB/s',
        openssh: summaryOf(values, BASELINE),
        tether: summaryOf(values, pairing),
        target: cipher.target,
      }));
      if (withPeaks) {
        result.push(
          { name: CLIENT_PEAK, pairing: TETHER_CLIENT.label, unit: 'MiB', openssh: maybeSummary(clientPeaks.get(BASELINE)!), tether: maybeSummary(clientPeaks.get(TETHER_CLIENT)!), target: { op: '≤', value: 2, of: 'ratio' } },
          // sshd: its connection's monitor and user child together; the tether server: its one process.
          { name: SERVER_PEAK, pairing: TETHER_SERVER.label, unit: 'MiB', openssh: maybeSummary(serverPeaks.get(BASELINE)!), tether: maybeSummary(serverPeaks.get(TETHER_SERVER)!) },
        );
      }
      return result;
    },
  };
}

export const BULK_GROUPS: BenchGroup[] = CIPHERS.flatMap((cipher, index) => [bulkGroup('download', cipher, index === 0), bulkGroup('upload', cipher, false)]);
