/**
 * Micro-benchmark of the per-packet path (issue 17), one process, no network:
 *
 *  - "seal+open": a 32 KiB CHANNEL_DATA payload through each cipher's PacketSealer and PacketOpener, as the
 *    transport drives them (packetLength on the header, then open), in a tight loop.
 *  - "layer": two PacketLayers joined by an in-memory stream pair (node:stream duplexPair), the sender
 *    encoding CHANNEL_DATA messages the way a channel does and writing while the stream takes them, the
 *    receiver decoding them: framing, sealing, stream writes, re-assembly and opening together.
 *
 * For each it prints MB of channel data per second of this process's CPU time (user + system, so that other
 * processes competing for the cores matter less than they do to wall-clock rates) and the garbage
 * collections per GiB moved (scavenges, mark-compacts) with their total pause, from PerformanceObserver
 * 'gc' entries. Absolute figures still drift with the machine's load; compare runs made one after the other.
 *
 *   TETHER_SOURCE=1 node_modules/.bin/node bench/packet-path.ts [--mib N] [--runs N] [filter]
 */
import { randomBytes } from 'node:crypto';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { duplexPair } from 'node:stream';
import { CIPHERS, MACS, createOpener, createSealer } from '../src/crypto/cipher/index.ts';
import type { DirectionKeys, PacketOpener, PacketSealer } from '../src/crypto/cipher/index.ts';
import { PacketLayer } from '../src/transport/packet-layer.ts';
import { SSH_MSG } from '../src/wire/message-numbers.ts';
import { Writer } from '../src/wire/writer.ts';

const CHUNK = 32 * 1024;
/** CHANNEL_DATA: byte type, uint32 recipient, string data. */
const MESSAGE_OVERHEAD = 1 + 4 + 4;

