/**
 * The session holders a test's `tether server` started (docs/PROTOCOL.sessions §1): they outlive the server
 * by design, so a test finds them by the PersistentSessionDirectory it gave (in their command line) and stops
 * them by PID: SIGTERM (a holder hangs up its sessions and exits), SIGKILL after a bound.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isAlive } from './processes.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** PIDs of `tether session-holder --directory DIR/...` processes for this directory. */
export function holderPids(directory: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const at = argv.indexOf('--directory');
    if (argv.includes('session-holder') && at >= 0 && argv[at + 1]?.startsWith(directory)) found.push(Number(entry));
  }
  return found;
}

/** Stops every holder of `directory`, bounded: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopHolders(directory: string, graceMs = 3000): Promise<void> {
  const pids = holderPids(directory);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Gone already.
    }
  }
  for (const deadline = Date.now() + graceMs; pids.some(isAlive) && Date.now() < deadline; ) await sleep(50);
  for (const pid of pids.filter(isAlive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
}
