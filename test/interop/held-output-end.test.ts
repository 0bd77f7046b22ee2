/**
 * The last bytes of a held session's output reach `tether ssh`'s stdout before it exits (docs/PROTOCOL.sessions
 * §8), in the two ways they were once lost: a command that is over before the client has wired its stdout (the
 * output and the close arrive with the exec reply), and a reader so slow that the client's stdout is paused by
 * backpressure when the channel closes (what was still queued in the client was dropped at exit). Run as a
 * user runs it: the built CLI, a tether server process, stdout a pipe.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { runTether, TETHER_BIN } from '../helpers/tether.ts';
import { stopProcess } from '../helpers/processes.ts';
import { TEST_USER } from '../helpers/openssh.ts';

describe('a held session delivers all of its output before the client exits', { timeout: 180_000 }, () => {
  let server: ServerProcess;

  before(async () => {
    server = await startServerProcess();
  });
  after(async () => {
    await server?.stop();
  });

  const target = () => [...server.sshArgs(), `${TEST_USER}@127.0.0.1`];

  test('short commands: every one prints its line (30 in a row, each a new connection)', async () => {
    const missing: string[] = [];
    for (let i = 0; i < 30; i++) {
      const result = await runTether(['ssh', ...target(), `echo line-${i}`], { timeoutMs: 30_000 });
      assert.equal(result.status, 0, result.stderr);
      if (result.stdout.toString() !== `line-${i}\n`) missing.push(`${i}: ${JSON.stringify(result.stdout.toString())}`);
    }
    assert.deepEqual(missing, [], 'runs whose output did not arrive');
    // The sessions were held (the path under test), not run plainly.
    assert.match(server.log(), /Holding session/);
  });

  test('a slow reader: 16 MiB arrive byte-exact, whatever is queued when the channel closes', async () => {
    const size = 16 * 1024 * 1024;
    const expected = createHash('sha256').update(Buffer.alloc(size, 0x61)).digest('hex');
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, [TETHER_BIN, 'ssh', ...target(), `head -c ${size} /dev/zero | tr '\\0' a`], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const hash = createHash('sha256');
      let received = 0;
      // One pipe read at a time with a pause after each: the client's stdout stays full, so it is paused
      // (backpressure) most of the time, the moment the session ends included.
      child.stdout!.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        received += chunk.length;
        child.stdout!.pause();
        setTimeout(() => child.stdout!.resume(), 2);
      });
      const timer = setTimeout(() => void stopProcess(child), 120_000);
      const status = await new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
      clearTimeout(timer);
      assert.equal(status, 0, stderr);
      assert.equal(received, size, `round ${round}: bytes received; stderr: ${stderr}`);
      assert.equal(hash.digest('hex'), expected, `round ${round}: content`);
    }
  });
});