const args = process.argv.slice(2);
function option(name: string, fallback: number): number {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(args.splice(at, 2)[1]);
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} needs a positive number`);
  return value;
}
const MEBIBYTES = option('--mib', 256);
const RUNS = option('--runs', 3);
const filter = args[0] ?? '';

interface Suite {
  name: string;
  cipher: string;
  mac: string;
}

const SUITES: Suite[] = [
  { name: 'chacha20-poly1305', cipher: 'chacha20-poly1305@openssh.com', mac: '' },
  { name: 'aes128-gcm', cipher: 'aes128-gcm@openssh.com', mac: '' },
  { name: 'aes128-ctr+hmac-sha2-256-etm', cipher: 'aes128-ctr', mac: 'hmac-sha2-256-etm@openssh.com' },
  { name: 'aes128-ctr+hmac-sha2-256', cipher: 'aes128-ctr', mac: 'hmac-sha2-256' },
];

function directionKeys(suite: Suite): DirectionKeys {
  const info = CIPHERS.get(suite.cipher)!;
  const mac = info.aead ? undefined : MACS.get(suite.mac)!;
  return {
    cipher: suite.cipher,
    mac: suite.mac,
    encryptionKey: randomBytes(info.keyLength),
    iv: randomBytes(info.ivLength),
    integrityKey: randomBytes(mac?.keyLength ?? 0),
  };
}

/** The message a channel sends for `data`, as channel.ts built it before issue 17 (a Writer). */
function channelData(data: Buffer): Buffer {
  return new Writer(data.length + 20).byte(SSH_MSG.CHANNEL_DATA).uint32(0).string(data).finish();
}

/** The same message written in place, as channel.ts sendData() does through sendEncoded(). */
function encodeChannelData(data: Buffer): (target: Buffer, at: number) => void {
  return (target, at) => {
    target[at] = SSH_MSG.CHANNEL_DATA;
    target.writeUInt32BE(0, at + 1);
    target.writeUInt32BE(data.length, at + 5);
    target.set(data, at + 9);
  };
}

/** The fast-path sealer contract (issue 17), when the code under test has it. */
interface InPlaceSealer {
  plaintext(payloadLength: number): Buffer;
  sealPlaintext(sequence: number, payloadLength: number): Buffer[];
}
const inPlace = (sealer: PacketSealer): InPlaceSealer | undefined =>
  'sealPlaintext' in sealer ? (sealer as unknown as InPlaceSealer) : undefined;

interface GcCount {
  scavenges: number;
  markCompacts: number;
  pauseMs: number;
}

/** Counts garbage collections while `work` runs (entries arrive asynchronously, so it waits for them). */
async function countingGcs<T>(work: () => Promise<T>): Promise<{ result: T; gcs: GcCount }> {
  const gcs: GcCount = { scavenges: 0, markCompacts: 0, pauseMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) gcs.scavenges++;
      else if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) gcs.markCompacts++;
      gcs.pauseMs += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const result = await work();
  await new Promise((resolve) => setTimeout(resolve, 20));
  observer.disconnect();
  return { result, gcs };
}

/** CPU seconds (user + system) of this process since `since`. */
function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

/** Seal and open through the contract, as the transport calls them; returns CPU seconds. */
function sealAndOpen(sealer: PacketSealer, opener: PacketOpener, packets: number): number {
  const data = randomBytes(CHUNK);
  const started = process.cpuUsage();
  const fast = inPlace(sealer);
  const encode = encodeChannelData(data);
  for (let sequence = 0; sequence < packets; sequence++) {
    let wire: Buffer;
    if (fast) {
      // The pieces are joined only because open() wants one buffer; on a socket the kernel joins them.
      encode(fast.plaintext(MESSAGE_OVERHEAD + CHUNK), 5);
      wire = Buffer.concat(fast.sealPlaintext(sequence, MESSAGE_OVERHEAD + CHUNK));
    } else {
      wire = sealer.seal(sequence, channelData(data));
    }
    const length = opener.packetLength(sequence, wire.subarray(0, opener.headerLength));
    const payload = opener.open(sequence, wire.subarray(0, 4 + length + opener.macLength));
    if (payload.length !== CHUNK + MESSAGE_OVERHEAD) throw new Error('bench: wrong payload length');
  }
  return cpuSeconds(started);
}

/** Two packet layers over an in-memory stream pair; resolves with CPU seconds once every packet arrived. */
async function throughLayers(keys: DirectionKeys, packets: number): Promise<number> {
  const [senderSide, receiverSide] = duplexPair({ highWaterMark: 256 * 1024 });
  let received = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  const ignore = (): void => {};
  const fail = (error: Error): void => {
    throw error;
  };
  const sender = new PacketLayer({ stream: senderSide, onPacket: ignore, afterInput: ignore, onError: fail, debug: ignore });
  const receiver = new PacketLayer({
    stream: receiverSide,
    onPacket: (payload) => {
      if (payload.length !== CHUNK + MESSAGE_OVERHEAD) throw new Error('bench: wrong payload length');
      if (++received === packets) done();
    },
    afterInput: ignore,
    onError: fail,
    debug: ignore,
  });
  receiverSide.on('data', (chunk: Buffer) => receiver.receive(chunk));
  sender.newOutgoingKeys(createSealer(keys), 'none', true);
  receiver.newIncomingKeys(createOpener(keys), 'none', true);

  const data = randomBytes(CHUNK);
  const encode = encodeChannelData(data);
  // Before issue 17 the layer had only write(payload).
  const fastLayer = typeof (sender as { writeEncoded?: unknown }).writeEncoded === 'function';
  const started = process.cpuUsage();
  let sent = 0;
  const pump = (): void => {
    while (sent < packets) {
      sent++;
      const flowing = fastLayer ? sender.writeEncoded(MESSAGE_OVERHEAD + CHUNK, encode) : sender.write(channelData(data));
      if (!flowing) {
        senderSide.once('drain', pump);
        return;
      }
    }
  };
  pump();
  await finished;
  const seconds = cpuSeconds(started);
  sender.close();
  receiver.close();
  senderSide.destroy();
  receiverSide.destroy();
  return seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function measure(label: string, run: () => Promise<number>, packets: number): Promise<void> {
  const rates: number[] = [];
  let total: GcCount = { scavenges: 0, markCompacts: 0, pauseMs: 0 };
  for (let i = 0; i < RUNS; i++) {
    const { result: seconds, gcs } = await countingGcs(run);
    rates.push((packets * CHUNK) / 1e6 / seconds);
    total = { scavenges: total.scavenges + gcs.scavenges, markCompacts: total.markCompacts + gcs.markCompacts, pauseMs: total.pauseMs + gcs.pauseMs };
  }
  const gibibytes = (RUNS * packets * CHUNK) / 2 ** 30;
  const perGiB = (n: number): string => (n / gibibytes).toFixed(n / gibibytes < 10 ? 1 : 0);
  console.log(
    `${label.padEnd(44)} ${median(rates).toFixed(0).padStart(6)} MB/cpu-s (${Math.min(...rates).toFixed(0)}–${Math.max(...rates).toFixed(0)})` +
      `   per GiB: ${perGiB(total.scavenges).padStart(5)} scavenges, ${perGiB(total.markCompacts).padStart(4)} mark-compacts, ${perGiB(total.pauseMs).padStart(5)} ms GC`,
  );
}

const packets = Math.ceil((MEBIBYTES * 1024 * 1024) / CHUNK);
console.log(`node ${process.version}, ${packets} packets of ${CHUNK} bytes per run, ${RUNS} runs, medians (min–max)`);
for (const suite of SUITES) {
  if (!suite.name.includes(filter)) continue;
  const keys = directionKeys(suite);
  // Warm up both paths so the first run is not the JIT's.
  sealAndOpen(createSealer(keys), createOpener(keys), 200);
  await measure(`seal+open ${suite.name}`, async () => sealAndOpen(createSealer(keys), createOpener(keys), packets), packets);
  await measure(`layer     ${suite.name}`, () => throughLayers(keys, packets), packets);
}
