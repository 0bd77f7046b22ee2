/**
 * What Node's exit handlers did that the CLI's _exit(2) skips (src/cli/exit.ts): output still queued for a
 * slow pipe is written before the exit (stdioFlushed), the pipe's file description is left blocking for the
 * programs after us, and V8's compile cache reaches the disk (without it no command ever started warm).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/openssh.ts';

/** src/cli/exit.ts beside this test, compiled or not. */
const EXIT_MODULE = new URL(`../../../src/cli/exit.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url).href;

/** Runs `sh -c command`, reading its stdout only after `startAfterMs`; resolves with status and byte count. */
function run(command: string, startAfterMs: number): Promise<{ status: number | null; bytes: number; stderr: string }> {
  const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
  let bytes = 0;
  let stderr = '';
  child.stdout!.pause();
  setTimeout(() => child.stdout!.resume(), startAfterMs);
  child.stdout!.on('data', (chunk: Buffer) => (bytes += chunk.length));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => child.on('close', (status) => (clearTimeout(timer), resolve({ status, bytes, stderr }))));
}

describe('exiting through exitNow', () => {
  test('output queued for a slow pipe is all written, and the pipe is left blocking', async () => {
    const dir = tempDir('tether-exit-flush-');
    const script = join(dir, 'flush.mjs');
    writeFileSync(script, [
      `import { exitNow, stdioFlushed } from ${JSON.stringify(EXIT_MODULE)};`,
      // Far more than a pipe holds (64 KiB): most of it waits in the process when nobody reads yet.
      `process.stdout.write(Buffer.alloc(1024 * 1024, 97));`,
      `await stdioFlushed();`,
      `exitNow(0);`,
    ].join('\n'));
    // dd writes the same pipe after us; on a pipe left non-blocking its second write fails with EAGAIN.
    const result = await run(`${JSON.stringify(process.execPath)} ${JSON.stringify(script)} && dd if=/dev/zero bs=64k count=8 status=none || echo failed >&2`, 300);
    assert.equal(result.stderr, '');
    assert.equal(result.bytes, 1024 * 1024 + 8 * 64 * 1024);
  });

  test('the compile cache is written', async () => {
    const dir = tempDir('tether-exit-cache-');
    const cache = join(dir, 'cache');
    const script = join(dir, 'cache.mjs');
    writeFileSync(join(dir, 'some-module.mjs'), 'export const value = 42;\n');
    writeFileSync(script, [
      `import { enableCompileCache } from 'node:module';`,
      `import { exitNow } from ${JSON.stringify(EXIT_MODULE)};`,
      `enableCompileCache(${JSON.stringify(cache)});`,
      `const { value } = await import(${JSON.stringify(join(dir, 'some-module.mjs'))});`,
      `exitNow(value === 42 ? 0 : 1);`,
    ].join('\n'));
    const result = await run(`${JSON.stringify(process.execPath)} ${JSON.stringify(script)}`, 0);
    assert.equal(result.status, 0, result.stderr);
    const entries = readdirSync(cache, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
    assert.ok(entries.length > 0, 'the compile cache directory has entries');
  });
});
