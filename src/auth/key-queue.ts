/**
 * The client's publickey candidates in OpenSSH's order (sshconnect2.c userauth_pubkey, pubkey_reset). Each key
 * is offered at most once per round and then goes to the back of the queue; a partial success (RFC 4252 §5.1)
 * starts a new round, so the next key after the accepted one is offered first and the earlier, refused keys
 * come again after it, since the next step may accept keys the previous one did not. A key the server has
 * already accepted is not offered again: sshd refuses a key used before in the same authentication.
 *
 * The source is pulled lazily, one key at a time, so an agent is only asked and identity files are only read
 * once publickey is actually tried.
 */
import type { AuthKey } from './client-auth.ts';

export class KeyQueue {
  private readonly open: () => AsyncIterable<AuthKey> | Iterable<AuthKey>;
  private source: AsyncIterator<AuthKey> | Iterator<AuthKey> | undefined;
  private sourceDone = false;
  /** Keys from earlier rounds still to offer in this one, after the source's untouched keys. */
  private again: AuthKey[] = [];
  /** Keys offered in this round, in order. */
  private offered: AuthKey[] = [];
  private readonly accepted = new Set<AuthKey>();

  constructor(open: () => AsyncIterable<AuthKey> | Iterable<AuthKey>) {
    this.open = open;
  }

  /** The next key not yet offered in this round, or undefined when the round is over. */
  async next(): Promise<AuthKey | undefined> {
    let key: AuthKey | undefined;
    if (!this.sourceDone) {
      this.source ??= iteratorOf(this.open());
      const step = await this.source.next();
      if (step.done) this.sourceDone = true;
      else key = step.value;
    }
    key ??= this.again.shift();
    if (key) this.offered.push(key);
    return key;
  }

  /** The server took `key` as one step of several (partial success): offer the others again. */
  partialSuccess(key: AuthKey | undefined): void {
    if (key) this.accepted.add(key);
    this.again = [...this.again, ...this.offered].filter((k) => !this.accepted.has(k));
    this.offered = [];
  }

  /** Lets the source release what it holds (an agent connection); called once authentication is over. */
  close(): void {
    void this.source?.return?.();
  }
}

function iteratorOf<T>(source: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> | Iterator<T> {
  return Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (source as Iterable<T>)[Symbol.iterator]();
}
