/**
 * Terminal handling for `tether ssh`: questions and secrets on /dev/tty (never on stdin, which belongs to
 * the remote command), SSH_ASKPASS when there is no terminal, and raw mode with guaranteed restoration.
 */
import { askTerminal } from './prompt.ts';

/** node:child_process loads when a command is run, not with every `tether ssh` (issue 17: start-up time). */
const childProcess = () => process.getBuiltinModule('node:child_process');

/** SSH_ASKPASS, as ssh uses it when there is no terminal (or SSH_ASKPASS_REQUIRE=force). */
function askpass(prompt: string): string | undefined {
  const program = process.env.SSH_ASKPASS;
  if (!program) return undefined;
  const result = childProcess().spawnSync(program, [prompt], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 });
  if (result.status !== 0) return undefined;
  return result.stdout.replace(/\r?\n$/, '');
}

function askpassWanted(): boolean {
  const require = process.env.SSH_ASKPASS_REQUIRE;
  if (require === 'never') return false;
  if (require === 'force') return true;
  return Boolean(process.env.DISPLAY) || Boolean(process.env.WAYLAND_DISPLAY);
}

/** Asks for a secret: SSH_ASKPASS when forced or when there is no terminal, else /dev/tty with echo off. */
export async function askSecret(prompt: string): Promise<string | undefined> {
  if (process.env.SSH_ASKPASS_REQUIRE === 'force') return askpass(prompt);
  const answer = await askTerminal(prompt, false);
  if (answer !== undefined) return answer;
  return askpassWanted() ? askpass(prompt) : undefined;
}

/** Asks a visible question (host-key confirmation). */
export async function askQuestion(prompt: string): Promise<string | undefined> {
  if (process.env.SSH_ASKPASS_REQUIRE === 'force') return askpass(prompt);
  return askTerminal(prompt, true);
}

/** Puts stdin in raw mode and returns a function that restores it; also restores on every exit path. */
export function enterRawMode(): () => void {
  const stdin = process.stdin;
  if (!stdin.isTTY) return () => {};
  stdin.setRawMode(true);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      stdin.setRawMode(false);
    } catch {
      // The terminal may be gone (hangup); nothing left to restore.
    }
  };
  process.once('exit', restore);
  return restore;
}
