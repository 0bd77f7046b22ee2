/**
 * A session program on a pseudo-terminal (after pty-req), through node-pty. Before the program starts, a
 * two-line POSIX sh prologue on the new terminal sets the client's terminal modes (stty) and SSH_TTY (the
 * device name is only known once the terminal exists), then execs the program in place.
 */
import { chownSync, chmodSync, readFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import pty from '@lydell/node-pty';
import { sttyArguments } from './terminal-modes.ts';
import { commandAs, deliverSignal, SessionSpawnError, signalName, type ProcessExit, type SessionProcess, type SessionProgram } from './session-process.ts';

/** Runs as the session's user on its terminal; word splitting of TETHER_STTY is intended, globbing is off. */
const PROLOGUE =
  'set -f; SSH_TTY=$(tty 2>/dev/null) && export SSH_TTY; ' +
  'if [ -n "$TETHER_STTY" ]; then stty $TETHER_STTY 2>/dev/null; fi; unset TETHER_STTY; exec "$@"';

/** The tty group's id: sshd gives the terminal to the user with group tty, mode 0620. */
function ttyGroupId(): number | undefined {
  try {
    const line = readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith('tty:'));
    const gid = Number(line?.split(':')[2]);
    return Number.isInteger(gid) ? gid : undefined;
  } catch {
    return undefined;
  }
}

export function startPtyProcess(program: SessionProgram): SessionProcess {
  const terminal = program.terminal!;
  const stty = sttyArguments(terminal.modes);
  const command = commandAs(program.runAs, '/bin/sh', ['-c', PROLOGUE, 'tether-session', program.file, ...program.args]);
  let child: pty.IPty;
  try {
    child = pty.spawn(command.file, command.args, {
      name: terminal.term || 'dumb',
      cols: Math.max(1, Math.min(terminal.columns || 80, 4096)),
      rows: Math.max(1, Math.min(terminal.rows || 24, 4096)),
      cwd: program.cwd,
      env: { ...program.env, ...(stty.length > 0 ? { TETHER_STTY: stty.join(' ') } : {}) },
      encoding: null,
    });
  } catch (error) {
    // forkpty(3) or the terminal's descriptor failed (EMFILE, EAGAIN, no free pty): sshd refuses the request.
    throw new SessionSpawnError(`session_pty_req: pty allocation or fork failed: ${(error as Error).message}`, (error as NodeJS.ErrnoException).code);
  }
  // node-pty rethrows terminal read errors other than EIO unless someone else listens for them; a session's
  // terminal failing must end that session only (the exit follows), never the server.
  (child as unknown as { on(event: 'error', listener: (error: Error) => void): void }).on('error', () => {});
  const ttyName = (child as unknown as { ptsName?: string }).ptsName;
  if (program.runAs && ttyName) {
    try {
      chownSync(ttyName, program.runAs.uid, ttyGroupId() ?? program.runAs.gid);
      chmodSync(ttyName, 0o620);
    } catch {
      // The session still works through its open descriptors; only re-opening the device would fail.
    }
  }

  let exited = false;
  let hungUp = false;
  const output = new Readable({ read: () => child.resume() });
  child.onData((data) => {
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : (data as unknown as Buffer);
    // Backpressure: stop reading the terminal while the channel cannot take more.
    if (!output.push(Buffer.from(chunk))) child.pause();
  });
  const input = new Writable({
    write: (chunk: Buffer, _encoding, callback) => {
      if (!exited && !hungUp) child.write(chunk as unknown as string);
      callback();
    },
  });
  // node-pty reports the exit once the terminal has been read to its end (EIO), so output is complete.
  const exit = new Promise<ProcessExit>((resolve) => {
    child.onExit(({ exitCode, signal }) => {
      exited = true;
      output.push(null);
      resolve(signal ? { code: null, signal: signalName(signal), coreDumped: false } : { code: exitCode, signal: null, coreDumped: false });
    });
  });
  return {
    pid: child.pid,
    terminal: true,
    ttyName,
    output,
    errorOutput: null,
    input,
    exit,
    resize: (columns, rows) => {
      if (exited || columns <= 0 || rows <= 0) return;
      try {
        child.resize(Math.min(columns, 4096), Math.min(rows, 4096));
      } catch {
        // The terminal may be gone between the check and the call.
      }
    },
    signal: (name) => !exited && deliverSignal(child.pid, name),
    hangUp: () => {
      if (exited || hungUp) return;
      hungUp = true;
      // The program leads the terminal's session and process group: all of it gets SIGHUP, and the master
      // side closes (as sshd's session_pty_cleanup closes ptymaster), so the kernel hangs the terminal up for
      // anything in another group and nothing is read from it any more.
      deliverSignal(child.pid, 'HUP');
      try {
        (child as unknown as { destroy(): void }).destroy();
      } catch {
        // Already closed.
      }
    },
  };
}
