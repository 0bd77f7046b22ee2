/**
 * PerSourcePenalties (sshd_config(5) of OpenSSH 9.8; the semantics of its srclimit.c): each pre-auth
 * connection that ends badly earns its source's network block (PerSourceNetBlockSize) a penalty of some
 * seconds. Penalties of one block accumulate, capped at `max`; a block is refused only once more than `min`
 * seconds are outstanding, and then at accept, before the version exchange. The table holds at most
 * max-sources4 / max-sources6 blocks: past that, "permissive" forgets the penalties closest to expiring and
 * "deny-all" refuses every source (not exempt) until entries expire. Addresses matching
 * PerSourcePenaltyExemptList are never penalised.
 */
import type { PerSourcePenalties } from '../config/sshd/per-source-penalties.ts';
import { addrMatchList } from '../match/addresses.ts';
import { DisconnectError, DecodeError, ProtocolError } from '../wire/errors.ts';
import type { ServerLogger } from './logger.ts';
import { netBlockOf, type NetBlockSize } from './net-block.ts';

/** Why a pre-auth connection ended, as sshd's child_reap tells from the session process's exit. */
export type PenaltyKind = 'crash' | 'authfail' | 'noauth' | 'grace-exceeded';

/** srclimit.c's reasons: logged when a penalty is recorded and when a connection is refused for it. */
const REASONS: Record<PenaltyKind, string> = {
  crash: 'penalty: caused crash',
  authfail: 'penalty: failed authentication',
  noauth: 'penalty: connections without attempting authentication',
  'grace-exceeded': 'penalty: exceeded LoginGraceTime',
};

export interface PenaltyPolicy {
  penalties: PerSourcePenalties;
  exemptList: string | null;
  netBlockSize: NetBlockSize;
}

interface Penalty {
  /** Seconds on the table's clock. */
  expiry: number;
  active: boolean;
  reason: string;
}

/** How often at most the whole table is swept for expired entries (lookups check their own entry anyway). */
const SWEEP_INTERVAL_SECONDS = 1;

export class PenaltyTable {
  private readonly policy: PenaltyPolicy;
  private readonly logger: ServerLogger;
  private readonly now: () => number;
  /** One table per family, keyed by the block's "addr/bits"; max-sources4/6 bound their sizes. */
  private readonly tables = { 4: new Map<string, Penalty>(), 6: new Map<string, Penalty>() };
  private lastSweep = -Infinity;

  /** `now` gives seconds on a monotonic clock (tests pass their own). */
  constructor(policy: PenaltyPolicy, logger: ServerLogger, now: () => number = () => performance.now() / 1000) {
    this.policy = policy;
    this.logger = logger;
    this.now = now;
  }

  get enabled(): boolean {
    return this.policy.penalties.enabled;
  }

  /** Blocks currently in the table (active or deferred) for one family. */
  size(family: 4 | 6): number {
    this.sweep(this.now(), true);
    return this.tables[family].size;
  }

  /**
   * srclimit_penalty_check_allow: null when a connection from `address` may proceed, otherwise the reason it
   * is refused ("penalty: failed authentication", "too many penalised addresses").
   */
  check(address: string): string | null {
    if (!this.enabled || this.exempt(address)) return null;
    const block = netBlockOf(address, this.policy.netBlockSize);
    if (!block) return null;
    const now = this.now();
    this.sweep(now);
    const table = this.tables[block.family];
    const { maxSources4, maxSources6, overflow, overflow6 } = this.policy.penalties;
    const maxSources = block.family === 4 ? maxSources4 : maxSources6;
    if (table.size >= maxSources && (block.family === 4 ? overflow : overflow6) === 'deny-all') return 'too many penalised addresses';
    const penalty = table.get(block.label);
    if (!penalty) return null;
    if (penalty.expiry < now) {
      table.delete(block.label);
      return null;
    }
    return penalty.active ? penalty.reason : null;
  }

