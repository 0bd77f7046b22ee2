/** A session program on plain pipes (no pty-req): stdin, stdout and stderr are separate streams. */
import { spawn } from 'node:child_process';
import { commandAs, deliverSignal, signalName, type ProcessExit, type SessionProcess, type SessionProgram } from './session-process.ts';

export function startPipeProcess(program: SessionProgram): SessionProcess {
  const command = commandAs(program.runAs, program.file, program.args);
  const child = spawn(command.file, command.args, {
    cwd: program.cwd,
    env: program.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    // A session leader of its own, as sshd makes it (setsid), so job control and signals stay inside it.
    detached: true,
  });
  // Errors on the pipes (EPIPE when the program exits before reading its input) are not the server's.
  child.stdin.on('error', () => {});
  child.stdout.on('error', () => {});
  child.stderr.on('error', () => {});
  const exit = new Promise<ProcessExit>((resolve) => {
    let spawnFailed = false;
    child.once('error', () => {
      spawnFailed = true;
      resolve({ code: 127, signal: null, coreDumped: false });
    });
    // 'close' comes after 'exit' once stdout and stderr have ended: the output is drained.
    child.once('close', (code, signal) => {
      if (spawnFailed) return;
      resolve(signal ? { code: null, signal: signalName(signal), coreDumped: false } : { code: code ?? 0, signal: null, coreDumped: false });
    });
  });
  return {
    pid: child.pid ?? -1,
    terminal: false,
    ttyName: undefined,
    output: child.stdout,
    errorOutput: child.stderr,
    input: child.stdin,
    exit,
    resize: () => {},
    signal: (name) => child.pid !== undefined && deliverSignal(child.pid, name),
    hangUp: () => {
      if (child.pid !== undefined && child.exitCode === null) deliverSignal(child.pid, 'HUP');
    },
  };
}
