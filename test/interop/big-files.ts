/**
 * Large files for the byte-exact transfer tests, made and checked without holding them in memory: the
 * content is an AES-256-CTR keystream from a seed (fast, reproducible, incompressible), written and hashed
 * in one pass; copies are hashed as streams. And cutting a link mid-file for the resume tests.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import type { LinkProxy } from '../helpers/link-proxy.ts';

export const MiB = 1024 * 1024;

/** Writes `bytes` of seeded pseudo-random data to `path`; resolves with its sha256 (hex). */
export async function writeBigFile(path: string, bytes: number, seed = 'tether'): Promise<string> {
  const key = createHash('sha256').update(seed).digest();
  const keystream = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(4 * MiB);
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let left = bytes; left > 0; left -= zeros.length) {
    const chunk = keystream.update(left >= zeros.length ? zeros : zeros.subarray(0, left));
    hash.update(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  return hash.digest('hex');
}

/** The sha256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The size of `path`, or -1 while it does not exist. */
export function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
}

/**
 * Resolves once `path` holds at least `bytes`, polling; rejects when `gaveUp()` says the transfer ended
 * first or after `timeoutMs`.
 */
export async function waitForSize(path: string, bytes: number, gaveUp: () => boolean, timeoutMs = 30_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; sizeOf(path) < bytes; await new Promise((resolve) => setTimeout(resolve, 10))) {
    if (gaveUp()) throw new Error(`the transfer ended before ${path} reached ${bytes} bytes (it has ${sizeOf(path)})`);
    if (Date.now() > deadline) throw new Error(`${path} did not reach ${bytes} bytes within ${timeoutMs} ms (it has ${sizeOf(path)})`);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a transfer (through `proxy`) that writes `watched`, cuts the link once the file holds `cutAfter`
 * bytes, restores the proxy for the next connection and waits (bounded) until the file stops growing — the
 * far side may still be writing what reached it. Asserts that the transfer failed and that the cut came
 * mid-file (fewer than `total` bytes); resolves with the size left.
 */
export async function cutMidFile(start: () => Promise<{ status: number | null }>, watched: string, proxy: LinkProxy, cutAfter: number, total: number): Promise<number> {
  let finished = false;
  const transfer = start().finally(() => (finished = true));
  await waitForSize(watched, cutAfter, () => finished);
  proxy.cut();
  const result = await transfer;
  await proxy.restore();
  assert.notEqual(result.status, 0, 'the client saw the connection go');
  for (let last = -2, deadline = Date.now() + 10_000; sizeOf(watched) !== last && Date.now() < deadline; await sleep(300)) last = sizeOf(watched);
  const size = sizeOf(watched);
  assert.ok(size >= cutAfter && size < total, `cut mid-file (${size} of ${total} bytes)`);
  return size;
}
