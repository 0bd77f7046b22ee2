/**
 * Runs `tether server` in-process on 127.0.0.1 with a temporary configuration, host keys and authorized_keys,
 * and drives stock OpenSSH clients against it. Every client runs asynchronously (the server shares this
 * event loop), is bounded by a timeout and is stopped by PID.
 */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSshdConfigText } from '../../src/config/sshd/index.ts';
import { createLogger, createServer, generateHostKeyFile, loadHostKeys, type Server } from '../../src/server/index.ts';
import { generatePrivateKey, serializePrivateKey } from '../../src/keys/index.ts';
import { SystemPasswordVerifier } from '../../src/auth/server-password-system.ts';
import type { PasswordVerifier } from '../../src/auth/server-password.ts';
import { ensureTestUserOnce, freePort, makeKey, publicKeyLine, tempDir, TEST_PASSWORD, TEST_USER } from '../helpers/openssh.ts';

export { TEST_PASSWORD, TEST_USER };

export interface StartOptions {
  /** sshd_config lines placed first (first value wins, so they override the harness defaults). */
  config?: string[];
  /** Lines appended at the end (Match blocks). */
  tail?: string[];
  /** Extra ECDSA host key sizes (384, 521) besides ed25519, ecdsa-256 and rsa-3072. */
  extraEcdsa?: boolean;
  /** Also listen on these loopback addresses (same port). */
  extraAddresses?: string[];
  passwords?: PasswordVerifier;
  /** The log's level (default VERBOSE); DEBUG adds the transport's kex lines. */
  logLevel?: 'VERBOSE' | 'DEBUG';
}

export interface TestServer {
  server: Server;
  port: number;
  dir: string;
  /** The client key authorized for TEST_USER (ed25519, no passphrase). */
  clientKey: string;
  authorizedKeys: string;
  logLines: string[];
  /** Resolves once a log line matching `pattern` appeared (bounded). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Common ssh arguments: no config, temporary known_hosts, this server's port. */
  sshBase(): string[];
  stop(): Promise<void>;
}

