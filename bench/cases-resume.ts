/**
 * Issue 16's rows (sessions that survive), against a `tether server` of this group's own with its sessions in
 * a temporary PersistentSessionDirectory:
 *
 *  - resume: a link proxy (test/helpers/link-proxy.ts) between client and server is cut for a second while
 *    the remote command prints every 20 ms, then restored; the row is the time from restore() to the first
 *    byte the client prints after it. Tether: `tether ssh` resuming its held session by itself (its backoff
 *    is capped at 1 s, so up to a second of this is waiting for the next attempt). OpenSSH has no resume: its
 *    side is a new `ssh` login to sshd through the same kind of proxy, started at restore(), to its first byte.
 *  - holder memory: N sessions with a PTY (`sleep`) are opened with the library and left detached (the
 *    connection ends without closing them); the row is the growth of the user's session holder's PSS over N,
 *    past a first session that starts the holder. OpenSSH holds nothing after a drop; its side is sshd's
 *    memory per attached `ssh -tt` session (its per-connection processes' PSS over N).
 */
import { chmodSync, rmSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { openPersistentSession } from '../src/client/open-persistent-session.ts';
import type { PersistentSession } from '../src/client/persistent-session.ts';
import { connect, type SshClient } from '../src/client/client.ts';
import { identityFileKeys } from '../src/client/identities.ts';
import { tempDir } from '../test/helpers/openssh.ts';
import { startServerProcess, TEST_USER, type ServerProcess } from '../test/helpers/server-process.ts';
import { startLinkProxy, type LinkProxy } from '../test/helpers/link-proxy.ts';
import { holderPids, stopHolders } from '../test/helpers/session-holders.ts';
import { TETHER_BIN } from '../test/helpers/tether.ts';
import { measureAlternating, summaryOf, type BenchContext, type BenchGroup } from './context.ts';
import { pssKiB, sleep } from './measure.ts';
import { KEX, TETHER_BOTH } from './peers.ts';
import { rowKey, type Row } from './report.ts';

const RESUME_NAME = 'time from the network coming back to the first byte (Tether: the session resumed; OpenSSH: a new login)';
const MEMORY_SIDE = 'tether session holder (OpenSSH: sshd, attached)';
const memoryName = (count: number) => `memory per idle held session, ${count} held (PSS)`;
const OUTAGE_MS = 1000;
/** Time for the holder (or sshd) to finish setting up the last sessions before its memory is read. */
const SETTLE_MS = 2000;
const OPEN_IN_FLIGHT = 16;

/** Prints a tick every 20 ms until its stdin ends. */
const TICKER = '(while :; do echo tick; sleep 0.02; done) & cat >/dev/null; kill $!';

interface Running {
  child: ChildProcess;
  /** performance.now() of the first stdout byte after `since`, once there is one. */
  firstByteAfter(since: number): Promise<number>;
  exited: Promise<void>;
}

function start(program: string, args: string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  const arrivals: number[] = [];
  let wake: (() => void) | undefined;
  let stderr = '';
  child.stdout!.on('data', () => {
    arrivals.push(performance.now());
    if (arrivals.length > 1000) arrivals.splice(0, 500);
    wake?.();
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  child.stdin!.on('error', () => {});
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    child,
    exited,
    async firstByteAfter(since) {
      for (const deadline = performance.now() + 30_000; ;) {
        const at = arrivals.find((time) => time >= since);
        if (at !== undefined) return at;
        if (child.exitCode !== null || performance.now() > deadline) throw new Error(`no output after ${since.toFixed(0)}: ${stderr.trim()}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 100);
          wake = () => (clearTimeout(timer), resolve());
        });
        wake = undefined;
      }
    },
  };
}

async function finish(running: Running): Promise<void> {
  running.child.stdin!.end();
  const timer = setTimeout(() => running.child.kill('SIGKILL'), 10_000);
  await running.exited;
  clearTimeout(timer);
}

/** `args` with the port after -p replaced by `port`. */
const throughPort = (args: string[], port: number) => args.map((arg, i) => (args[i - 1] === '-p' ? String(port) : arg));

/** One Tether resume: cut, wait, restore, time to the first resumed byte (ms). */
async function tetherResume(server: ServerProcess, proxy: LinkProxy): Promise<number> {
  const args = ['ssh', ...KEX, ...throughPort(server.sshArgs(), proxy.port), `${TEST_USER}@127.0.0.1`, TICKER];
  const running = start(process.execPath, [TETHER_BIN, ...args], process.env);
  try {
    await running.firstByteAfter(0);
    proxy.cut();
    await sleep(OUTAGE_MS);
    await proxy.restore();
    const back = performance.now();
    return (await running.firstByteAfter(back)) - back;
  } finally {
    await finish(running);
  }
}

/** The OpenSSH counterpart: after the same outage, a new `ssh` login through the proxy to its first byte (ms). */
async function opensshLogin(context: BenchContext, proxy: LinkProxy): Promise<number> {
  const command = context.peers.client('ssh', context.peers.sshd, [...KEX], 'echo tick');
  proxy.cut();
  await sleep(OUTAGE_MS);
  await proxy.restore();
  const back = performance.now();
  const running = start(command.program, throughPort(command.args, proxy.port), command.env);
  try {
    return (await running.firstByteAfter(back)) - back;
  } finally {
    await finish(running);
  }
}

/** Opens `count` held sessions with a PTY running `sleep`, `inFlight` at a time, then drops the connection. */
async function leaveDetached(server: ServerProcess, count: number): Promise<void> {
  // One connection for all of them (MaxSessions allows it), shared by the concurrent opens.
  const connection: Promise<SshClient> = connect({
    host: '127.0.0.1', port: server.port, username: TEST_USER, verifyHostKey: () => {},
    auth: { keys: () => identityFileKeys([server.clientKey], {}) },
  });
  const connectOnce = () => connection;
  const sessions: PersistentSession[] = [];
  for (let opened = 0; opened < count;) {
    const batch = Math.min(OPEN_IN_FLIGHT, count - opened);
    sessions.push(...await Promise.all(Array.from({ length: batch }, () => openPersistentSession({
      connect: connectOnce, command: 'exec sleep 3600', pty: { term: 'xterm', columns: 80, rows: 24 }, reconnect: { enabled: false },
    }))));
    opened += batch;
  }
  // The connection ends without closing the channels: every session stays held, detached (§8).
  (await connection).transport.fail(new Error('bench: dropping the connection'));
  await Promise.allSettled(sessions.map((session) => session.exit));
}

function holderPss(directory: string): number {
  return holderPids(directory).reduce((sum, pid) => sum + pssKiB(pid), 0);
}

async function tetherMemory(server: ServerProcess, directory: string, count: number): Promise<number> {
  try {
    await leaveDetached(server, 1);
    await sleep(SETTLE_MS);
    const baseline = holderPss(directory);
    if (baseline === 0) throw new Error('no session holder is running');
    await leaveDetached(server, count);
    await sleep(SETTLE_MS);
    return (holderPss(directory) - baseline) / count;
  } finally {
    await stopHolders(directory, 10_000);
  }
}

async function sshdMemory(context: BenchContext, count: number): Promise<number> {
  const { sshd } = context.peers;
  const baseline = sshd.connectionProcesses().reduce((sum, pid) => sum + pssKiB(pid), 0);
  const clients: Running[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const command = context.peers.client('ssh', sshd, [...KEX, '-tt'], 'echo up; exec sleep 3600');
      clients.push(start(command.program, command.args, command.env));
      if (clients.length % OPEN_IN_FLIGHT === 0) await Promise.all(clients.slice(-OPEN_IN_FLIGHT).map((c) => c.firstByteAfter(0)));
    }
    await Promise.all(clients.map((c) => c.firstByteAfter(0)));
    await sleep(SETTLE_MS);
    return (sshd.connectionProcesses().reduce((sum, pid) => sum + pssKiB(pid), 0) - baseline) / count;
  } finally {
    for (const running of clients) running.child.kill('SIGKILL');
    await Promise.all(clients.map((c) => c.exited));
  }
}

/**
 * The group: its own server and proxies, started for the run and stopped after it. Held-session counts stay
 * under the holder's 64 sessions per user (src/sessions/holder/holder-main.ts).
 */
export function resumeGroups(counts: readonly number[] = [20, 60]): BenchGroup[] {
  return [{
    rows: [rowKey(RESUME_NAME, TETHER_BOTH.label), ...counts.map((count) => rowKey(memoryName(count), MEMORY_SIDE))],
    async run(context: BenchContext): Promise<Row[]> {
      const directory = tempDir('tether-bench-held-');
      chmodSync(directory, 0o755);
      const server = await startServerProcess({
        config: [`PersistentSessionDirectory ${directory}`, 'MaxSessions 1000', 'MaxSessionsPerUser 2000', 'MaxStartups 2000'],
        nodeFlags: [],
      });
      const tetherProxy = await startLinkProxy('127.0.0.1', server.port);
      const sshdProxy = await startLinkProxy('127.0.0.1', context.peers.sshd.port);
      try {
        const variants = [{ label: 'ssh → sshd (new login)', kind: 'openssh' as const }, { label: 'tether → tether (resume)', kind: 'tether' as const }];
        const resume = await measureAlternating(context, RESUME_NAME, variants, context.quick ? 3 : 5, (variant) => (
          variant.kind === 'tether' ? tetherResume(server, tetherProxy) : opensshLogin(context, sshdProxy)
        ));
        const rows: Row[] = [{
          name: RESUME_NAME, pairing: TETHER_BOTH.label, unit: 'ms', openssh: summaryOf(resume, variants[0]!), tether: summaryOf(resume, variants[1]!),
          target: { op: '≤', value: 1000, of: 'tether' },
        }];
        for (const count of counts) {
          const memory = [{ label: 'sshd', kind: 'openssh' as const }, { label: 'session holder', kind: 'tether' as const }];
          const values = await measureAlternating(context, memoryName(count), memory, 1, (variant) => (
            variant.kind === 'tether' ? tetherMemory(server, directory, count) : sshdMemory(context, count)
          ));
          rows.push({ name: memoryName(count), pairing: MEMORY_SIDE, unit: 'KiB', openssh: summaryOf(values, memory[0]!), tether: summaryOf(values, memory[1]!) });
        }
        context.note('resume: the Tether client retries with backoff capped at 1 s, so its figure includes up to a second of waiting for the next attempt after the link returns.');
        return rows;
      } finally {
        await Promise.all([tetherProxy.close(), sshdProxy.close()]);
        await server.stop();
        await stopHolders(directory);
        rmSync(directory, { recursive: true, force: true });
      }
    },
  }];
}
