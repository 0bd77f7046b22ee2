/**
 * What one user may hold in the one server process: remote forwards per connection and per user, sessions per
 * user, and the process's file descriptors. sshd gives every connection its own process, so one user's
 * forwards or channels exhaust only that process; here they would exhaust everyone's, so each is counted
 * and capped (the Tether keywords MaxForwards, MaxForwardsPerUser, MaxSessionsPerUser), and the sockets that
 * forwarding opens come out of a process-wide budget that always leaves a reserve of descriptors for new
 * connections and sessions. Channels, pending opens and pending global requests are capped per connection
 * by the connection layer (connection/limits.ts).
 */
import { readFileSync } from 'node:fs';
import type { ServerLogger } from './logger.ts';

/** Used when the limit cannot be read (not Linux): the usual soft limit. */
const FALLBACK_DESCRIPTOR_LIMIT = 1024;

/**
 * The process's descriptor limit (RLIMIT_NOFILE's soft value, what `ulimit -n` shows; Node raises it to the
 * hard limit at start), read from /proc/self/limits.
 */
export function readDescriptorLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    if (soft === 'unlimited') return Number.MAX_SAFE_INTEGER;
    const value = Number(soft);
    return Number.isInteger(value) && value > 0 ? value : FALLBACK_DESCRIPTOR_LIMIT;
  } catch {
    return FALLBACK_DESCRIPTOR_LIMIT;
  }
}

/** Descriptors kept back from forwarding: a quarter of the limit, at least 128. */
export function descriptorReserve(limit: number): number {
  return Math.max(128, Math.floor(limit / 4));
}

/** The per-user defaults, a fraction of what forwarding may use, so no one user takes it all. */
export function defaultPerUserLimits(limit: number): { forwards: number; sessions: number } {
  const budget = Math.max(0, limit - descriptorReserve(limit));
  return { forwards: Math.max(16, Math.min(1000, Math.floor(budget / 8))), sessions: Math.max(16, Math.min(1000, Math.floor(budget / 16))) };
}

/** A held share of something counted; release() gives it back, once, however often it is called. */
export interface Grant {
  release(): void;
}

function grant(onRelease: () => void): Grant {
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      onRelease();
    },
  };
}

/** A refusal: the sshd_config keyword (or budget) that refused and its value, for the log line. */
export interface Refusal {
  limit: string;
  max: number;
}

/** What one server shares between its connections (it survives a SIGHUP reload, as the counts must). */
export class ServerResources {
  readonly descriptorLimit: number;
  readonly reserve: number;
  private descriptorsInUse = 0;
  private readonly users = new Map<string, { forwards: number; sessions: number }>();

  constructor(descriptorLimit = readDescriptorLimit()) {
    this.descriptorLimit = descriptorLimit;
    this.reserve = descriptorReserve(descriptorLimit);
  }

  /** Descriptors forwarding may hold in all: the limit less the reserve. */
  get descriptorBudget(): number {
    return Math.max(0, this.descriptorLimit - this.reserve);
  }

  get descriptorsHeld(): number {
    return this.descriptorsInUse;
  }

  /** Takes `count` descriptors for forwarding (a socket, a forward's listeners), or refuses. */
  takeDescriptors(count: number): Grant | Refusal {
    if (this.descriptorsInUse + count > this.descriptorBudget) return { limit: 'descriptors', max: this.descriptorBudget };
    this.descriptorsInUse += count;
    return grant(() => (this.descriptorsInUse -= count));
  }

  /** Takes one of `user`'s `kind` (forwards or sessions) unless the user already has `max`. */
  takeForUser(user: string, kind: 'forwards' | 'sessions', max: number, keyword: string): Grant | Refusal {
    const counts = this.users.get(user) ?? { forwards: 0, sessions: 0 };
    if (counts[kind] >= max) return { limit: keyword, max };
    counts[kind]++;
    this.users.set(user, counts);
    return grant(() => {
      counts[kind]--;
      if (counts.forwards === 0 && counts.sessions === 0 && this.users.get(user) === counts) this.users.delete(user);
    });
  }

  /** How many of `kind` the user holds now (tests, diagnostics). */
  heldByUser(user: string, kind: 'forwards' | 'sessions'): number {
    return this.users.get(user)?.[kind] ?? 0;
  }
}

export function isRefusal(value: Grant | Refusal): value is Refusal {
  return 'limit' in value;
}

/** The caps one connection works under, from its settings (after Match). */
export interface ConnectionCaps {
  maxForwards: number;
  maxForwardsPerUser: number;
  maxSessionsPerUser: number;
}

