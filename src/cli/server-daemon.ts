/**
 * sshd's daemon mode for `tether server` without -D or -d: the process detaches into the background (sshd
 * calls daemon(3): the parent exits, the child runs in a new session with stdio on /dev/null) and writes its
 * PidFile once it listens. Node cannot fork, so the parent starts the same command again as a detached child
 * and exits once that child reports that it is listening; a child that fails before that hands its error to
 * the parent, which prints it and exits with the child's status, so a daemon that never came up is not
 * reported as started.
 */
import { spawn } from 'node:child_process';
import { unlinkSync, writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Marks the detached child (and survives nothing else: it is removed from the environment at once). */
const DAEMON_MARK = 'TETHER_SERVER_DAEMONIZED';

/** What the child tells the parent over the IPC channel. */
type DaemonMessage = { ready: true } | { fatal: string };

/** True in the detached child (the mark is taken out of the environment so nothing started later sees it). */
export function isDaemonChild(): boolean {
  const marked = process.env[DAEMON_MARK] === '1';
  delete process.env[DAEMON_MARK];
  return marked;
}

/** The arguments that run `tether server <argv>` again with this Node: through bin/tether.js when that is how we run. */
function programArguments(argv: readonly string[]): string[] {
  const script = process.argv[1];
  if (script !== undefined && /^tether(\.js)?$/.test(basename(script))) return [...process.execArgv, script, 'server', ...argv];
  // Started as a library call (tests: main(['server', ...]) under `node -e`): import the CLI module directly.
  const here = fileURLToPath(import.meta.url);
  const main = new URL(`./main${extname(here)}`, import.meta.url).href;
  const program = `import(${JSON.stringify(main)}).then((m) => m.runAsProgram(${JSON.stringify(['server', ...argv])}))`;
  return [...process.execArgv, '--input-type=module', '-e', program];
}

/**
 * The parent's side: starts the detached child and resolves with 0 once it listens, or with its exit status
 * (after printing its error) when it fails first.
 */
export function daemonize(argv: readonly string[]): Promise<number> {
  const child = spawn(process.execPath, programArguments(argv), {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: { ...process.env, [DAEMON_MARK]: '1' },
  });
  return new Promise((resolve) => {
    let fatal = false;
    child.on('message', (message: DaemonMessage) => {
      if ('fatal' in message) {
        fatal = true;
        process.stderr.write(`${message.fatal}\n`);
        return;
      }
      child.removeAllListeners('exit');
      child.disconnect();
      child.unref();
      resolve(0);
    });
    child.once('error', (error) => {
      process.stderr.write(`daemon() failed: ${error.message}\n`);
      resolve(255);
    });
    child.once('exit', (code, signal) => {
      if (!fatal && signal !== null) process.stderr.write(`tether server: the daemon was killed by ${signal} while starting\n`);
      resolve(code ?? 255);
    });
  });
}

/** The child's side: tell the parent we listen (it exits) or why we cannot. No-op without a parent waiting. */
export function reportToParent(message: DaemonMessage): void {
  if (!process.send || !process.connected) return;
  process.send(message, undefined, {}, () => {
    if ('ready' in message && process.connected) process.disconnect();
  });
}

/** Writes sshd's pid file ("<pid>\n"); sshd logs a failure and carries on. */
export function writePidFile(path: string | null, logError: (message: string) => void): void {
  if (path === null) return;
  try {
    writeFileSync(path, `${process.pid}\n`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : (error as Error).message;
    logError(`Couldn't create pid file "${path}": ${reason}`);
  }
}

export function removePidFile(path: string | null): void {
  if (path === null) return;
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
