/**
 * `tether ssh`'s standard output (issue 17): asynchronous (process.stdout for a pipe, thread-pool writes for
 * a terminal or a file, src/cli/stdout-writer.ts), back-pressured by the channel window, and complete when
 * the process ends through _exit(2). Against a real sshd on 127.0.0.1: downloads into a slow reader and into
 * a file arrive byte for byte; the pipe, whose file description the rest of a pipeline shares,
 * is not left non-blocking (a program writing it after us used to fail with EAGAIN); a reader that goes away
 * ends the output as ssh does (eow@openssh.com, the remote status kept, no crash); and in a terminal the
 * last line of a long output is there when the connection closes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sshdWithClientKey, type RunningSshd } from '../helpers/openssh.ts';
import { TETHER_BIN } from '../helpers/tether.ts';
import { stopProcess } from '../helpers/processes.ts';
import { TerminalSession, shellQuote } from '../helpers/tmux.ts';

interface Collected {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

describe('tether ssh output', () => {
  let sshd: RunningSshd;
  let home: string;
  let key: string;

  before(async () => {
    ({ home, key, sshd } = await sshdWithClientKey({ hostKeyTypes: ['ed25519'] }));
  });
  after(() => sshd.stop());

  const sshArgs = (remote: string, options: string[] = []) => [
    TETHER_BIN, 'ssh', ...options, '-F', 'none', '-p', String(sshd.port), '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none',
    '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=no', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', 'root@127.0.0.1', remote,
  ];

  /**
   * Runs `shellCommand` under /bin/sh with its stdout in a pipe that this process drains `delay(chunk)`
   * milliseconds late per chunk (a slow reader), or stops reading after `readUpTo` bytes.
   */
  function run(shellCommand: string, options: { delay?: (chunk: Buffer) => number; startAfterMs?: number; readUpTo?: number } = {}): Promise<Collected> {
    const child = spawn('/bin/sh', ['-c', shellCommand], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let received = 0;
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const stdout = child.stdout!;
    if (options.startAfterMs) {
      stdout.pause();
      setTimeout(() => stdout.resume(), options.startAfterMs);
    }
    stdout.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (options.readUpTo !== undefined && received >= options.readUpTo) {
        stdout.destroy();
        return;
      }
      const delay = options.delay?.(chunk) ?? 0;
      if (delay > 0) {
        stdout.pause();
        setTimeout(() => stdout.resume(), delay);
      }
    });
    const timer = setTimeout(() => void stopProcess(child), 60_000);
    return new Promise((resolve) => {
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout: Buffer.concat(chunks), stderr });
      });
    });
  }

  const tether = (remote: string) => [process.execPath, ...sshArgs(remote)].map(shellQuote).join(' ');

  test('a download into a slow reader arrives byte for byte, and all of it before the exit', async () => {
    const file = join(home, 'random.bin');
    const data = randomBytes(12 * 1024 * 1024);
    writeFileSync(file, data);
    // About 40 MB/s: 1 ms per 40 KB read, so stdout, not the network, sets the pace.
    const result = await run(tether(`cat ${file}`), { delay: (chunk) => Math.ceil(chunk.length / 40_000) });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.length, data.length);
    assert.equal(createHash('sha256').update(result.stdout).digest('hex'), createHash('sha256').update(data).digest('hex'));
  });

  test('a download into a file (written from the thread pool) arrives byte for byte', async () => {
    const file = join(home, 'random-file.bin');
    const copy = join(home, 'copy.bin');
    const data = randomBytes(6 * 1024 * 1024 + 123);
    writeFileSync(file, data);
    const result = await run(`${tether(`cat ${file}`)} > ${shellQuote(copy)}`);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(readFileSync(copy).equals(data));
  });

  test('the pipe is left blocking for the programs after us in the pipeline', async () => {
    // dd writes 2 MiB into the same pipe after tether has exited, while nobody reads it yet: on a
    // non-blocking pipe its second write fails with EAGAIN.
    const command = `${tether('echo first')}; dd if=/dev/zero bs=64k count=32 status=none || echo dd failed >&2`;
    const result = await run(command, { startAfterMs: 500 });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.equal(result.stdout.length, 'first\n'.length + 2 * 1024 * 1024);
  });

  test('a reader that goes away ends the output and the remote status is kept, as with ssh', async () => {
    // sshd closes the command's output on eow@openssh.com: head dies of SIGPIPE, the shell goes on to exit 3
    // (ssh's status too). Before, the client died of an unhandled EPIPE with status 1.
    const result = await run(`exec ${tether('head -c 50000000 /dev/zero; exit 3')}`, { readUpTo: 1 });
    assert.equal(result.status, 3, result.stderr);
    assert.equal(result.stderr, '');
  });

  test('in a terminal the end of a long output is on the screen when the connection closes', async () => {
    const command = [process.execPath, ...sshArgs('seq 1 60000; echo last-line', ['-tt'])].map(shellQuote).join(' ');
    const terminal = new TerminalSession(`sh -c ${shellQuote(command)}`, { env: { HOME: home, TERM: 'xterm' }, width: 80, height: 24 });
    try {
      const screen = await terminal.waitFor(/\[exit status \d+\]/, 30_000);
      assert.match(screen, /^60000\s*\nlast-line\s*$/m);
      assert.match(screen, /\[exit status 0\]/);
    } finally {
      terminal.close();
    }
  });
});
