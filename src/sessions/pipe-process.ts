/** A session program on plain pipes (no pty-req): stdin, stdout and stderr are separate streams. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import {
  commandAs,
  deliverSignal,
  SessionSpawnError,
  signalName,
  type ProcessExit,
  type SessionProcess,
  type SessionProgram,
} from './session-process.ts';

/**
 * Spawns the program, or throws SessionSpawnError. Node reports a failed fork or pipe (EMFILE, ENFILE, EAGAIN)
 * as an 'error' event on the next tick and leaves the stdio streams unset: a child without a pid is a failure
 * here, synchronously, where the session request can still be refused (sshd answers a failed fork(2) or
 * pipe(2) in do_exec_no_pty the same way), and the late error event finds a listener.
 */
function spawnChild(program: SessionProgram): ChildProcessWithoutNullStreams {
  const command = commandAs(program.runAs, program.file, program.args);
  let child: ChildProcessWithoutNullStreams;
  try {
    child = spawn(command.file, command.args, {
      cwd: program.cwd,
      env: program.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      // A session leader of its own, as sshd makes it (setsid), so job control and signals stay inside it.
      detached: true,
    });
  } catch (error) {
    throw new SessionSpawnError(`fork: ${(error as Error).message}`, (error as NodeJS.ErrnoException).code);
  }
  if (child.pid === undefined || !child.stdin || !child.stdout || !child.stderr) {
    // The error event (with its errno) is only due on the next tick; it must find a listener.
    child.once('error', () => {});
    for (const stream of [child.stdin, child.stdout, child.stderr]) stream?.destroy();
    throw new SessionSpawnError('do_exec_no_pty: fork or pipe failed: Too many open files or processes');
  }
  return child;
}

export function startPipeProcess(program: SessionProgram): SessionProcess {
  const child = spawnChild(program);
  const pid = child.pid!;
  // Errors on the pipes (EPIPE when the program exits before reading its input) are not the server's.
  child.stdin.on('error', () => {});
  child.stdout.on('error', () => {});
  child.stderr.on('error', () => {});
  let closed = false;
  let hungUp = false;
  const exit = new Promise<ProcessExit>((resolve) => {
    // A program that exec(2) cannot start (ENOENT, EACCES) still has a pid: the error follows, 127 as a shell says.
    let execFailed = false;
    child.once('error', () => {
      execFailed = true;
      resolve({ code: 127, signal: null, coreDumped: false });
    });
    // 'close' comes after 'exit' once stdout and stderr have ended: the output is drained.
    child.once('close', (code, signal) => {
      closed = true;
      if (execFailed) return;
      resolve(signal ? { code: null, signal: signalName(signal), coreDumped: false } : { code: code ?? 0, signal: null, coreDumped: false });
    });
  });
  return {
    pid,
    terminal: false,
    ttyName: undefined,
    output: child.stdout,
    errorOutput: child.stderr,
    input: child.stdin,
    exit,
    resize: () => {},
    signal: (name) => !closed && deliverSignal(pid, name),
    hangUp: () => {
      // Once the program has exited and its pipes are closed, the group may be gone and its id reused.
      if (closed || hungUp) return;
      hungUp = true;
      // The whole group: the leader may have exited already while a pipeline it started still runs. Then the
      // pipes close, as sshd's exit closes them, so whatever ignores SIGHUP meets EPIPE on its next write —
      // and nothing more is read from the program to be thrown away.
      deliverSignal(pid, 'HUP');
      child.stdin.destroy();
      child.stdout.destroy();
      child.stderr.destroy();
    },
  };
}
