/**
 * Removes a forwarded display's entry from the user's X authority file when its session ends:
 * `xauth -q remove DISPLAY`, run as the user with the session's environment (so it edits the same file the
 * session's `xauth add` did: $XAUTHORITY when the session had one, else ~/.Xauthority). sshd 9.2 leaves the
 * entry behind and relies on the next session's "remove" before its "add"; removing it here leaves no fake
 * cookie of a closed display lying around. No shell is involved: the display name is an argument.
 */
import { spawn } from 'node:child_process';
import { commandAs, type SessionProgram } from '../../sessions/session-process.ts';

/** Bounds the run: xauth waits for its lock file at most a few seconds itself. */
const XAUTH_TIME_LIMIT_MS = 10_000;

export interface XauthRemoval {
  /** XAuthLocation. */
  xauthLocation: string;
  /** The name the entry was added under ("unix:10.0", or "host:10.0" with X11UseLocalhost no). */
  authDisplay: string;
  /** The session's program: its environment, working directory and account. */
  program: Pick<SessionProgram, 'env' | 'cwd' | 'runAs'>;
}

/** Resolves once xauth has exited (or been stopped at the time limit); false when it failed. Never rejects. */
export function removeXauthEntry(removal: XauthRemoval): Promise<boolean> {
  const command = commandAs(removal.program.runAs, removal.xauthLocation, ['-q', 'remove', removal.authDisplay]);
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(command.file, command.args, { cwd: removal.program.cwd, env: removal.program.env, stdio: 'ignore', timeout: XAUTH_TIME_LIMIT_MS });
    } catch {
      return resolve(false);
    }
    child.once('error', () => resolve(false));
    child.once('close', (code) => resolve(code === 0));
  });
}
