/**
 * ProxyCommand: the SSH connection runs over a command's standard input and output, as ssh runs it
 * (sshconnect.c ssh_proxy_connect): `$SHELL -c "exec <command>"` on two pipes, with the command's stderr
 * left on ours.
 * The command is stopped by PID with SIGHUP, as ssh does, when the stream is destroyed or we exit.
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, constants, mkdtempSync, open, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';

/** node:child_process loads when a command is run, not with every `tether ssh` (issue 17: start-up time). */
const childProcess = () => process.getBuiltinModule('node:child_process');

/** The proxy command could not be started. */
export class ProxyCommandError extends Error {
  override readonly name = 'ProxyCommandError';
}

export class ProxyCommandStream extends Duplex {
  readonly child: ChildProcess;
  private readonly killOnExit = () => this.kill();
  private stdin: Socket | undefined;
  private stdout: Socket | undefined;
  /** Settles once the command holds both pipes (or could not get them). */
  private readonly connected: Promise<void>;

  constructor(command: string, options: { shell?: string; env?: NodeJS.ProcessEnv } = {}) {
    super({ allowHalfOpen: true });
    const shell = options.shell ?? process.env.SHELL ?? '/bin/sh';
    // ssh gives the command two pipe(2)s, and sshd -i reports a pipe as "UNKNOWN 65535" in SSH_CONNECTION;
    // Node's stdio pipes are socketpairs, so the pipes are FIFOs in a private directory that the shell
    // opens as its stdin and stdout before it runs `exec <command>` exactly as ssh does.
    const dir = mkdtempSync(join(tmpdir(), 'tether-proxy-'));
    const input = join(dir, 'in');
    const output = join(dir, 'out');
    const made = childProcess().spawnSync('mkfifo', ['-m', '600', input, output], { stdio: 'ignore' });
    if (made.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new ProxyCommandError('proxy command failed: cannot create pipes (mkfifo)');
    }
    this.child = childProcess().spawn(shell, ['-c', `exec <'${input}' >'${output}'; exec ${command}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: options.env ?? process.env,
    });
    this.connected = this.openPipes(input, output).finally(() => rmSync(dir, { recursive: true, force: true }));
    this.connected.catch((error: Error) => this.destroy(new ProxyCommandError(`proxy command failed: ${error.message}`)));
    // A proxy that exits early shows up to the transport as the stream ending.
    this.child.once('error', (error) => this.destroy(new ProxyCommandError(`proxy command failed: ${error.message}`)));
    this.child.once('exit', () => process.off('exit', this.killOnExit));
    process.once('exit', this.killOnExit);
  }

  /**
   * Opens our ends of the FIFOs; each open waits for the shell's. If the shell exits first, opening the
   * other side without blocking releases our waiting opens (Linux counts a waiting opener as present).
   */
  private async openPipes(input: string, output: string): Promise<void> {
    // Plain descriptors (not FileHandles, which close themselves when collected): the sockets own them.
    const openFd = (path: string, flags: string) =>
      new Promise<number>((resolve, reject) => open(path, flags, (error, fd) => (error ? reject(error) : resolve(fd))));
    const writing = openFd(input, 'w');
    const reading = openFd(output, 'r');
    const release = () => {
      for (const [path, flags] of [[input, constants.O_RDONLY], [output, constants.O_WRONLY]] as const) {
        try {
          closeSync(openSync(path, flags | constants.O_NONBLOCK));
        } catch {
          // Already opened by the shell, or gone.
        }
      }
    };
    this.child.once('exit', release);
    this.child.once('error', release);
    const [inputFd, outputFd] = await Promise.all([writing, reading]);
    this.child.off('exit', release);
    this.child.off('error', release);
    if (this.destroyed) {
      closeSync(inputFd);
      closeSync(outputFd);
      return;
    }
    // Sockets over the pipe fds read and write on the event loop, not in the thread pool.
    this.stdin = new Socket({ fd: inputFd, readable: false, writable: true });
    this.stdout = new Socket({ fd: outputFd, readable: true, writable: false });
    this.stdin.on('error', () => {});
    const stdout = this.stdout;
    stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) stdout.pause();
    });
    stdout.once('end', () => this.push(null));
    stdout.on('error', (error) => this.destroy(error));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  override _read(): void {
    this.stdout?.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.connected.then(() => {
      if (this.stdin!.write(chunk)) callback();
      else this.stdin!.once('drain', () => callback());
    }, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.connected.then(() => this.stdin!.end(callback), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.kill();
    this.stdin?.destroy();
    this.stdout?.destroy();
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
