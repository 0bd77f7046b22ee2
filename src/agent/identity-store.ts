/**
 * The agent's keys, held in memory only, with the constraints of ADD_ID_CONSTRAINED
 * (draft-miller-ssh-agent §4.2.6): a lifetime after which the key is forgotten, and "confirm each use".
 * Adding a key that is already held replaces its comment and constraints in place, as ssh-agent does.
 */
import type { SshPrivateKey } from '../keys/private-key.ts';

export interface StoredIdentity {
  readonly key: SshPrivateKey;
  readonly comment: string;
  readonly confirm: boolean;
  /** performance.now() milliseconds after which the key is gone; undefined = forever. */
  readonly expiresAt: number | undefined;
}

export interface IdentityConstraints {
  /** Seconds the key may live; 0 or undefined = no limit. */
  lifetime?: number;
  confirm?: boolean;
}

export class IdentityStore {
  private identities: StoredIdentity[] = [];
  /** One timer per expiring key, so that a key is dropped on time even when no request comes. */
  private readonly timers = new Map<StoredIdentity, NodeJS.Timeout>();

  add(key: SshPrivateKey, comment: string, constraints: IdentityConstraints = {}): void {
    const lifetime = constraints.lifetime ?? 0;
    const identity: StoredIdentity = {
      key,
      comment,
      confirm: constraints.confirm ?? false,
      expiresAt: lifetime > 0 ? performance.now() + lifetime * 1000 : undefined,
    };
    const index = this.indexOf(key.publicKey.blob);
    if (index >= 0) {
      this.forgetTimer(this.identities[index]!);
      this.identities[index] = identity;
    } else {
      this.identities.push(identity);
    }
    if (lifetime > 0) {
      const timer = setTimeout(() => this.expire(), lifetime * 1000 + 5);
      timer.unref();
      this.timers.set(identity, timer);
    }
  }

  /** The live identities, oldest first. */
  list(): readonly StoredIdentity[] {
    this.expire();
    return this.identities;
  }

  find(blob: Buffer): StoredIdentity | undefined {
    this.expire();
    const index = this.indexOf(blob);
    return index >= 0 ? this.identities[index] : undefined;
  }

  remove(blob: Buffer): boolean {
    this.expire();
    const index = this.indexOf(blob);
    if (index < 0) return false;
    this.forgetTimer(this.identities[index]!);
    this.identities.splice(index, 1);
    return true;
  }

  removeAll(): void {
    for (const identity of this.identities) this.forgetTimer(identity);
    this.identities = [];
  }

  get size(): number {
    return this.list().length;
  }

  /** Drops every key whose lifetime has passed (ssh-agent's reaper). */
  expire(now = performance.now()): void {
    const expired = this.identities.filter((identity) => identity.expiresAt !== undefined && identity.expiresAt <= now);
    if (expired.length === 0) return;
    for (const identity of expired) this.forgetTimer(identity);
    this.identities = this.identities.filter((identity) => !expired.includes(identity));
  }

  private indexOf(blob: Buffer): number {
    return this.identities.findIndex((identity) => identity.key.publicKey.blob.equals(blob));
  }

  private forgetTimer(identity: StoredIdentity): void {
    const timer = this.timers.get(identity);
    if (timer) clearTimeout(timer);
    this.timers.delete(identity);
  }
}
