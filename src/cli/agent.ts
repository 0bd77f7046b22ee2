/**
 * `tether agent`: ssh-agent(1). Holds keys in memory and serves them on a private Unix socket.
 *
 *   tether agent [-c | -s] [-Dd] [-a bind_address] [-E fingerprint_hash] [-t life] [command [arg ...]]
 *   tether agent [-c | -s] -k
 *
 * By default the agent daemonizes: this process starts a detached copy of the same tether program with the
 * internal DAEMON_FLAG, waits until it is listening, prints the shell commands to eval (with the daemon's
 * PID) and exits. -D / -d stay in the foreground; with a command, the agent runs in this process, the
 * command runs with SSH_AUTH_SOCK / SSH_AGENT_PID set, and the agent exits when the command does.
 */
import { spawn } from 'node:child_process';
import { getopt, GetoptError } from './getopt.ts';
import { AgentServer } from '../agent/agent-server.ts';
import { listenAgentSocket, makePrivateSocketPath, removeSocketFiles, type AgentListener } from '../agent/agent-socket.ts';
import { isFingerprintHash } from '../keys/fingerprint.ts';

const USAGE = `usage: tether agent [-c | -s] [-Dd] [-a bind_address] [-E fingerprint_hash]
                    [-t life]
       tether agent [-a bind_address] [-E fingerprint_hash] [-t life]
                    command [arg ...]
       tether agent [-c | -s] -k
`;

/** Hidden first argument of the daemon child: `agent --daemon-child <owned-dir|-> [options]`. */
export const DAEMON_FLAG = '--daemon-child';
const READY_LINE = 'ready';
const DAEMON_START_TIMEOUT_MS = 15_000;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

interface AgentInvocation {
  csh: boolean | undefined;
  foreground: boolean;
  debug: boolean;
  kill: boolean;
  bindAddress: string | undefined;
  lifetime: number;
  command: string[];
}

/**
 * ssh's convtime(): a lifetime like "3600", "90m", "1h30m" or "1w" in seconds; throws on anything else
 * (including 0, which would mean "no lifetime" in the protocol).
 */
export function parseLifetime(text: string): number {
  const units: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  if (!/^(\d+[smhdwSMHDW]?)+$/.test(text)) throw new UsageError('Invalid lifetime');
  let total = 0;
  for (const [, digits, unit] of text.matchAll(/(\d+)([smhdwSMHDW]?)/g)) {
    total += Number(digits) * units[unit!.toLowerCase()]!;
  }
  if (!Number.isSafeInteger(total) || total <= 0 || total > 0xffffffff) throw new UsageError('Invalid lifetime');
  return total;
}

function parseArguments(argv: string[]): AgentInvocation {
  const invocation: AgentInvocation = {
    csh: undefined,
    foreground: false,
    debug: false,
    kill: false,
    bindAddress: undefined,
    lifetime: 0,
    command: [],
  };
  const { options, operands } = getopt(argv, 'a:cDdE:kst:');
  for (const [flag, value] of options) {
    switch (flag) {
      case 'a': invocation.bindAddress = value!; break;
      case 'c': if (invocation.csh === false) throw new UsageError(USAGE.trimEnd()); invocation.csh = true; break;
      case 's': if (invocation.csh === true) throw new UsageError(USAGE.trimEnd()); invocation.csh = false; break;
      case 'D': if (invocation.foreground) throw new UsageError(USAGE.trimEnd()); invocation.foreground = true; break;
      case 'd': if (invocation.foreground) throw new UsageError(USAGE.trimEnd()); invocation.foreground = true; invocation.debug = true; break;
      case 'E': if (!isFingerprintHash(value!)) throw new UsageError(`Invalid hash algorithm "${value}"`); break;
      case 'k': invocation.kill = true; break;
      case 't': invocation.lifetime = parseLifetime(value!); break;
    }
  }
  invocation.command = operands;
  if (operands.length > 0 && (invocation.csh !== undefined || invocation.kill || invocation.foreground)) {
    throw new UsageError(USAGE.trimEnd());
  }
  return invocation;
}

