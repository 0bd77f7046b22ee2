/**
 * File transfer (issue 20, "Speed"): one large file (the bulk size) downloaded and uploaded with `sftp -b`
 * (`get` / `put`) and with `scp` (its default SFTP protocol), in the three pairings against stock sftp/scp →
 * sshd: tether sftp/scp → sshd (OpenSSH's sftp-server), stock sftp/scp → tether server (internal-sftp), tether
 * → tether. Both ends are on this machine, so "remote" and "local" are two paths in one directory; the
 * destination's size is checked after every run and the file removed before the next, so each run writes a
 * new file. The whole client process is timed (start-up and authentication included, as for OpenSSH's).
 */
import { spawnSync } from 'node:child_process';
import { chownSync, closeSync, mkdtempSync, openSync, rmSync, statfsSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TETHER_BIN } from '../test/helpers/tether.ts';
import { measureAlternating, rate, sizeLabel, summaryOf, type BenchContext, type BenchGroup } from './context.ts';
import { ClientRunError, MiB, runClient, transferTimeoutMs, type Command } from './measure.ts';
import { serverOf, type BenchServer, type Pairing, type Peers } from './peers.ts';
import { rowKey, type Row } from './report.ts';

type Tool = 'sftp' | 'scp';
type Direction = 'download' | 'upload';

interface FileCase {
  tool: Tool;
  direction: Direction;
  name: string;
}

const CASES: FileCase[] = [
  { tool: 'sftp', direction: 'download', name: 'file download, sftp -b get' },
  { tool: 'sftp', direction: 'upload', name: 'file upload, sftp -b put' },
  { tool: 'scp', direction: 'download', name: 'file download, scp (SFTP protocol)' },
  { tool: 'scp', direction: 'upload', name: 'file upload, scp (SFTP protocol)' },
];

function pairingsFor(tool: Tool): { baseline: Pairing; compared: Pairing[] } {
  return {
    baseline: { id: 'baseline', client: 'ssh', server: 'sshd', label: `${tool} → sshd` },
    compared: [
      { id: 'client', client: 'tether', server: 'sshd', label: `tether ${tool} → sshd` },
      { id: 'server', client: 'ssh', server: 'tether', label: `${tool} → tether server` },
      { id: 'both', client: 'tether', server: 'tether', label: 'tether → tether' },
    ],
  };
}

/** The directory both ends use, owned by the test user (the servers write as that user), and its source file. */
interface Workspace {
  directory: string;
  source: string;
}

/** Writes `bytes` of a repeating non-zero pattern (not a sparse file: every block is on the filesystem). */
function writeSource(path: string, bytes: number): void {
  const block = Buffer.alloc(MiB);
  for (let index = 0; index < block.length; index++) block[index] = (index * 31 + 7) & 0xff;
  const fd = openSync(path, 'w', 0o644);
  try {
    for (let written = 0; written < bytes; ) written += writeSync(fd, block, 0, Math.min(block.length, bytes - written));
  } finally {
    closeSync(fd);
  }
}

let workspace: Workspace | undefined;

/** statfs(2) f_type of a tmpfs (linux/magic.h). */
const TMPFS_MAGIC = 0x01021994;

/**
 * Where the files go: a tmpfs with room for the source and a copy, else /tmp. On a disk, the page cache's
 * writeback of each 1 GiB copy lands at random in later runs and moved these rows ±25% run to run, more than
 * the difference between the programs; in memory the rows measure what the programs do.
 */
function filesParent(bytes: number): string {
  try {
    const shm = statfsSync('/dev/shm');
    if (shm.type === TMPFS_MAGIC && shm.bavail * shm.bsize > 3 * bytes) return '/dev/shm';
  } catch {
    // No /dev/shm here.
  }
  return '/tmp';
}

