/**
 * Starts real OpenSSH peers for interop tests: /usr/sbin/sshd on 127.0.0.1 with a temporary configuration,
 * host keys and authorized_keys, never the system's own sshd or files. Every process is stopped by PID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopProcess } from './processes.ts';

export const SSHD = '/usr/sbin/sshd';

/** A free TCP port on 127.0.0.1 (the kernel picks it; a tiny race with other binders is accepted). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export function tempDir(prefix = 'tether-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Runs ssh-keygen to make a key; returns the private key path. */
export function makeKey(dir: string, name: string, type: string, bits?: number, passphrase = ''): string {
  const path = join(dir, name);
  const args = ['-q', '-t', type, '-N', passphrase, '-C', `${name}@test`, '-f', path];
  if (bits) args.push('-b', String(bits));
  const result = spawnSync('ssh-keygen', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ssh-keygen failed: ${result.stderr}`);
  chmodSync(path, 0o600);
  return path;
}

export interface SshdOptions {
  /** Extra sshd_config lines, appended after the defaults (earlier values win in sshd, so these must not repeat defaults). */
  config?: string[];
  /** Lines placed before the defaults, so they take precedence. */
  overrides?: string[];
  hostKeyTypes?: Array<'ed25519' | 'ecdsa' | 'rsa' | 'ecdsa384' | 'ecdsa521'>;
  authorizedKeys?: string[];
  /** Variables added to sshd's environment (KRB5_CONFIG, KRB5_KTNAME for gssapi-with-mic). */
  env?: Record<string, string>;
}

export interface RunningSshd {
  port: number;
  dir: string;
  hostKeys: Record<string, string>;
  authorizedKeysFile: string;
  /** Everything sshd wrote to stderr so far (LogLevel DEBUG1). */
  log(): string;
  pid: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

const HOST_KEY_SPECS: Record<string, { type: string; bits?: number }> = {
  ed25519: { type: 'ed25519' },
  ecdsa: { type: 'ecdsa', bits: 256 },
  ecdsa384: { type: 'ecdsa', bits: 384 },
  ecdsa521: { type: 'ecdsa', bits: 521 },
  rsa: { type: 'rsa', bits: 3072 },
};

export async function startSshd(options: SshdOptions = {}): Promise<RunningSshd> {
  const dir = tempDir('tether-sshd-');
  chmodSync(dir, 0o755);
  // sshd's privilege-separation directory; the openssh-server package creates it at boot, containers may not.
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const hostKeys: Record<string, string> = {};
  for (const name of options.hostKeyTypes ?? ['ed25519', 'ecdsa', 'rsa']) {
    const spec = HOST_KEY_SPECS[name]!;
    hostKeys[name] = makeKey(dir, `host_${name}`, spec.type, spec.bits);
  }
  const authorizedKeysFile = join(dir, 'authorized_keys');
  // sshd reads authorized_keys as the user logging in, so non-root test users must be able to read it.
  writeFileSync(authorizedKeysFile, (options.authorizedKeys ?? []).join('\n') + '\n', { mode: 0o644 });
  chmodSync(authorizedKeysFile, 0o644);
  const configFile = join(dir, 'sshd_config');
  writeFileSync(
    configFile,
    [
      ...(options.overrides ?? []),
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      ...Object.values(hostKeys).map((key) => `HostKey ${key}`),
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeysFile}`,
      'StrictModes no',
      'PermitRootLogin yes',
      'UsePAM no',
      // Skip the login shell's slow start-up files in tests (see PERFORMANCE-NOTES.md).
      'SetEnv SHLVL=1',
      'PrintMotd no',
      'PrintLastLog no',
      ...(options.config ?? []),
      // After the callers' lines, so a test can ask for DEBUG1 (which sshd also echoes into sessions' stderr).
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  const child = spawn(SSHD, ['-D', '-e', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...options.env } });
  let log = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    log += text;
    if (log.length > 4 * 1024 * 1024) log = log.slice(-2 * 1024 * 1024);
  });
  const deadline = Date.now() + 10_000;
  while (!log.includes('Server listening on')) {
    if (child.exitCode !== null) throw new Error(`sshd exited at start: ${log}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sshd did not start within 10 s: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    port,
    dir,
    hostKeys,
    authorizedKeysFile,
    log: () => log,
    pid: child.pid!,
    process: child,
    async stop() {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function publicKeyLine(privateKeyPath: string): string {
  return readFileSync(`${privateKeyPath}.pub`, 'utf8').trim();
}

/** The test user with a password, for password and keyboard-interactive tests (created when missing; needs root). */
export const TEST_USER = 'tethertest';
export const TEST_PASSWORD = 'correct horse battery staple';

export function ensureTestUser(): void {
  const exists = spawnSync('id', [TEST_USER]).status === 0;
  if (!exists) {
    const created = spawnSync('useradd', ['--create-home', '--shell', '/bin/sh', TEST_USER], { encoding: 'utf8' });
    if (created.status !== 0) throw new Error(`cannot create test user (run the tests as root): ${created.stderr}`);
  }
  const set = spawnSync('chpasswd', [], { input: `${TEST_USER}:${TEST_PASSWORD}\n`, encoding: 'utf8' });
  if (set.status !== 0) throw new Error(`cannot set the test user's password: ${set.stderr}`);
}

let testUserReady = false;

/**
 * ensureTestUser once per process. Test files run in parallel and chpasswd takes a lock on /etc/shadow, so
 * a busy lock is retried rather than failing the test.
 */
export async function ensureTestUserOnce(): Promise<void> {
  for (let attempt = 1; !testUserReady; attempt++) {
    try {
      ensureTestUser();
      testUserReady = true;
    } catch (error) {
      if (attempt >= 10) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

/** What sshdWithClientKey sets up: the client's home (for known_hosts), its key, and the server. */
export interface SshdWithClientKey {
  home: string;
  key: string;
  sshd: RunningSshd;
}

/** A stock sshd on 127.0.0.1 that lets root in with a fresh ed25519 key made in a new client home. */
export async function sshdWithClientKey(options: Omit<SshdOptions, 'authorizedKeys'> = {}): Promise<SshdWithClientKey> {
  const home = tempDir();
  const key = makeKey(home, 'id_ed25519', 'ed25519');
  const sshd = await startSshd({ ...options, authorizedKeys: [publicKeyLine(key)] });
  return { home, key, sshd };
}