/** ssh-agent picks the csh syntax when $SHELL ends in "csh" and neither -c nor -s was given. */
function useCsh(invocation: AgentInvocation): boolean {
  return invocation.csh ?? (process.env.SHELL ?? '').endsWith('csh');
}

function setLine(csh: boolean, name: string, value: string): string {
  return csh ? `setenv ${name} ${value};\n` : `${name}=${value}; export ${name};\n`;
}

export async function agentMain(argv: string[]): Promise<number> {
  if (argv[0] === DAEMON_FLAG) return runDaemonChild(argv.slice(1));
  let invocation: AgentInvocation;
  try {
    invocation = parseArguments(argv);
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof GetoptError)) throw error;
    process.stderr.write(`${error.message}\n`);
    if (!error.message.startsWith('usage:')) process.stderr.write(USAGE);
    return 1;
  }
  if (invocation.kill) return killAgent(useCsh(invocation));
  if (invocation.command.length > 0) return runWithCommand(invocation);
  if (invocation.foreground) return runForeground(invocation);
  return daemonize(invocation);
}

/** -k: SIGTERM to $SSH_AGENT_PID, then the commands that unset the variables. */
function killAgent(csh: boolean): number {
  const text = process.env.SSH_AGENT_PID;
  if (text === undefined) {
    process.stderr.write('SSH_AGENT_PID not set, cannot kill agent\n');
    return 1;
  }
  const pid = Number(text);
  if (!/^\d+$/.test(text) || pid < 2 || pid > 0x7fffffff) {
    process.stderr.write(`SSH_AGENT_PID="${text}", which is not a good PID: ${pid < 2 ? 'too small' : 'invalid'}\n`);
    return 1;
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    process.stderr.write(`kill: ${code === 'ESRCH' ? 'No such process' : code === 'EPERM' ? 'Operation not permitted' : (error as Error).message}\n`);
    return 1;
  }
  const unset = (name: string) => (csh ? `unsetenv ${name};\n` : `unset ${name};\n`);
  process.stdout.write(`${unset('SSH_AUTH_SOCK')}${unset('SSH_AGENT_PID')}echo Agent pid ${pid} killed;\n`);
  return 0;
}

/** Binds the socket (a private one unless -a) and serves it; socket files go when the process does. */
async function startListening(invocation: AgentInvocation, socket: { path: string; directory?: string }): Promise<AgentListener> {
  const agent = new AgentServer({
    defaultLifetime: invocation.lifetime,
    debug: invocation.debug ? (message) => process.stderr.write(`debug1: ${message}\n`) : undefined,
  });
  const listener = await listenAgentSocket(agent, socket.path, socket.directory);
  // Exit paths: signals close the listener; a plain exit still removes the files synchronously.
  process.once('exit', () => removeSocketFiles(socket.path, socket.directory));
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(signal, () => {
      void listener.close().finally(() => process.exit(2));
    });
  }
  return listener;
}

function chooseSocket(invocation: AgentInvocation): { path: string; directory?: string } {
  if (invocation.bindAddress) return { path: invocation.bindAddress };
  return makePrivateSocketPath();
}

function describeBindError(error: NodeJS.ErrnoException): string {
  if (error.code === 'EADDRINUSE') return 'bind: Address already in use';
  if (error.code === 'EACCES') return 'bind: Permission denied';
  if (error.code === 'ENOENT') return 'bind: No such file or directory';
  return `bind: ${error.message}`;
}

/** -D / -d: serve in the foreground until a signal. */
async function runForeground(invocation: AgentInvocation): Promise<number> {
  const socket = chooseSocket(invocation);
  try {
    await startListening(invocation, socket);
  } catch (error) {
    removeSocketFiles(socket.path, socket.directory);
    process.stderr.write(`${describeBindError(error as NodeJS.ErrnoException)}\n`);
    return 1;
  }
  const csh = useCsh(invocation);
  process.stdout.write(`${setLine(csh, 'SSH_AUTH_SOCK', socket.path)}echo Agent pid ${process.pid};\n`);
  return new Promise<number>(() => {
    // Runs until a signal ends the process (see startListening).
  });
}

