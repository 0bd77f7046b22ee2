/**
 * A bandwidth limit as OpenSSH's misc.c bandwidth_limit() keeps it: bytes are counted from the start of
 * the transfer and, once they are ahead of the allowed rate, the caller waits until the rate catches up.
 * Counting from the start (not per chunk) lets short bursts average out, as it does in sftp and scp.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Below this wait we do not sleep: the timer's granularity would make the limit jittery, not tighter. */
const MIN_SLEEP_MS = 10;

export class RateLimiter {
  private readonly bytesPerSecond: number;
  private readonly start = performance.now();
  private total = 0;

  constructor(bytesPerSecond: number) {
    this.bytesPerSecond = bytesPerSecond;
  }

  async consume(bytes: number): Promise<void> {
    this.total += bytes;
    const due = (this.total / this.bytesPerSecond) * 1000;
    const ahead = due - (performance.now() - this.start);
    if (ahead >= MIN_SLEEP_MS) await sleep(ahead);
  }
}
