/**
 * A real X server for X11 forwarding tests: Xvfb on a private display it picks itself, accepting one cookie,
 * and xauth on explicit authority files (never the user's ~/.Xauthority). Needs the Debian packages xvfb,
 * xauth and x11-utils (xdpyinfo); a missing one is an error, never a skip.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { stopProcess } from './processes.ts';

export const XVFB = '/usr/bin/Xvfb';
export const XAUTH = '/usr/bin/xauth';
export const XDPYINFO = '/usr/bin/xdpyinfo';
const REQUIRED_PROGRAMS: Record<string, string> = { [XVFB]: 'xvfb', [XAUTH]: 'xauth', [XDPYINFO]: 'x11-utils' };

export interface RunningXvfb {
  display: number;
  stop(): Promise<void>;
}

/** Throws, naming the Debian packages, when a program the X11 tests need is missing. */
export function requireX11Programs(): void {
  const missing = Object.entries(REQUIRED_PROGRAMS).filter(([path]) => !existsSync(path));
  if (missing.length > 0) {
    throw new Error(`X11 tests need ${missing.map(([path, pkg]) => `${path} (Debian package ${pkg})`).join(', ')}`);
  }
}

/** `xauth -f authorityFile args…`, which must succeed. */
export function xauth(authorityFile: string, args: string[]): string {
  const result = spawnSync(XAUTH, ['-f', authorityFile, ...args], { encoding: 'utf8' });
  assert.equal(result.status, 0, `xauth ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/**
 * Starts Xvfb on a display it picks itself (-displayfd writes the number once it listens, so parallel tests
 * never race for one), local sockets only, accepting `cookieHex`. -noreset keeps the server (and the untrusted
 * cookies xauth generates) alive while no client is connected, as a desktop's window manager would.
 * `screen` is Xvfb's -screen 0 geometry (WxHxD).
 */
export async function startXvfb(dir: string, cookieHex: string, screen?: string): Promise<RunningXvfb> {
  const serverAuthority = join(dir, 'xvfb-authority');
  // The X server accepts every cookie in its -auth file, whatever display name it is filed under.
  xauth(serverAuthority, ['add', ':0', 'MIT-MAGIC-COOKIE-1', cookieHex]);
  const geometry = screen ? ['-screen', '0', screen] : [];
  const child: ChildProcess = spawn(XVFB, ['-displayfd', '3', '-nolisten', 'tcp', '-noreset', '-auth', serverAuthority, ...geometry], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const display = await new Promise<number>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Xvfb did not start within 10 s: ${log}`));
    }, 10_000);
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (!text.includes('\n')) return;
      clearTimeout(timer);
      resolve(Number(text.trim()));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited (${code}) at start: ${log}`));
    });
  });
  return {
    display,
    async stop() {
      await stopProcess(child);
    },
  };
}
