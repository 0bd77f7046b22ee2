/**
 * ProxyCommand: the SSH connection runs over a command's standard input and output, as ssh runs it
 * (sshconnect.c ssh_proxy_connect): `$SHELL -c "exec <command>"` with the command's stderr left on ours.
 * The command is stopped by PID with SIGHUP, as ssh does, when the stream is destroyed or we exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Duplex } from 'node:stream';

/** The proxy command could not be started. */
export class ProxyCommandError extends Error {
  override readonly name = 'ProxyCommandError';
}

export class ProxyCommandStream extends Duplex {
  readonly child: ChildProcess;
  private readonly killOnExit = () => this.kill();

  constructor(command: string, options: { shell?: string; env?: NodeJS.ProcessEnv } = {}) {
    super({ allowHalfOpen: true });
    const shell = options.shell ?? process.env.SHELL ?? '/bin/sh';
    this.child = spawn(shell, ['-c', `exec ${command}`], { stdio: ['pipe', 'pipe', 'inherit'], env: options.env ?? process.env });
    const stdout = this.child.stdout!;
    stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) stdout.pause();
    });
    stdout.once('end', () => this.push(null));
    // A proxy that exits early shows up to the transport as the stream ending.
    this.child.once('error', (error) => this.destroy(new ProxyCommandError(`proxy command failed: ${error.message}`)));
    this.child.stdin!.on('error', () => {});
    this.child.once('exit', () => process.off('exit', this.killOnExit));
    process.once('exit', this.killOnExit);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  override _read(): void {
    this.child.stdout!.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.child.stdin!.write(chunk)) callback();
    else this.child.stdin!.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.child.stdin!.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.kill();
    callback(error);
  }

  /** Stops the proxy by PID (ssh_kill_proxy_command sends SIGHUP). */
  kill(): void {
    process.off('exit', this.killOnExit);
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(pid, 'SIGHUP');
    } catch {
      // Already gone.
    }
  }
}

/** Starts `command` (tokens already expanded) and returns the stream to run SSH over. */
export function spawnProxyCommand(command: string, options: { shell?: string; env?: NodeJS.ProcessEnv } = {}): ProxyCommandStream {
  return new ProxyCommandStream(command, options);
}
