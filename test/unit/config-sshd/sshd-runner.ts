// Runs the real OpenSSH sshd in test mode (-T / -t): it parses a configuration and prints or checks it, and
// never opens a socket. Every run gets a temporary directory with a fresh host key.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SSHD = '/usr/sbin/sshd';

export interface SshdResult {
  status: number | null;
  stdout: string;
  /** stderr lines without carriage returns, minus host-key load notices that do not concern the config. */
  stderrLines: string[];
}

/** A scratch directory holding a host key; remove() deletes it. */
export interface Scratch {
  dir: string;
  hostKey: string;
  remove(): void;
}

export function makeScratch(): Scratch {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install openssh-server`);
  // sshd -T/-t refuses to run without its privilege separation directory.
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), 'tether-'));
  const hostKey = join(dir, 'host_ed25519_key');
  const kg = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey], { timeout: 20_000 });
  if (kg.status !== 0) throw new Error(`ssh-keygen failed: ${kg.stderr}`);
  return { dir, hostKey, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `sshd -T -f file -h hostKey [-C spec] [extra...]` (or -t with mode 't'). */
export function runSshd(file: string, hostKey: string, opts: { spec?: string; mode?: 'T' | 't'; extra?: string[] } = {}): SshdResult {
  const args = [`-${opts.mode ?? 'T'}`, '-f', file, '-h', hostKey, ...(opts.spec ? ['-C', opts.spec] : []), ...(opts.extra ?? [])];
  const r = spawnSync(SSHD, args, { encoding: 'utf8', timeout: 20_000 });
  const stderrLines = r.stderr
    .replace(/\r/g, '')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('Unable to load host key'));
  return { status: r.status, stdout: r.stdout, stderrLines };
}

/** The repository's test/fixtures/sshd-config, found from this file whether run from test/ or dist/test/. */
export function fixturesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'test', 'fixtures', 'sshd-config');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  // Built copies may live outside the repository; the test runner starts in the repository root.
  const fromCwd = join(process.cwd(), 'test', 'fixtures', 'sshd-config');
  if (existsSync(fromCwd)) return fromCwd;
  throw new Error('test/fixtures/sshd-config not found');
}

/** Copies the fixtures into `dest`, replacing @DIR@ with `dest` in every .conf file. */
export function installFixtures(dest: string): void {
  cpSync(fixturesDir(), dest, { recursive: true });
  const walk = (d: string): void => {
    for (const entry of readdirSync(d)) {
      const p = join(d, entry);
      if (statSync(p).isDirectory()) walk(p);
      else if (entry.endsWith('.conf')) writeFileSync(p, readFileSync(p, 'utf8').replaceAll('@DIR@', dest));
    }
  };
  walk(dest);
}

/** The "# spec: ..." connection specifications a fixture asks to be compared. */
export function fixtureSpecs(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('# spec: '))
    .map((l) => l.slice('# spec: '.length).trim());
}
