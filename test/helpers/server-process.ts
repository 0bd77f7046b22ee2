/**
 * `tether server` as a real process on 127.0.0.1 (its own PID, so its memory and descriptors can be read from
 * /proc), with a temporary configuration, host key and authorized_keys; and the health check the hostile-client
 * and load tests run after every attack: a stock OpenSSH client logs in and moves 16 MiB both ways intact, and
 * the server's RSS and open descriptors come back to their baseline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTestUserOnce, freePort, makeKey, publicKeyLine, tempDir, TEST_USER } from './openssh.ts';
import { stopProcess } from './processes.ts';
import { stopHolders } from './session-holders.ts';

export { TEST_USER };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The CLI entry matching how the tests run: src/cli/main.ts from sources, dist/src/cli/main.js when built. */
function cliModule(): string {
  const here = fileURLToPath(import.meta.url);
  return join(dirname(here), '..', '..', 'src', 'cli', `main.${here.endsWith('.ts') ? 'ts' : 'js'}`);
}

export interface ServerProcessOptions {
  /** sshd_config lines placed first (the first value of a keyword wins). */
  config?: string[];
  /** sshd_config lines placed last: Match blocks. */
  configTail?: string[];
  /** RLIMIT_NOFILE for the server process, so descriptor exhaustion is reachable with bounded counts. */
  fdLimit?: number;
  /**
   * Node/V8 flags for the server; default pins the young generation small (see below). The benchmark passes
   * its own, so the server's heap is sized as a user would run it.
   */
  nodeFlags?: string[];
  /** Extra environment for the server process (KRB5_CONFIG, KRB5_KTNAME for the Kerberos tests). */
  env?: Record<string, string>;
}

