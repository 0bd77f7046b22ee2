/**
 * Shared helpers for the ssh_config corpus tests: materialise the fixtures in a temporary directory
 * (substituting @DIR@ so Include paths are absolute) and run the real `ssh -G` on them.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The corpus directory: beside the test sources, or (when run compiled from dist/) in the source tree. */
function findFixtures(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'test', 'fixtures', 'ssh-config');
    if (existsSync(candidate) && !dir.endsWith('/dist')) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const fromCwd = join(process.cwd(), 'test', 'fixtures', 'ssh-config');
  if (existsSync(fromCwd)) return fromCwd;
  throw new Error('test/fixtures/ssh-config not found');
}

export const FIXTURES = findFixtures();

export interface CorpusFile {
  name: string;
  path: string;
  destinations: string[];
}

/** Copies the corpus into a fresh temp dir with safe permissions and @DIR@ replaced. */
export function materialiseCorpus(): { dir: string; home: string; files: CorpusFile[] } {
  const root = mkdtempSync(join(tmpdir(), 'tether-'));
  const dir = join(root, 'corpus');
  const home = join(root, 'home');
  cpSync(FIXTURES, dir, { recursive: true });
  mkdirSync(home);
  fixTree(dir, dir);
  const files: CorpusFile[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (!name.endsWith('.conf')) continue;
    const m = /^# test-destinations: (.*)$/m.exec(readFileSync(path, 'utf8'));
    if (m === null) throw new Error(`${name}: no test-destinations line`);
    files.push({ name, path, destinations: m[1]!.trim().split(/\s+/) });
  }
  return { dir, home, files };
}

function fixTree(path: string, dir: string): void {
  if (statSync(path).isDirectory()) {
    chmodSync(path, 0o755);
    for (const entry of readdirSync(path)) fixTree(join(path, entry), dir);
    return;
  }
  writeFileSync(path, readFileSync(path, 'utf8').replaceAll('@DIR@', dir));
  chmodSync(path, 0o644);
}

export interface SshRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the stock `ssh -G` with HOME pointing at a scratch directory. */
export function sshDashG(args: string[], env: NodeJS.ProcessEnv): SshRun {
  const r = spawnSync('/usr/bin/ssh', ['-G', ...args], {
    env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.replaceAll('\r\n', '\n').replace(/^Pseudo-terminal will not be allocated.*\n/gm, '') };
}

/** keyword → lines, for key-by-key comparison. */
export function byKeyword(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const key = line.split(' ', 1)[0]!;
    const list = map.get(key) ?? [];
    list.push(line);
    map.set(key, list);
  }
  return map;
}
