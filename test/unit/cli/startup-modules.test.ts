/**
 * Start-up of `tether ssh` (issue 17: for `tether ssh host true` start-up is most of the time): loading the
 * command loads none of what only some invocations use (compression's zlib, child_process for ProxyCommand,
 * LocalCommand, Match exec and the askpass programs, bcrypt-pbkdf for encrypted keys), and _exit can be
 * loaded ahead of the exit without node:ffi's ExperimentalWarning reaching the user (src/cli/exit.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/openssh.ts';

const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
const SSH_MODULE = new URL(`../../../src/cli/ssh.${extension}`, import.meta.url).href;
const EXIT_MODULE = new URL(`../../../src/cli/exit.${extension}`, import.meta.url).href;

function runScript(lines: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const dir = tempDir('tether-startup-');
  const script = join(dir, 'script.mjs');
  writeFileSync(script, lines.join('\n'));
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => child.on('close', (status) => (clearTimeout(timer), resolve({ status, stdout, stderr }))));
}

describe('tether ssh start-up', () => {
  test('loading the ssh command loads neither zlib, child_process nor bcrypt-pbkdf', async () => {
    const result = await runScript([
      `import { createRequire } from 'node:module';`,
      `await import(${JSON.stringify(SSH_MODULE)});`,
      `const packages = Object.keys(createRequire(import.meta.url).cache);`,
      `process.stdout.write(JSON.stringify({ builtins: process.moduleLoadList, packages }));`,
    ]);
    assert.equal(result.status, 0, result.stderr);
    const { builtins, packages } = JSON.parse(result.stdout) as { builtins: string[]; packages: string[] };
    for (const unwanted of ['NativeModule zlib', 'NativeModule child_process', 'NativeModule dgram']) {
      assert.ok(!builtins.includes(unwanted), `${unwanted} is loaded at start-up`);
    }
    assert.deepEqual(packages.filter((path) => /bcrypt-pbkdf|tweetnacl/.test(path)), []);
  });

  test('prepareExit loads _exit ahead of time without printing a warning', async () => {
    const result = await runScript([
      `import { exitNow, prepareExit } from ${JSON.stringify(EXIT_MODULE)};`,
      `prepareExit();`,
      // Node prints warnings on a later tick: give it several before leaving.
      `await new Promise((resolve) => setTimeout(resolve, 50));`,
      `process.stdout.write('done');`,
      `exitNow(3);`,
    ]);
    assert.equal(result.stderr, '');
    assert.equal(result.stdout, 'done');
    assert.equal(result.status, 3);
  });
});