  /** srclimit_penalise: records that a pre-auth connection from `address` ended for `kind`. */
  penalise(address: string, kind: PenaltyKind): void {
    if (!this.enabled) return;
    if (this.exempt(address)) return;
    const config = this.policy.penalties;
    const seconds = { crash: config.crash, authfail: config.authfail, noauth: config.noauth, 'grace-exceeded': config.graceExceeded }[kind];
    if (seconds <= 0) return;
    const block = netBlockOf(address, this.policy.netBlockSize);
    if (!block) return;
    const reason = REASONS[kind];
    const t = `ipv${block.family}`;
    const now = this.now();
    this.sweep(now, true);
    const table = this.tables[block.family];
    const maxSources = block.family === 4 ? config.maxSources4 : config.maxSources6;
    const overflow = block.family === 4 ? config.overflow : config.overflow6;
    const existing = table.get(block.label);
    if (!existing) {
      if (table.size >= maxSources && overflow === 'deny-all') {
        this.logger.verbose(`srclimit_penalise: ${t} penalty table full, cannot penalise ${block.label} for ${reason}`);
        return;
      }
      const active = seconds > config.min;
      table.set(block.label, { expiry: now + seconds, active, reason });
      this.logger.verbose(`srclimit_penalise: ${t}: new ${block.label} ${active ? 'active' : 'deferred'} penalty of ${seconds} seconds for ${reason}`);
      if (table.size > maxSources) this.evictSoonest(block.family, maxSources);
      return;
    }
    this.logger.debug(
      `srclimit_penalise: ${existing.active ? 'active' : 'inactive'} penalty for ${t} ${block.label} already exists, ${Math.floor(existing.expiry - now)} seconds remaining`,
    );
    // Penalties accumulate, up to `max` from now.
    existing.expiry = Math.min(existing.expiry + seconds, now + config.max);
    if (!existing.active && existing.expiry - now > config.min) {
      existing.active = true;
      this.logger.verbose(`srclimit_penalise: ${block.label}: activating ${t} penalty of ${Math.floor(existing.expiry - now)} seconds for ${reason}`);
    }
    existing.reason = reason;
  }

  private exempt(address: string): boolean {
    const list = this.policy.exemptList;
    return list !== null && addrMatchList(address, list) === 1;
  }

  /** Drops expired entries: at most once a second unless `force`d. */
  private sweep(now: number, force = false): void {
    if (!force && now - this.lastSweep < SWEEP_INTERVAL_SECONDS) return;
    this.lastSweep = now;
    for (const table of Object.values(this.tables)) {
      for (const [key, penalty] of table) if (penalty.expiry < now) table.delete(key);
    }
  }

  /** "permissive" overflow: forget the penalties closest to expiring until the table fits again. */
  private evictSoonest(family: 4 | 6, maxSources: number): void {
    const table = this.tables[family];
    while (table.size > maxSources) {
      let soonest: string | undefined;
      let expiry = Infinity;
      for (const [key, penalty] of table) {
        if (penalty.expiry < expiry) {
          expiry = penalty.expiry;
          soonest = key;
        }
      }
      table.delete(soonest!);
    }
  }
}

/** What is known about a connection that ended before authenticating. */
export interface PreauthEnd {
  graceExceeded: boolean;
  /** The last-resort guard ended it for an exception nobody caught (containment.ts). */
  crashed?: boolean;
  /** A method other than "none" was tried (sshd's auth_attempted, set by any MON_AUTH monitor request). */
  authAttempted: boolean;
  /** Why the transport closed (null: closed cleanly). */
  error: Error | null;
}

/**
 * Maps a pre-auth connection's end to a penalty as sshd maps its session process's exit status: the login
 * grace timeout (EXIT_LOGIN_GRACE), a crash, an exit after an authentication attempt (EXIT_AUTH_ATTEMPTED),
 * and anything else that ends unauthenticated (noauth). sshd's "crash" is a process killed by a signal: code
 * failing on hostile input. Here that is an exception nobody caught (the containment guard's abort), or an
 * error no decoder or protocol check raised on purpose (a TypeError, RangeError, ... the transport caught);
 * a typed protocol error ends the connection as sshd's fatal() does (exit 255): authfail or noauth.
 */
export function classifyPreauthEnd(end: PreauthEnd): PenaltyKind {
  if (end.graceExceeded) return 'grace-exceeded';
  if (end.crashed || (end.error && isCrash(end.error))) return 'crash';
  return end.authAttempted ? 'authfail' : 'noauth';
}

function isCrash(error: Error): boolean {
  if (error instanceof ProtocolError || error instanceof DecodeError || error instanceof DisconnectError) return false;
  return (
    error instanceof TypeError ||
    error instanceof RangeError ||
    error instanceof ReferenceError ||
    error instanceof SyntaxError ||
    error.name === 'AssertionError'
  );
}