export async function startTestServer(options: StartOptions = {}): Promise<TestServer> {
  await ensureTestUserOnce();
  const dir = tempDir('tether-server-');
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'home'), { mode: 0o700 });
  const port = await freePort();
  const clientKey = makeKey(dir, 'id_ed25519', 'ed25519');
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, `${publicKeyLine(clientKey)}\n`, { mode: 0o644 });
  const hostKeyPaths = ['ssh_host_ed25519_key', 'ssh_host_ecdsa_key', 'ssh_host_rsa_key'].map((name) => join(dir, name));
  if (options.extraEcdsa) {
    for (const bits of [384, 521]) {
      const path = join(dir, `ssh_host_ecdsa${bits}_key`);
      writeFileSync(path, serializePrivateKey(generatePrivateKey('ecdsa', bits)), { mode: 0o600 });
      hostKeyPaths.push(path);
    }
  }
  const text = [
    ...(options.config ?? []),
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    ...hostKeyPaths.map((path) => `HostKey ${path}`),
    `AuthorizedKeysFile ${authorizedKeys}`,
    'StrictModes no',
    'PrintMotd no',
    'LogLevel VERBOSE',
    'SetEnv SHLVL=1',
    // Sessions end with their connection here, as in sshd; tests of held sessions say PersistentSessions yes
    // (first value wins) with a PersistentSessionDirectory of their own.
    'PersistentSessions no',
    ...(options.tail ?? []),
    '',
  ].join('\n');
  const configFile = join(dir, 'sshd_config');
  writeFileSync(configFile, text);
  const config = parseSshdConfigText(text, configFile);
  const hostKeys = loadHostKeys(config.settings.hostKeys, { generateMissing: true });
  const logLines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const logger = createLogger({
    level: options.logLevel ?? 'VERBOSE',
    destination: (line) => {
      logLines.push(line);
      for (const waiter of waiters.splice(0)) {
        if (waiter.pattern.test(line)) waiter.resolve(line);
        else waiters.push(waiter);
      }
    },
  });
  const server = createServer({
    config,
    hostKeys: hostKeys.map((entry) => entry.key),
    logger,
    passwords: options.passwords ?? new SystemPasswordVerifier(),
    listen: ['127.0.0.1', ...(options.extraAddresses ?? [])].map((address) => ({ address, port })),
    // Never the system's /etc/ssh/sshrc, /etc/motd or login records: files in `dir`, absent until a test writes them.
    paths: {
      systemRc: join(dir, 'sshrc'),
      motd: join(dir, 'motd'),
      lastlog: join(dir, 'lastlog'),
      wtmp: join(dir, 'wtmp'),
      utmp: join(dir, 'utmp'),
    },
  });
  await server.listen();
  return {
    server,
    port,
    dir,
    clientKey,
    authorizedKeys,
    logLines,
    waitForLog(pattern, timeoutMs = 10_000) {
      const found = logLines.find((line) => pattern.test(line));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no log line matching ${pattern} in:\n${logLines.join('\n')}`)), timeoutMs);
        waiters.push({ pattern, resolve: (line) => (clearTimeout(timer), resolve(line)) });
      });
    },
    sshBase() {
      return [
        '-F', 'none',
        '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
        '-o', 'StrictHostKeyChecking=no',
        '-o', 'LogLevel=ERROR',
        '-o', 'ConnectTimeout=10',
        '-p', String(port),
      ];
    },
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** ssh arguments that log in as TEST_USER with the harness's key only. */
export function keyAuth(test: TestServer): string[] {
  return [...test.sshBase(), '-i', test.clientKey, '-o', 'IdentitiesOnly=yes', '-o', 'PreferredAuthentications=publickey', '-o', 'BatchMode=yes'];
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a program asynchronously with a deadline; HOME points into the test directory. */
export function run(
  file: string,
  args: string[],
  options: { input?: Buffer | string; timeoutMs?: number; home?: string; env?: Record<string, string>; onSpawn?: (pid: number) => void } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...(options.home ? { HOME: options.home } : {}), ...(options.env ?? {}) },
    });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.on('error', () => {});
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout: Buffer.concat(stdout), stderr: stderr.replace(/\r\n/g, '\n') });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/** ssh against the test server. */
export function ssh(test: TestServer, args: string[], options: { input?: Buffer | string; timeoutMs?: number; onSpawn?: (pid: number) => void } = {}): Promise<RunResult> {
  return run('/usr/bin/ssh', args, { ...options, home: join(test.dir, 'home') });
}

/** ssh through sshpass with the test user's password (answers "password:" and "Password: " prompts). */
export function sshWithPassword(test: TestServer, args: string[], password = TEST_PASSWORD, options: { timeoutMs?: number } = {}): Promise<RunResult> {
  return run('/usr/bin/sshpass', ['-p', password, '/usr/bin/ssh', ...args], { ...options, home: join(test.dir, 'home') });
}

/** Runs a shell pipeline (for large transfers through files and pipes). */
export function sh(script: string, options: { timeoutMs?: number; home?: string } = {}): Promise<RunResult> {
  return run('/bin/sh', ['-c', script], options);
}

export function execFileText(file: string, args: string[], timeoutMs = 10_000): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The tether CLI entry (src/cli/main.ts when run from source, dist/src/cli/main.js when built). */
export function tetherMainModule(): string {
  const here = fileURLToPath(import.meta.url);
  const extension = here.endsWith('.ts') ? 'ts' : 'js';
  const path = join(dirname(here), '..', '..', 'src', 'cli', `main.${extension}`);
  if (!existsSync(path)) throw new Error(`tether CLI not found at ${path}`);
  return path;
}

/** Runs `tether <args>` as a child process. */
export function tether(args: string[], options: { timeoutMs?: number; env?: Record<string, string>; input?: string } = {}): Promise<RunResult> {
  const program = `import(${JSON.stringify(tetherMainModule())}).then((m) => m.main(${JSON.stringify(args)})).then((code) => { process.exitCode = code; })`;
  return run(process.execPath, ['--input-type=module', '-e', program], options);
}

export { generateHostKeyFile };
