/**
 * MaxStartups start:rate:full (sshd_config(5)): past `start` unauthenticated connections, new ones are
 * refused with a probability rising linearly from rate% to 100% at `full`; PerSourceMaxStartups caps them
 * per source network block (PerSourceNetBlockSize, srclimit.c). Counts are taken from accept until
 * authentication succeeds or the connection ends. Entering and leaving the throttled state is logged as
 * sshd.c drop_connection logs it.
 */
import { randomInt } from 'node:crypto';
import type { ServerLogger } from './logger.ts';
import { netBlockOf, type NetBlockSize } from './net-block.ts';

export interface MaxStartupsPolicy {
  begin: number;
  rate: number;
  full: number;
  perSource: number | null;
  /** PerSourceNetBlockSize; /32 and /128 when absent. */
  netBlockSize?: NetBlockSize;
}

export type Admission =
  | { admitted: true; release: () => void }
  /** `startups` is the count sshd prints as "drop connection #N"; `level` the level it logs that line at. */
  | { admitted: false; reason: 'full' | 'random' | 'source'; startups: number; level: 'info' | 'verbose' };

/** sshd logs that it is still throttling every five minutes (SSHD_MAXSTARTUPS_LOG_INTERVAL). */
const LOG_INTERVAL_SECONDS = 5 * 60;

/** misc.c fmt_timeframe: "hh:mm:ss" under a day, then "XdYYhZZm", then "XXwYdZZh". */
export function formatTimeframe(seconds: number): string {
  let rest = Math.max(0, Math.floor(seconds));
  const sec = rest % 60;
  rest = Math.floor(rest / 60);
  const min = rest % 60;
  rest = Math.floor(rest / 60);
  const hrs = rest % 24;
  rest = Math.floor(rest / 24);
  const day = rest % 7;
  const week = Math.floor(rest / 7);
  const two = (n: number): string => String(n).padStart(2, '0');
  if (week > 0) return `${two(week)}w${day}d${two(hrs)}h`;
  if (day > 0) return `${day}d${two(hrs)}h${two(min)}m`;
  return `${two(hrs)}:${two(min)}:${two(sec)}`;
}

export class StartupLimiter {
  private readonly policy: MaxStartupsPolicy;
  private readonly logger: ServerLogger | undefined;
  private readonly now: () => number;
  private total = 0;
  /** Unauthenticated connections per source block ("addr/bits"). */
  private readonly bySource = new Map<string, number>();
  private firstDrop = 0;
  private lastDrop = 0;
  private dropped = 0;

  /** `now` gives seconds on a monotonic clock (tests pass their own). */
  constructor(policy: MaxStartupsPolicy, logger?: ServerLogger, now: () => number = () => performance.now() / 1000) {
    this.policy = policy;
    this.logger = logger;
    this.now = now;
  }

  get unauthenticated(): number {
    return this.total;
  }

  /** Decides on a new connection from `address`; when admitted it is counted until `release` is called. */
  admit(address: string): Admission {
    const { begin, full, perSource } = this.policy;
    const startups = this.total;
    const block = perSource === null ? null : netBlockOf(address, this.policy.netBlockSize ?? { ipv4: 32, ipv6: 128 });
    // A peer that is not a numeric address is not limited per source (srclimit_check_allow).
    const key = block?.label ?? null;
    const fromSource = key === null ? 0 : (this.bySource.get(key) ?? 0);
    let reason: 'full' | 'random' | 'source' | null = null;
    if (startups >= full) reason = 'full';
    else if (this.shouldDrop(startups)) reason = 'random';
    else if (perSource !== null && key !== null && fromSource >= perSource) reason = 'source';
    if (reason !== null) return { admitted: false, reason, startups, level: this.noteDrop() };

    if (this.lastDrop !== 0 && startups < begin - 1) {
      this.logger?.info(`exited MaxStartups throttling after ${formatTimeframe(this.now() - this.firstDrop)}, ${this.dropped} connections dropped`);
      this.lastDrop = 0;
    }
    this.total++;
    if (key !== null) this.bySource.set(key, fromSource + 1);
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        if (key === null) return;
        const left = (this.bySource.get(key) ?? 1) - 1;
        if (left <= 0) this.bySource.delete(key);
        else this.bySource.set(key, left);
      },
    };
  }

  /** sshd.c should_drop_connection, with its integer arithmetic. */
  private shouldDrop(startups: number): boolean {
    const { begin, rate, full } = this.policy;
    if (startups < begin) return false;
    if (rate === 100 || full <= begin) return true;
    const p = Math.floor(((100 - rate) * (startups - begin)) / (full - begin)) + rate;
    return randomInt(100) < p;
  }

  /** Records a drop; the first of a throttling period and one every five minutes are logged at INFO. */
  private noteDrop(): 'info' | 'verbose' {
    const now = this.now();
    let level: 'info' | 'verbose' = 'verbose';
    if (this.lastDrop === 0) {
      this.logger?.error('beginning MaxStartups throttling');
      level = 'info';
      this.firstDrop = now;
      this.dropped = 0;
    } else if (this.lastDrop + LOG_INTERVAL_SECONDS < now) {
      this.logger?.error(`in MaxStartups throttling for ${formatTimeframe(now - this.firstDrop)}, ${this.dropped + 1} connections dropped`);
      level = 'info';
    }
    // A clock reading of 0 would look like "not throttling"; any later reading will do.
    this.lastDrop = now || Number.MIN_VALUE;
    this.dropped++;
    return level;
  }
}
