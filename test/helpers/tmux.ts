/**
 * Drives a program in a real terminal, as a person would: tmux runs it, send-keys types, capture-pane reads
 * the screen. Each session has its own socket so tests never touch a user's tmux.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from './openssh.ts';

export class TerminalSession {
  readonly socket: string;
  readonly name = 'tether-test';

  constructor(command: string, options: { width?: number; height?: number; env?: Record<string, string> } = {}) {
    this.socket = join(tempDir('tether-tmux-'), 'tmux.sock');
    const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
    const result = spawnSync('tmux', ['-S', this.socket, 'new-session', '-d', '-s', this.name, '-x', String(options.width ?? 160), '-y', String(options.height ?? 40),
      `env ${env} ${command}; echo "[exit status $?]"; sleep 600`], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`tmux failed: ${result.stderr}`);
  }

  /** Types text; `enter` presses Return afterwards. */
  type(text: string, enter = true): void {
    spawnSync('tmux', ['-S', this.socket, 'send-keys', '-t', this.name, '-l', text]);
    if (enter) spawnSync('tmux', ['-S', this.socket, 'send-keys', '-t', this.name, 'Enter']);
  }

  screen(): string {
    return spawnSync('tmux', ['-S', this.socket, 'capture-pane', '-p', '-J', '-t', this.name, '-S', '-200'], { encoding: 'utf8' }).stdout;
  }

  /** Waits until the screen matches `pattern`; throws with the screen after `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; screen:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  resize(width: number, height: number): void {
    spawnSync('tmux', ['-S', this.socket, 'resize-window', '-t', this.name, '-x', String(width), '-y', String(height)]);
  }

  close(): void {
    spawnSync('tmux', ['-S', this.socket, 'kill-server']);
  }
}

export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