function workspaceFor(peers: Peers, bytes: number, context: BenchContext): Workspace {
  if (workspace && statSync(workspace.source, { throwIfNoEntry: false })?.size === bytes) return workspace;
  const directory = mkdtempSync(join(filesParent(bytes), 'tether-bench-sftp-'));
  const id = spawnSync('id', ['-u', peers.user], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', peers.user], { encoding: 'utf8' });
  chownSync(directory, Number(id.stdout), Number(gid.stdout));
  const source = join(directory, 'source');
  writeSource(source, bytes);
  const filesystem = spawnSync('df', ['--output=fstype,source', directory], { encoding: 'utf8' }).stdout.trim().split('\n').at(-1)?.trim() ?? 'unknown';
  context.note(`file transfers: ${sizeLabel(bytes)} files in ${directory} (${filesystem}${/tmpfs/.test(filesystem) ? '' : ': a disk, through the page cache'}), both ends on this machine; both sides pay alike.`);
  workspace = { directory, source };
  // Made once for all four groups; removed when the run ends, however it ends (run.ts exits on SIGINT too).
  process.once('exit', () => rmSync(directory, { recursive: true, force: true }));
  return workspace;
}

const COMMON_OPTIONS = (peers: Peers) => [
  '-F', 'none',
  '-o', `UserKnownHostsFile=${join(peers.home, 'known_hosts')}`,
  '-o', 'StrictHostKeyChecking=no',
  '-o', 'LogLevel=ERROR',
  '-o', 'BatchMode=yes',
  '-o', 'IdentitiesOnly=yes',
  '-o', 'KexAlgorithms=curve25519-sha256',
  '-o', 'Ciphers=chacha20-poly1305@openssh.com',
  '-i', peers.key,
];

/** The command for one run; sftp reads its `get`/`put` from a batch file written beside the files. */
function transferCommand(peers: Peers, pairing: Pairing, fileCase: FileCase, files: Workspace, destination: string): Command {
  const server: BenchServer = serverOf(peers, pairing);
  const remote = `${peers.user}@127.0.0.1`;
  const [from, to] = fileCase.direction === 'download' ? [`${remote}:${files.source}`, destination] : [files.source, `${remote}:${destination}`];
  let args: string[];
  if (fileCase.tool === 'sftp') {
    const batch = join(files.directory, `batch-${fileCase.direction}`);
    writeFileSync(batch, fileCase.direction === 'download' ? `get ${files.source} ${destination}\n` : `put ${files.source} ${destination}\n`);
    args = ['-q', ...COMMON_OPTIONS(peers), '-P', String(server.port), '-b', batch, remote];
  } else {
    args = ['-q', ...COMMON_OPTIONS(peers), '-P', String(server.port), from, to];
  }
  const env = { ...process.env, HOME: peers.home };
  return pairing.client === 'ssh'
    ? { program: `/usr/bin/${fileCase.tool}`, args, env }
    : { program: process.execPath, args: [TETHER_BIN, fileCase.tool, ...args], env };
}

function fileGroup(fileCase: FileCase): BenchGroup {
  const { baseline, compared } = pairingsFor(fileCase.tool);
  const variants = [baseline, ...compared];
  return {
    rows: compared.map((pairing) => rowKey(fileCase.name, pairing.label)),
    async run(context: BenchContext): Promise<Row[]> {
      const { peers, bytes } = context;
      const files = workspaceFor(peers, bytes, context);
      const destination = join(files.directory, `copy-${fileCase.tool}-${fileCase.direction}`);
      const title = `${fileCase.name} ${sizeLabel(bytes)}`;
      const values = await measureAlternating(context, title, variants, context.rounds, async (pairing) => {
        rmSync(destination, { force: true });
        try {
          const run = await runClient(transferCommand(peers, pairing, fileCase, files, destination), { timeoutMs: transferTimeoutMs(bytes) });
          const arrived = statSync(destination, { throwIfNoEntry: false })?.size;
          if (arrived !== bytes) throw new ClientRunError(`${title} (${pairing.label}): ${arrived ?? 'no'} bytes arrived, ${bytes} sent`);
          return rate(bytes, run.seconds);
        } finally {
          rmSync(destination, { force: true });
        }
      });
      return compared.map((pairing) => ({
        name: fileCase.name,
        pairing: pairing.label,
        unit: 'MB/s',
        openssh: summaryOf(values, baseline),
        tether: summaryOf(values, pairing),
        target: { op: '≥', value: 1.0, of: 'ratio' },
      }));
    },
  };
}

export const SFTP_GROUPS: BenchGroup[] = CASES.map(fileGroup);
