/**
 * ssh_config as users write it, end to end through `tether ssh`: a Host alias from ~/.ssh/config, -G output
 * identical to OpenSSH's, configuration errors naming file and line (exit 255), and ServerAliveInterval
 * detecting a server that stopped answering (a real sshd frozen with SIGSTOP).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { makeKey, publicKeyLine, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { startTether, runTether } from '../helpers/tether.ts';

/** Every process descended from `pid` (read from /proc), children first. */
function descendants(pid: number): number[] {
  const children = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
  return children.flatMap((child) => [child, ...descendants(child)]);
}

describe('tether ssh with ssh_config', () => {
  let sshd: RunningSshd;
  let home: string;
  let key: string;
  let config: string;

  before(async () => {
    home = tempDir();
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    key = makeKey(join(home, '.ssh'), 'id_clint', 'ed25519');
    sshd = await startSshd({ authorizedKeys: [publicKeyLine(key)], config: ['AcceptEnv TETHER_*'] });
    // ssh takes ~ and ~/.ssh/config from the passwd entry, not $HOME, so the test names its file with -F.
    config = join(home, '.ssh', 'config');
    writeFileSync(
      config,
      [
        '# The guide\'s example, pointed at the test server',
        'Host clint',
        '    HostName 127.0.0.1',
        `    Port ${sshd.port}`,
        '    User root',
        `    IdentityFile ${key}`,
        '    IdentitiesOnly yes',
        '    StrictHostKeyChecking accept-new',
        '',
        'Host *',
        '    ServerAliveInterval 1',
        '    ServerAliveCountMax 2',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
  });
  after(() => sshd.stop());

  test('a Host alias from ~/.ssh/config logs in', async () => {
    const result = await runTether(['ssh', '-F', config, 'clint', 'echo', 'via config'], { env: { HOME: home } });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'via config\n');
  });

  test('-G prints exactly what OpenSSH\'s ssh -G prints', async () => {
    const ours = await runTether(['ssh', '-F', config, '-G', '-p', '2200', '-o', 'Compression=yes', 'clint'], { env: { HOME: home } });
    const theirs = spawnSync('ssh', ['-F', config, '-G', '-p', '2200', '-o', 'Compression=yes', 'clint'], { env: { ...process.env, HOME: home }, encoding: 'utf8' });
    assert.equal(ours.status, 0, ours.stderr);
    assert.equal(ours.stdout.toString(), theirs.stdout);
  });

  test('SendEnv passes matching variables and SetEnv sets others (sshd AcceptEnv TETHER_*)', async () => {
    const result = await runTether(
      ['ssh', '-F', config, '-o', 'SendEnv=TETHER_SENT', '-o', 'SetEnv=TETHER_SET=fixed', 'clint', 'echo "$TETHER_SENT/$TETHER_SET/${TETHER_UNSENT:-unset}"'],
      { env: { HOME: home, TETHER_SENT: 'from-client', TETHER_UNSENT: 'kept-local' } },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'from-client/fixed/unset\n');
  });

  test('ConnectionAttempts retries a refused connection once a second', async () => {
    const started = performance.now();
    const result = await runTether(['ssh', '-F', 'none', '-o', 'ConnectionAttempts=3', '-p', '1', '127.0.0.1', 'true'], { env: { HOME: home } });
    const elapsed = (performance.now() - started) / 1000;
    assert.equal(result.status, 255);
    assert.match(result.stderr, /ssh: connect to host 127\.0\.0\.1 port 1: Connection refused/);
    assert.ok(elapsed >= 1.9 && elapsed < 5, `3 attempts took ${elapsed.toFixed(2)} s`);
  });

  test('a bad configuration line names file and line, exit 255', async () => {
    const bad = join(home, 'bad_config');
    writeFileSync(bad, 'Host x\n  Port 22\n  NoSuchOption yes\n');
    const result = await runTether(['ssh', '-F', bad, 'x', 'true'], { env: { HOME: home } });
    assert.equal(result.status, 255);
    assert.match(result.stderr, new RegExp(`${bad}: line 3: Bad configuration option: nosuchoption\r\n`));
    const theirs = spawnSync('ssh', ['-F', bad, 'x', 'true'], { encoding: 'utf8' });
    assert.equal(result.stderr, theirs.stderr);
  });

  test('ServerAliveInterval: a frozen server is detected within interval x count + 1 s', async () => {
    const child = startTether(['ssh', '-F', config, 'clint', 'echo started; exec sleep 60'], { env: { HOME: home } });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`session did not start: ${stderr}`)), 10_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('started')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    // Freeze the per-connection sshd processes (not the listener): the TCP connection stays up, silent.
    const frozen = descendants(sshd.pid);
    assert.ok(frozen.length > 0, 'no sshd session processes found');
    const stoppedAt = performance.now();
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    try {
      const watchdog = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(watchdog);
      const elapsed = (performance.now() - stoppedAt) / 1000;
      assert.equal(code, 255, stderr);
      assert.match(stderr, /Timeout, server 127\.0\.0\.1 not responding\./);
      // ServerAliveInterval 1 x ServerAliveCountMax 2 + 1 s.
      assert.ok(elapsed <= 1 * 2 + 1 + 0.3, `took ${elapsed.toFixed(2)} s`);
      assert.ok(elapsed >= 1.5, `gave up too early: ${elapsed.toFixed(2)} s`);
    } finally {
      for (const pid of frozen) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // Already gone.
        }
      }
    }
  });
});
