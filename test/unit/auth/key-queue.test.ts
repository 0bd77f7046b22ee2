/**
 * The order keys are offered in across partial successes (sshconnect2.c userauth_pubkey, pubkey_reset): each
 * once per round; after a partial success the keys not yet offered come first, then the refused ones again;
 * an accepted key never again; the source is pulled lazily and released only by close().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthKey } from '../../../src/auth/client-auth.ts';
import { KeyQueue } from '../../../src/auth/key-queue.ts';

const key = (label: string): AuthKey => ({ label, publicKey: {} as AuthKey['publicKey'], sign: async () => Buffer.alloc(0) });

async function round(queue: KeyQueue, stopAfter?: string): Promise<string[]> {
  const labels: string[] = [];
  for (let k = await queue.next(); k; k = await queue.next()) {
    labels.push(k.label);
    if (k.label === stopAfter) break;
  }
  return labels;
}

test('partial success: next keys first, then the refused ones, never the accepted one', async () => {
  const keys = ['a', 'b', 'c', 'd'].map(key);
  let released = 0;
  let pulled = 0;
  const queue = new KeyQueue(() => ({
    [Symbol.iterator]: () => ({
      next: () => (pulled < keys.length ? { done: false, value: keys[pulled++]! } : { done: true, value: undefined }),
      return: () => (released++, { done: true, value: undefined }),
    }),
  }));
  // Round 1: a refused, b accepted as the first of two steps.
  assert.deepEqual(await round(queue, 'b'), ['a', 'b']);
  assert.equal(pulled, 2, 'only as many keys as offered are pulled');
  queue.partialSuccess(keys[1]);
  // Round 2: c and d (never offered), then a again; b is not offered again.
  assert.deepEqual(await round(queue, 'd'), ['c', 'd']);
  queue.partialSuccess(keys[3]);
  assert.deepEqual(await round(queue), ['a', 'c']);
  assert.equal(released, 0, 'the source is kept after it ran out, for later rounds');
  queue.close();
  assert.equal(released, 1);
});

test('a partial success of another method starts a new round of every key', async () => {
  const queue = new KeyQueue(() => ['a', 'b'].map(key));
  assert.deepEqual(await round(queue), ['a', 'b']);
  assert.equal(await queue.next(), undefined);
  queue.partialSuccess(undefined);
  assert.deepEqual(await round(queue), ['a', 'b']);
});