/** Refused requests logged at most this often per limit and connection; the rest are counted in the next line. */
const REFUSAL_LOG_INTERVAL_MS = 1000;

/**
 * One connection's view: its own forward count, the user's counts and the descriptor budget, every grant it
 * holds released when the connection ends, and refusals logged as sshd logs refused requests ("error: no
 * more sessions (MaxSessions 10)"), with the user and source address, at most once a second per limit.
 */
export class ConnectionResources {
  private forwards = 0;
  private readonly held = new Set<Grant>();
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();
  private closed = false;

  private readonly shared: ServerResources;
  private readonly user: string;
  private readonly caps: ConnectionCaps;
  private readonly log: ServerLogger;
  /** "user alice from 10.0.0.5 port 51234", for the log lines. */
  private readonly who: string;
  /** Told of every refusal made here (the connection paces a peer that keeps running into its caps). */
  private readonly onRefusal: () => void;

  constructor(shared: ServerResources, user: string, caps: ConnectionCaps, log: ServerLogger, who: string, onRefusal: () => void = () => {}) {
    this.shared = shared;
    this.user = user;
    this.caps = caps;
    this.log = log;
    this.who = who;
    this.onRefusal = onRefusal;
  }

  /**
   * A remote forward (tcpip-forward / streamlocal-forward) with `descriptors` listening sockets:
   * MaxForwards for this connection, MaxForwardsPerUser across the user's connections, then the budget.
   */
  takeForward(descriptors: number, what: string): Grant | undefined {
    if (this.forwards >= this.caps.maxForwards) {
      this.onRefusal();
      return this.refused({ limit: 'MaxForwards', max: this.caps.maxForwards }, what);
    }
    const parts = this.takeAll([
      () => this.shared.takeForUser(this.user, 'forwards', this.caps.maxForwardsPerUser, 'MaxForwardsPerUser'),
      () => this.shared.takeDescriptors(descriptors),
    ], what);
    if (!parts) return undefined;
    this.forwards++;
    return this.hold(() => {
      this.forwards--;
      parts.forEach((part) => part.release());
    });
  }

  /** A session channel, against MaxSessionsPerUser. */
  takeSession(): Grant | undefined {
    const parts = this.takeAll([() => this.shared.takeForUser(this.user, 'sessions', this.caps.maxSessionsPerUser, 'MaxSessionsPerUser')], 'session');
    return parts && this.hold(() => parts.forEach((part) => part.release()));
  }

  /** A socket forwarding opens or accepts for this connection, out of the descriptor budget. */
  takeSocket(what: string): Grant | undefined {
    const parts = this.takeAll([() => this.shared.takeDescriptors(1)], what);
    return parts && this.hold(() => parts.forEach((part) => part.release()));
  }

  /** Logs a refusal decided elsewhere (the connection layer's channel limits). */
  logRefusal(limit: string, max: number, what: string): void {
    this.refused({ limit, max }, what);
  }

  /** The connection ended: everything it held goes back. */
  releaseAll(): void {
    this.closed = true;
    for (const held of [...this.held]) held.release();
  }

  private takeAll(steps: Array<() => Grant | Refusal>, what: string): Grant[] | undefined {
    if (this.closed) return undefined;
    const taken: Grant[] = [];
    for (const step of steps) {
      const result = step();
      if (isRefusal(result)) {
        taken.forEach((part) => part.release());
        this.onRefusal();
        return this.refused(result, what);
      }
      taken.push(result);
    }
    return taken;
  }

  private hold(onRelease: () => void): Grant {
    const held = grant(() => {
      this.held.delete(held);
      onRelease();
    });
    this.held.add(held);
    return held;
  }

  private refused(refusal: Refusal, what: string): undefined {
    const now = Date.now();
    const last = this.lastLogged.get(refusal.limit);
    if (last && now - last.at < REFUSAL_LOG_INTERVAL_MS) {
      last.suppressed++;
      return undefined;
    }
    const more = last && last.suppressed > 0 ? ` (${last.suppressed} more refused since)` : '';
    this.lastLogged.set(refusal.limit, { at: now, suppressed: 0 });
    const limit =
      refusal.limit === 'descriptors'
        ? `descriptor budget ${refusal.max} of ${this.shared.descriptorLimit} in use`
        : `${refusal.limit} ${refusal.max}`;
    this.log.error(`error: refused ${what} (${limit}) for ${this.who}${more}`);
    return undefined;
  }
}
