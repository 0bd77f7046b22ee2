/**
 * Gives memory back once a burst is over. sshd's memory goes with each connection's process; here one
 * process serves every connection, and what a burst made it commit stays: V8 keeps the heap pages a flood of
 * connections or channels filled, and, since Node never tells V8 the process is idle, its memory reducer does
 * not run. Measured: 5,000 direct-tcpip opens left `tether server` 40 MiB above its baseline for good, with
 * the heap itself back to 12 MiB in use; one full collection that returns memory brings it back.
 *
 * So the server samples its load (connections plus channels) and its RSS every second and asks V8 for that
 * collection when a burst has subsided — the load has fallen to a quarter of its peak since the last
 * release, and the peak was a burst, not a few users — or when no connection is left and the server has
 * grown well past the size it had after the last release (a single connection's flood of messages does that
 * without any burst of channels). A release while the burst's last quarter was still open collects only
 * what had closed by then: once no connection is left, one more follows (measured: without it, 5,000
 * direct-tcpip opens left 33 MiB of collectable garbage in the old space, and V8 never came back for it). Busy ordinary use never triggers it; a burst triggers it once, after it
 * subsides, and an idle server at most once per growth: the collection stops the process for tens of
 * milliseconds on a small heap.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Load sampled this often (ms). The timer does not keep the process alive. */
const SAMPLE_INTERVAL_MS = 1000;
/** A peak this far above the current load is a burst worth releasing after. */
const MIN_BURST = 64;
/** At most one release in this long (ms), whatever the load does… */
const MIN_RELEASE_INTERVAL_MS = 5_000;
/** …except the one that follows a burst once no connection is left, which happens once per release. */
const BURST_GONE_INTERVAL_MS = 1_000;
/**
 * How long after a connection closes its load is looked at (ms): the collection must not run inside that
 * close, where the connection and its channels are still reachable from the stack and from the close
 * callbacks of their sockets (measured: collected there, 5,000 direct-tcpip opens left 33 MiB of garbage).
 */
const AFTER_CLOSE_MS = 500;
/** Grown "well past" the size after the last release: by this fraction of it… */
const IDLE_GROWTH = 0.05;
/** …plus this much (bytes), so that a small process's noise is not taken for growth. */
const IDLE_GROWTH_BYTES = 4 * 1024 * 1024;

type GcFunction = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

let collect: GcFunction | undefined;

/**
 * V8's gc() with the "last resort" flavour: the collection it runs before giving up on an allocation, which
 * compacts and hands free pages back to the system. Exposed for this one call and hidden again, so that no
 * other code in the process sees a global gc.
 */
function lastResortCollection(): GcFunction {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as GcFunction;
    setFlagsFromString('--no-expose-gc');
  }
  return collect;
}

export interface MemoryReleaseOptions {
  /** The current load: open connections plus their channels. */
  load: () => number;
  /** Told of each release, for the log. */
  released?: (peak: number, load: number, ms: number) => void;
  /** The process's resident set size in bytes (tests give their own). */
  rss?: () => number;
  /** Milliseconds, for the interval between releases (tests give their own clock). */
  now?: () => number;
}

export class MemoryRelease {
  private readonly options: MemoryReleaseOptions;
  private readonly timer: NodeJS.Timeout;
  private afterClose: NodeJS.Timeout | undefined;
  private peak = 0;
  private lastRelease = -Infinity;
  /** RSS after the last release (or at the first idle sample): what an idle server should come back to. */
  private settledRss: number | undefined;
  /** The load when the last release ran: above 0, what was still open then is collected once it is gone. */
  private loadAtRelease = 0;

  constructor(options: MemoryReleaseOptions) {
    this.options = options;
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
    this.timer.unref();
  }

  /**
   * When a connection closes: its load counts towards the peak now, so that a short burst between two
   * samples is not missed, and a sample follows shortly, outside the close.
   */
  connectionClosed(): void {
    this.peak = Math.max(this.peak, this.options.load());
    if (this.afterClose !== undefined) return;
    this.afterClose = setTimeout(() => {
      this.afterClose = undefined;
      this.sample();
    }, AFTER_CLOSE_MS);
    this.afterClose.unref();
  }

  /** Samples the load, and releases memory if the rules above say so. */
  sample(): void {
    const load = this.options.load();
    this.peak = Math.max(this.peak, load);
    const burstOver = this.peak - load >= MIN_BURST && load <= this.peak / 4;
    const burstGone = load === 0 && this.loadAtRelease > 0;
    if (!burstOver && !burstGone && !(load === 0 && this.grownSinceRelease())) return;
    const now = this.now();
    if (now - this.lastRelease < (burstGone ? BURST_GONE_INTERVAL_MS : MIN_RELEASE_INTERVAL_MS)) return;
    const peak = this.peak;
    this.peak = load;
    this.lastRelease = now;
    this.loadAtRelease = load;
    lastResortCollection()({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    this.settledRss = this.rss();
    this.options.released?.(peak, load, this.now() - now);
  }

  private now(): number {
    return this.options.now ? this.options.now() : performance.now();
  }

  private rss(): number {
    return (this.options.rss ?? process.memoryUsage.rss)();
  }

  /** Whether RSS is well past its size after the last release (the first idle sample sets that size). */
  private grownSinceRelease(): boolean {
    const rss = this.rss();
    this.settledRss ??= rss;
    return rss > this.settledRss * (1 + IDLE_GROWTH) + IDLE_GROWTH_BYTES;
  }

  stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.afterClose);
  }
}
