/**
 * Shared set-up for the session holder tests: a fresh PersistentSessionDirectory, a holder (in this process
 * or as a real `tether session-holder` process), and bounded waits on attachment output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Holder } from '../../../src/sessions/holder/holder-main.ts';
import { ensureUserDirectory, holderFor } from '../../../src/sessions/holder/index.ts';
import type { CreateHeldSession, SessionHolder } from '../../../src/sessions/holder-api.ts';
import { TETHER_BIN } from '../../helpers/tether.ts';

export const UID = process.getuid!();
export const GID = process.getgid!();
export const USER = UID === 0 ? 'root' : (process.env.USER ?? 'user');

export interface HolderFixture {
  directory: string;
  userDirectory: string;
  holder: Holder;
  client: SessionHolder;
  close(): Promise<void>;
}

export function sessionsDirectory(): { base: string; directory: string } {
  const base = mkdtempSync(join(tmpdir(), 'tether-holder-test-'));
  return { base, directory: join(base, 'sessions') };
}

/** A holder running in this process (fast, and its state inspectable), reached through holderFor. */
export async function inProcessHolder(): Promise<HolderFixture> {
  const { base, directory } = sessionsDirectory();
  const userDirectory = ensureUserDirectory(directory, UID, GID);
  const holder = (await Holder.start({ directory: userDirectory, lingerMs: 60_000, startGraceMs: 60_000 }))!;
  const client = await holderFor({ directory, user: USER, uid: UID, gid: GID });
  return {
    directory,
    userDirectory,
    holder,
    client,
    close: async () => {
      client.close();
      await holder.terminate();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

export function shellSession(script: string, extra: Partial<CreateHeldSession> = {}): CreateHeldSession {
  return {
    program: { file: '/bin/sh', args: ['-c', script], env: { PATH: '/usr/bin:/bin', TERM: 'xterm' }, cwd: '/' },
    command: 'sh',
    logSize: 1024 * 1024,
    idleTimeoutSeconds: 60,
    ...extra,
  };
}

/** Collects `stream` until `done(text)` holds; rejects after `timeoutMs`. */
export function readUntil(stream: Readable, done: (text: string) => boolean, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      stream.off('data', onData);
      reject(new Error(`timed out; got ${JSON.stringify(text.slice(-300))}`));
    }, timeoutMs);
    function onData(chunk: Buffer): void {
      text += chunk.toString('latin1');
      if (done(text)) {
        clearTimeout(timer);
        stream.off('data', onData);
        resolve(text);
      }
    }
    stream.on('data', onData);
  });
}

/** Polls `condition` every 20 ms for at most `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function within<T>(promise: Promise<T>, timeoutMs = 5_000): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs).unref())]);
}

/** Starts `tether session-holder` on `userDirectory` as a real process. */
export function startHolderProcess(userDirectory: string, extra: string[] = []): ChildProcess {
  return spawn(process.execPath, [TETHER_BIN, 'session-holder', '--directory', userDirectory, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** PIDs of holder processes serving `userDirectory` (found through /proc, to be stopped by PID). */
export function holderPids(userDirectory: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.includes('session-holder') && args.includes(userDirectory)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}