export interface ServerProcess {
  pid: number;
  port: number;
  dir: string;
  /** The ed25519 key authorized for TEST_USER. */
  clientKey: string;
  child: ChildProcess;
  /** Everything the server logged on stderr (-e), bounded to the last 2–4 MiB. */
  log(): string;
  /** Resolves with the first log line matching `pattern` after log offset `from` (bounded). */
  waitForLog(pattern: RegExp, timeoutMs?: number, from?: number): Promise<string>;
  /** Whether the process is still running (it never exits on its own while the test runs). */
  alive(): boolean;
  /** VmRSS in bytes. */
  rss(): number;
  /**
   * Common ssh arguments: no config, temporary known_hosts, key auth as TEST_USER; `viaPort` connects there
   * instead of the server's port (a link proxy in front of it).
   */
  sshArgs(viaPort?: number): string[];
  /**
   * Kills the server process with `signal` (SIGKILL: no chance to clean up) and starts it again on the same
   * port, configuration and keys; `pid`, `child` and the log are then the new process's.
   */
  restart(signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export async function startServerProcess(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  await ensureTestUserOnce();
  const dir = tempDir('tether-hostile-');
  chmodSync(dir, 0o755);
  const port = await freePort();
  const clientKey = makeKey(dir, 'id_ed25519', 'ed25519');
  const hostKey = makeKey(dir, 'ssh_host_ed25519_key', 'ed25519');
  writeFileSync(join(dir, 'authorized_keys'), `${publicKeyLine(clientKey)}\n`, { mode: 0o644 });
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      ...(options.config ?? []),
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'PrintMotd no',
      'LogLevel VERBOSE',
      'SetEnv SHLVL=1',
      // Every client here comes from 127.0.0.1 and many misbehave on purpose: penalising the source would
      // refuse the health check's own login. PerSourcePenalties has tests of its own.
      'PerSourcePenalties no',
      // Held sessions' holders live in the test's own directory (unless the test names one), and stop() ends them.
      `PersistentSessionDirectory ${join(dir, 'sessions')}`,
      ...(options.configTail ?? []),
      '',
    ].join('\n'),
  );
  const holderDirectories = [join(dir, 'sessions'), ...(options.config ?? []).flatMap((line) => /^\s*PersistentSessionDirectory\s+(\S+)/i.exec(line)?.slice(1) ?? [])];
  const program = `import(${JSON.stringify(cliModule())}).then((m) => m.runAsProgram(${JSON.stringify(['server', '-D', '-e', '-f', config])}))`;
  let log = '';
  let dropped = 0;
  let child: ChildProcess;
  const alive = () => child.exitCode === null && child.signalCode === null;
  const launch = async (): Promise<void> => {
    // `exec` keeps the PID: the shell only lowers the descriptor limit before becoming node. V8 grows its young
    // generation with load (8 → 58 MiB measured) and keeps it: pinned small here, so that RSS shows what the
    // server retains rather than how busy it last was.
    const limit = options.fdLimit ? `ulimit -n ${options.fdLimit} && ` : '';
    const flags = (options.nodeFlags ?? ['--max-semi-space-size=2']).map((flag) => `${flag} `).join('');
    child = spawn('/bin/sh', ['-c', `${limit}exec "$0" ${flags}--input-type=module -e "$1"`, process.execPath, program], {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
    });
    log = '';
    dropped = 0;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      log += text;
      if (log.length > 4 * 1024 * 1024) {
        dropped += log.length - 2 * 1024 * 1024;
        log = log.slice(-2 * 1024 * 1024);
      }
    });
    for (const deadline = Date.now() + 20_000; !log.includes('Server listening on'); await sleep(20)) {
      if (!alive()) throw new Error(`tether server exited at start (${child.exitCode ?? child.signalCode}): ${log}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`tether server did not start within 20 s: ${log}`);
      }
    }
  };
  await launch();
  return {
    get pid() {
      return child.pid!;
    },
    port,
    dir,
    clientKey,
    get child() {
      return child;
    },
    log: () => log,
    alive,
    rss: () => rssKiB(child.pid!) * 1024,
    async waitForLog(pattern, timeoutMs = 10_000, from = 0) {
      for (const deadline = Date.now() + timeoutMs; ; await sleep(25)) {
        const text = log.slice(Math.max(0, from - dropped));
        const line = text.split('\n').find((candidate) => pattern.test(candidate));
        if (line !== undefined) return line;
        if (Date.now() > deadline) throw new Error(`no server log line matching ${pattern} within ${timeoutMs} ms; log tail:\n${log.slice(-3000)}`);
      }
    },
    sshArgs: (viaPort?: number) => [
      '-F', 'none',
      '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
      '-o', 'StrictHostKeyChecking=no',
      '-o', 'LogLevel=ERROR',
      '-o', 'ConnectTimeout=10',
      '-o', 'BatchMode=yes',
      '-o', 'IdentitiesOnly=yes',
      '-i', clientKey,
      '-p', String(viaPort ?? port),
    ],
    async restart(signal = 'SIGKILL') {
      const exited = new Promise((resolve) => (alive() ? child.once('exit', resolve) : resolve(undefined)));
      child.kill(signal);
      await Promise.race([exited, sleep(10_000)]);
      await launch();
    },
    async stop() {
      await stopProcess(child);
      for (const directory of holderDirectories) await stopHolders(directory);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- what the kernel says about the server --------------------------------------------------------------

/** Resident set size in KiB (/proc/PID/status VmRSS). */
export function rssKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]);
}

/** Open file descriptors (/proc/PID/fd). */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** PIDs of every process descended from `pid` (from the parent links in /proc/N/stat). */
export function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const found: number[] = [];
  const frontier = [pid];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child);
        frontier.push(child);
      }
    }
  }
  return found;
}

/** A short summary of what the descriptors are (sockets, pipes, files), for failure messages. */
export function describeFds(pid: number): string {
  const kinds = new Map<string, number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let kind = '?';
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      kind = /^(socket|pipe|anon_inode):/.exec(target)?.[1] ?? (target.startsWith('/dev/') ? target : 'file');
    } catch {
      // closed meanwhile
    }
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return [...kinds].map(([kind, count]) => `${count} ${kind}`).join(', ');
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs a program with `input` on stdin; killed by PID after `timeoutMs`, which resolves with signal SIGKILL
 * and a note on stderr (or status null and the spawn error when it could not start).
 */
export function runProgram(file: string, args: string[], input: Buffer | string = '', timeoutMs = 60_000, env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.on('error', () => {});
    const timer = setTimeout(() => {
      stderr += `\n[killed: ${file} did not finish within ${timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => (clearTimeout(timer), resolve({ status: null, signal: null, stdout: Buffer.alloc(0), stderr: error.message })));
    child.once('close', (status, signal) => (clearTimeout(timer), resolve({ status, signal, stdout: Buffer.concat(stdout), stderr })));
    child.stdin.end(input);
  });
}

// ---- the health check -----------------------------------------------------------------------------------

const TRANSFER_BYTES = 16 * 1024 * 1024;
let payload: { data: Buffer; sha256: string } | undefined;

/**
 * /usr/bin/ssh logs in with the key and sends 16 MiB of random data to a remote command that stores it,
 * prints its sha256 on stderr and sends it back: both ends' digests must equal ours. Returns a description of
 * what went wrong, or undefined when everything arrived intact.
 */