/** `tether agent command …`: the command runs as our child with the agent's variables set. */
async function runWithCommand(invocation: AgentInvocation): Promise<number> {
  const socket = chooseSocket(invocation);
  let listener: AgentListener;
  try {
    listener = await startListening(invocation, socket);
  } catch (error) {
    removeSocketFiles(socket.path, socket.directory);
    process.stderr.write(`${describeBindError(error as NodeJS.ErrnoException)}\n`);
    return 1;
  }
  const [program, ...args] = invocation.command;
  const status = await new Promise<number>((resolve) => {
    const child = spawn(program!, args, {
      stdio: 'inherit',
      env: { ...process.env, SSH_AUTH_SOCK: socket.path, SSH_AGENT_PID: String(process.pid) },
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      process.stderr.write(`${program}: ${error.code === 'ENOENT' ? 'No such file or directory' : error.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? signalNumber(signal) : 0)));
  });
  await listener.close();
  return status;
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };
  return numbers[signal] ?? 0;
}

/**
 * The default mode: start the daemon child, wait until it listens, and print what to eval. The socket
 * path is chosen here (agent.<our pid>, as ssh-agent names it before it forks).
 */
async function daemonize(invocation: AgentInvocation): Promise<number> {
  const socket = chooseSocket(invocation);
  const entry = process.argv[1];
  if (!entry) {
    process.stderr.write('tether agent: cannot find the tether program to start the agent\n');
    return 1;
  }
  const childArgs = [...process.execArgv, entry, 'agent', DAEMON_FLAG, socket.directory ?? '-', '-a', socket.path];
  if (invocation.lifetime) childArgs.push('-t', String(invocation.lifetime));
  const child = spawn(process.execPath, childArgs, { detached: true, stdio: ['ignore', 'pipe', 'ignore'], cwd: '/' });
  const outcome = await new Promise<{ ok: true } | { ok: false; message: string }>((resolve) => {
    let text = '';
    const timer = setTimeout(() => resolve({ ok: false, message: 'agent did not start in time' }), DAEMON_START_TIMEOUT_MS);
    const finish = (result: { ok: true } | { ok: false; message: string }) => {
      clearTimeout(timer);
      resolve(result);
    };
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      text += chunk;
      const line = text.split('\n')[0]!;
      if (!text.includes('\n')) return;
      finish(line === READY_LINE ? { ok: true } : { ok: false, message: line });
    });
    child.once('error', (error) => finish({ ok: false, message: error.message }));
    child.once('exit', () => finish({ ok: false, message: text.split('\n')[0] || 'agent exited at start' }));
  });
  child.stdout!.destroy();
  child.unref();
  if (!outcome.ok) {
    if (child.exitCode === null) child.kill('SIGTERM');
    removeSocketFiles(socket.path, socket.directory);
    process.stderr.write(`${outcome.message}\n`);
    return 1;
  }
  const csh = useCsh(invocation);
  const pid = String(child.pid);
  process.stdout.write(`${setLine(csh, 'SSH_AUTH_SOCK', socket.path)}${setLine(csh, 'SSH_AGENT_PID', pid)}echo Agent pid ${pid};\n`);
  return 0;
}

/** The detached daemon: listen, tell the parent on stdout, then serve until killed. */
async function runDaemonChild(argv: string[]): Promise<number> {
  const [owned, ...rest] = argv;
  let invocation: AgentInvocation;
  try {
    invocation = parseArguments(rest);
  } catch (error) {
    process.stdout.write(`${(error as Error).message}\n`);
    return 1;
  }
  const socket = { path: invocation.bindAddress!, directory: owned && owned !== '-' ? owned : undefined };
  try {
    await startListening(invocation, socket);
  } catch (error) {
    process.stdout.write(`${describeBindError(error as NodeJS.ErrnoException)}\n`);
    return 1;
  }
  process.stdout.write(`${READY_LINE}\n`, () => process.stdout.destroy());
  // The parent closes its end after reading the line; writing there again would fail, so we never do.
  process.stdout.on('error', () => {});
  return new Promise<number>(() => {
    // Serves until SIGTERM (tether agent -k) or another signal.
  });
}
