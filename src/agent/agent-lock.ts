/**
 * SSH_AGENTC_LOCK / SSH_AGENTC_UNLOCK (draft-miller-ssh-agent §4.6). Like ssh-agent we keep only a salted
 * hash of the lock passphrase, compare it in constant time, and slow down wrong guesses: each failure adds
 * 0.1 s to the delay before the answer (capped at 10 s), and unlock attempts from all clients are served
 * one after another, so opening more connections does not buy more guesses.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** scrypt cost: cheap enough for an interactive unlock, costly enough to make a memory dump less useful. */
const SCRYPT_COST = 4096;
const DELAY_STEP_MS = 100;
const MAX_FAILURES_COUNTED = 100;

function hashPassphrase(passphrase: Buffer, salt: Buffer): Buffer {
  return scryptSync(passphrase, salt, HASH_BYTES, { N: SCRYPT_COST });
}

export class AgentLock {
  private salt: Buffer | undefined;
  private hash: Buffer | undefined;
  private failures = 0;
  /** Serializes unlock attempts (see the file comment). */
  private unlockQueue: Promise<unknown> = Promise.resolve();
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: { sleep?: (ms: number) => Promise<void> } = {}) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  get locked(): boolean {
    return this.hash !== undefined;
  }

  /** Locks with `passphrase`; false when already locked. */
  lock(passphrase: Buffer): boolean {
    if (this.locked) return false;
    this.salt = randomBytes(SALT_BYTES);
    this.hash = hashPassphrase(passphrase, this.salt);
    return true;
  }

  /** Unlocks when `passphrase` matches; a wrong one resolves false after the growing delay. */
  unlock(passphrase: Buffer): Promise<boolean> {
    const attempt = this.unlockQueue.then(() => this.tryUnlock(passphrase));
    this.unlockQueue = attempt.catch(() => undefined);
    return attempt;
  }

  private async tryUnlock(passphrase: Buffer): Promise<boolean> {
    if (!this.hash || !this.salt) return false;
    if (timingSafeEqual(hashPassphrase(passphrase, this.salt), this.hash)) {
      this.hash = undefined;
      this.salt = undefined;
      this.failures = 0;
      return true;
    }
    this.failures = Math.min(this.failures + 1, MAX_FAILURES_COUNTED);
    await this.sleep(this.failures * DELAY_STEP_MS);
    return false;
  }
}
