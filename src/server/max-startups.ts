/**
 * MaxStartups start:rate:full (sshd_config(5)): past `start` unauthenticated connections, new ones are
 * refused with a probability rising linearly from rate% to 100% at `full`; PerSourceMaxStartups caps them
 * per client address. Counts are taken from accept until authentication succeeds or the connection ends.
 */
import { randomInt } from 'node:crypto';

export interface MaxStartupsPolicy {
  begin: number;
  rate: number;
  full: number;
  perSource: number | null;
}

export class StartupLimiter {
  private readonly policy: MaxStartupsPolicy;
  private total = 0;
  private readonly bySource = new Map<string, number>();

  constructor(policy: MaxStartupsPolicy) {
    this.policy = policy;
  }

  get unauthenticated(): number {
    return this.total;
  }

  /** Decides on a new connection from `address`; when admitted it is counted until `release` is called. */
  admit(address: string): { admitted: true; release: () => void } | { admitted: false; reason: 'full' | 'random' | 'source' } {
    const { begin, rate, full, perSource } = this.policy;
    const fromSource = this.bySource.get(address) ?? 0;
    if (perSource !== null && fromSource >= perSource) return { admitted: false, reason: 'source' };
    if (this.total >= full) return { admitted: false, reason: 'full' };
    if (this.total >= begin) {
      // sshd's drop_connection(): p = rate + (100 - rate) * (startups - begin) / (full - begin).
      const p = full > begin ? rate + ((100 - rate) * (this.total - begin)) / (full - begin) : 100;
      if (randomInt(100) < p) return { admitted: false, reason: 'random' };
    }
    this.total++;
    this.bySource.set(address, fromSource + 1);
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const left = (this.bySource.get(address) ?? 1) - 1;
        if (left <= 0) this.bySource.delete(address);
        else this.bySource.set(address, left);
      },
    };
  }
}