export async function stockClientTransfer(server: ServerProcess, timeoutMs = 60_000): Promise<string | undefined> {
  payload ??= (() => {
    const data = randomBytes(TRANSFER_BYTES);
    return { data, sha256: createHash('sha256').update(data).digest('hex') };
  })();
  const remote = 'f=$(mktemp) && cat > "$f" && sha256sum < "$f" >&2 && cat "$f"; rm -f "$f"';
  const result = await runProgram('/usr/bin/ssh', [...server.sshArgs(), `${TEST_USER}@127.0.0.1`, remote], payload.data, timeoutMs, { ...process.env, HOME: server.dir });
  if (result.status !== 0) return `ssh exited ${result.status ?? result.signal}: ${result.stderr.trim()}`;
  const remoteDigest = /^([0-9a-f]{64}) {2}-$/m.exec(result.stderr)?.[1];
  if (remoteDigest !== payload.sha256) return `the server side received data with sha256 ${remoteDigest ?? '(none)'}, sent ${payload.sha256}`;
  const back = createHash('sha256').update(result.stdout).digest('hex');
  if (back !== payload.sha256) return `the client received ${result.stdout.length} bytes with sha256 ${back}, expected ${TRANSFER_BYTES} bytes with ${payload.sha256}`;
  return undefined;
}

export interface Baseline {
  rssKiB: number;
  /** The same in bytes. */
  rss: number;
  fds: number;
}

/**
 * The baseline: warm-up logins and transfers first (two rounds of three at once, so V8's young generation
 * and the JIT reach the size a transfer needs), then the highest RSS after each of three single transfers,
 * the steady state a recovered server returns to. Descriptors once no session process is left.
 */
export async function measureBaseline(server: ServerProcess): Promise<Baseline> {
  for (let round = 0; round < 2; round++) {
    const problems = await Promise.all([0, 1, 2].map(() => stockClientTransfer(server)));
    const problem = problems.find((p) => p !== undefined);
    if (problem) throw new Error(`warm-up transfer failed: ${problem}`);
  }
  let rss = 0;
  for (let i = 0; i < 3; i++) {
    const problem = await stockClientTransfer(server);
    if (problem) throw new Error(`warm-up transfer failed: ${problem}`);
    rss = Math.max(rss, rssKiB(server.pid));
  }
  await waitForChildren(server, 5000);
  await sleep(200);
  return { rssKiB: rss, rss: rss * 1024, fds: fdCount(server.pid) };
}

async function waitForChildren(server: ServerProcess, timeoutMs: number): Promise<number[]> {
  let left = descendants(server.pid);
  for (const deadline = Date.now() + timeoutMs; left.length > 0 && Date.now() < deadline; left = descendants(server.pid)) await sleep(50);
  return left;
}


export interface Recovery {
  /** Violations, each a sentence; empty when the server recovered. */
  problems: string[];
  rssKiB: number;
  fds: number;
}

/** Issue 21: after an attack the server's RSS is back within 10% of its baseline. */
const RSS_TOLERANCE = 0.1;

/**
 * After an attack: the server runs, a stock client logs in and moves 16 MiB intact, and within `settleMs`
 * the RSS is back within 10% of the baseline, the descriptors at the baseline and no session
 * process is left. Polls (bounded) because connections close and memory is returned asynchronously.
 */
export async function checkRecovered(server: ServerProcess, baseline: Baseline, attack: string, settleMs = 10_000): Promise<Recovery> {
  const problems: string[] = [];
  const exited = () => `after ${attack}: the server process exited (${server.child.exitCode ?? server.child.signalCode}); log tail:\n${server.log().slice(-3000)}`;
  if (!server.alive()) return { problems: [exited()], rssKiB: 0, fds: 0 };
  const transfer = await stockClientTransfer(server);
  if (transfer) problems.push(`after ${attack}: a stock ssh client could not log in and move 16 MiB intact: ${transfer}`);
  if (!server.alive()) return { problems: [...problems, exited()], rssKiB: 0, fds: 0 };
  let rss = rssKiB(server.pid);
  let fds = fdCount(server.pid);
  const limit = baseline.rssKiB * (1 + RSS_TOLERANCE);
  for (const deadline = Date.now() + settleMs; (rss > limit || fds > baseline.fds) && Date.now() < deadline; ) {
    await sleep(200);
    rss = rssKiB(server.pid);
    fds = fdCount(server.pid);
  }
  const children = await waitForChildren(server, 1000);
  if (rss > limit) {
    problems.push(`after ${attack}: server RSS ${(rss / 1024).toFixed(1)} MiB is not back within ${RSS_TOLERANCE * 100}% of its baseline ${(baseline.rssKiB / 1024).toFixed(1)} MiB after ${settleMs} ms`);
  }
  if (fds !== baseline.fds) problems.push(`after ${attack}: the server has ${fds} open descriptors, baseline ${baseline.fds} (${describeFds(server.pid)})`);
  if (children.length > 0) problems.push(`after ${attack}: ${children.length} process(es) still run under the server: ${children.join(', ')}`);
  return { problems, rssKiB: rss, fds };
}
