/** A session program on plain pipes (no pty-req): stdin, stdout and stderr are separate streams. */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { InputPipe, OutputPipe } from './program-pipes.ts';
import {
  commandAs,
  deliverSignal,
  SessionSpawnError,
  signalName,
  type ProcessExit,
  type SessionProcess,
  type SessionProgram,
} from './session-process.ts';

interface SpawnedChild {
  child: ChildProcess;
  /** Our own pipes for stdin and stdout when native/fdpass is built (program-pipes.ts), else Node's. */
  stdin: Writable;
  stdout: OutputPipe | Readable;
  stderr: Readable;
}

/**
 * Spawns the program, or throws SessionSpawnError. Node reports a failed fork or pipe (EMFILE, ENFILE, EAGAIN)
 * as an 'error' event on the next tick and leaves the stdio streams unset: a child without a pid is a failure
 * here, synchronously, where the session request can still be refused (sshd answers a failed fork(2) or
 * pipe(2) in do_exec_no_pty the same way), and the late error event finds a listener.
 */
function spawnChild(program: SessionProgram): SpawnedChild {
  const command = commandAs(program.runAs, program.file, program.args);
  let child: ChildProcess;
  let inputPipe: InputPipe | undefined;
  let outputPipe: OutputPipe | undefined;
  const closePipes = () => {
    inputPipe?.destroy();
    outputPipe?.destroy();
  };
  try {
    inputPipe = InputPipe.open();
    outputPipe = OutputPipe.open();
    child = spawn(command.file, command.args, {
      cwd: program.cwd,
      env: program.env,
      stdio: [inputPipe?.childEnd ?? 'pipe', outputPipe?.childEnd ?? 'pipe', 'pipe'],
      // A session leader of its own, as sshd makes it (setsid), so job control and signals stay inside it.
      detached: true,
    });
  } catch (error) {
    closePipes();
    throw new SessionSpawnError(`fork: ${(error as Error).message}`, (error as NodeJS.ErrnoException).code);
  }
  const stdin = inputPipe?.stream ?? child.stdin;
  const stdout = outputPipe ?? child.stdout;
  if (child.pid === undefined || !stdin || !stdout || !child.stderr) {
    // The error event (with its errno) is only due on the next tick; it must find a listener.
    child.once('error', () => {});
    for (const stream of [child.stdin, child.stdout, child.stderr]) stream?.destroy();
    closePipes();
    throw new SessionSpawnError('do_exec_no_pty: fork or pipe failed: Too many open files or processes');
  }
  inputPipe?.spawned();
  outputPipe?.spawned();
  return { child, stdin, stderr: child.stderr, stdout };
}

export function startPipeProcess(program: SessionProgram): SessionProcess {
  const { child, stdin, stdout, stderr } = spawnChild(program);
  const pid = child.pid!;
  // Errors on the pipes (EPIPE when the program exits before reading its input) are not the server's.
  stdin.on('error', () => {});
  stderr.on('error', () => {});
  if (!(stdout instanceof OutputPipe)) stdout.on('error', () => {});
  // Node's 'close' waits for the pipes it made; our own output pipe is waited for beside it.
  const outputClosed = stdout instanceof OutputPipe ? stdout.closed : Promise.resolve();
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
      void outputClosed.then(() => {
        closed = true;
        if (execFailed) return;
        resolve(signal ? { code: null, signal: signalName(signal), coreDumped: false } : { code: code ?? 0, signal: null, coreDumped: false });
      });
    });
  });
  return {
    pid,
    terminal: false,
    ttyName: undefined,
    get output() {
      return stdout instanceof OutputPipe ? stdout.stream : stdout;
    },
    ...(stdout instanceof OutputPipe ? { borrowedOutput: stdout.borrowed } : {}),
    errorOutput: stderr,
    input: stdin,
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
      stdin.destroy();
      stdout.destroy();
      stderr.destroy();
    },
  };
}
