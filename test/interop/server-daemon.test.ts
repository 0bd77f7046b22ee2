/**
 * `tether server` as a drop-in sshd process, driven by the stock OpenSSH client: daemon mode (the parent
 * exits once the detached child listens; PidFile written, removed on SIGTERM; SIGHUP rereads the
 * configuration; a bind failure reaches the caller), -d (one connection, foreground, no pid file), -E (log
 * appended, file 0600), and -i on stdin/stdout as OpenSSH's regress suite runs it (`ProxyCommand sshd -i`):
 * the identification answers, SSH_CONNECTION "UNKNOWN 65535 UNKNOWN 65535", "user:style" logins, a Banner
 * sent whole.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, type Server as TcpServer } from 'node:net';
import { type as osType } from 'node:os';
import { join } from 'node:path';
import { ensureTestUser, freePort, makeKey, publicKeyLine, tempDir, TEST_USER } from '../helpers/openssh.ts';
import { generateHostKeyFile, run, tether, tetherMainModule, type RunResult } from './server-harness.ts';
import { isAlive } from '../helpers/processes.ts';
import { stopHolders } from '../helpers/session-holders.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The session id of a process (/proc/PID/stat, field 6). */
function sessionOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('tether server as an sshd process', () => {
  let dir: string;
  let port: number;
  let clientKey: string;
  let config: string;
  let wrapper: string;
  const pidFile = () => join(dir, 'server.pid');
  const logFile = () => join(dir, 'server.log');
  const started: number[] = [];

  const configText = (extra: string[] = []) =>
    [
      ...extra,
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'ssh_host_ed25519_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      `PidFile ${pidFile()}`,
      'LogLevel VERBOSE',
      '',
    ].join('\n');

  /** ssh with the test key; `options` come first, so they win (for ssh the first value counts). */
  const ssh = (options: string[], destination: string, command: string): Promise<RunResult> =>
    run('/usr/bin/ssh', [
      ...options,
      '-F', 'none',
      '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
      '-o', 'StrictHostKeyChecking=no',
      '-o', 'LogLevel=ERROR',
      '-o', 'BatchMode=yes',
      '-o', 'ConnectTimeout=10',
      '-i', clientKey,
      '-o', 'IdentitiesOnly=yes',
      '-p', String(port),
      destination,
      command,
    ], { home: dir });

  before(async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        ensureTestUser();
        break;
      } catch (error) {
        if (attempt >= 10) throw error;
        await sleep(200 * attempt);
      }
    }
    dir = tempDir('tether-sshd-process-');
    chmodSync(dir, 0o755);
    port = await freePort();
    clientKey = makeKey(dir, 'id_ed25519', 'ed25519');
    writeFileSync(join(dir, 'authorized_keys'), `${publicKeyLine(clientKey)}\n`, { mode: 0o644 });
    generateHostKeyFile(join(dir, 'ssh_host_ed25519_key'), 'ed25519');
    config = join(dir, 'sshd_config');
    writeFileSync(config, configText());
    // What regress's test-exec.sh puts in ProxyCommand: the server program, arguments passed through.
    wrapper = join(dir, 'tether-server');
    const program = `import(${JSON.stringify(tetherMainModule())}).then((m) => m.runAsProgram(["server", ...process.argv.slice(1)]))`;
    writeFileSync(wrapper, `#!/bin/sh\nexec '${process.execPath}' --input-type=module -e '${program}' -- "$@"\n`, { mode: 0o755 });
  });

  after(() => {
    for (const pid of started) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('detaches: the parent exits 0 once the child listens, the child leads its own session and wrote PidFile', async () => {
    const result = await tether(['server', '-f', config, '-E', logFile()], { timeoutMs: 30_000 });
    assert.equal(result.status, 0, result.stderr);
    const text = readFileSync(pidFile(), 'utf8');
    assert.match(text, /^\d+\n$/);
    const pid = Number(text);
    started.push(pid);
    assert.ok(isAlive(pid), 'the daemon runs on after its parent exited');
    assert.equal(sessionOf(pid), pid, 'setsid: the daemon leads a new session');
    assert.equal(statSync(logFile()).mode & 0o777, 0o600, '-E creates the log 0600');
    const login = await ssh([], `${TEST_USER}@127.0.0.1`, 'echo daemon-ok');
    assert.equal(login.stdout.toString(), 'daemon-ok\n', login.stderr);
    assert.match(readFileSync(logFile(), 'utf8'), /^Accepted publickey for tethertest from 127\.0\.0\.1 port \d+ ssh2: ED25519 SHA256:/m);
  });

  it('SIGHUP rereads the configuration in the same process; new connections see it', async () => {
    const pid = Number(readFileSync(pidFile(), 'utf8'));
    const banner = join(dir, 'banner');
    writeFileSync(banner, 'reloaded banner\n');
    writeFileSync(config, configText([`Banner ${banner}`]));
    process.kill(pid, 'SIGHUP');
    await until('the restart', () => readFileSync(logFile(), 'utf8').includes('Received SIGHUP; restarting.') && existsSync(pidFile()));
    await until('listening again', () => readFileSync(logFile(), 'utf8').split('Received SIGHUP')[1]!.includes('Server listening'));
    const login = await ssh(['-o', 'LogLevel=INFO'], `${TEST_USER}@127.0.0.1`, 'true');
    assert.equal(login.status, 0, login.stderr);
    assert.match(login.stderr, /^reloaded banner$/m);
    assert.equal(Number(readFileSync(pidFile(), 'utf8')), pid);
  });

  it('SIGTERM ends it: "Received signal 15; terminating.", the pid file removed', async () => {
    const pid = Number(readFileSync(pidFile(), 'utf8'));
    process.kill(pid, 'SIGTERM');
    await until('the daemon to exit', () => !isAlive(pid));
    assert.equal(existsSync(pidFile()), false);
    assert.match(readFileSync(logFile(), 'utf8'), /^Received signal 15; terminating\.$/m);
    writeFileSync(config, configText());
  });

  it('a daemon that cannot bind reports it to the caller and exits 255', async () => {
    const blocker: TcpServer = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', () => resolve()));
    try {
      const result = await tether(['server', '-f', config], { timeoutMs: 30_000 });
      assert.equal(result.status, 255);
      assert.match(result.stderr, new RegExp(`Bind to port ${port} on 127\\.0\\.0\\.1 failed: Address already in use\\.`));
      assert.equal(existsSync(pidFile()), false);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('-d serves one connection in the foreground, without a pid file, then exits', async () => {
    const log = join(dir, 'debug.log');
    const server = tether(['server', '-d', '-f', config, '-E', log], { timeoutMs: 30_000 });
    await until('the debug server to listen', () => existsSync(log) && readFileSync(log, 'utf8').includes('Server listening'), 20_000);
    const login = await ssh([], `${TEST_USER}@127.0.0.1`, 'echo debug-ok');
    assert.equal(login.stdout.toString(), 'debug-ok\n', login.stderr);
    const result = await server;
    assert.equal(result.status, 0, result.stderr);
    assert.equal(existsSync(pidFile()), false);
    assert.match(readFileSync(log, 'utf8'), /^debug1: /m);
  });

  it('-i answers on stdout: its identification, then sshd\'s line for a bad or old client, exit 255', async () => {
    // DebianBanner (default yes) adds the OS as the identification's comment, as Debian adds its package version.
    const ident = `SSH-2.0-Tether_0.1 ${osType()}\r\n`;
    const empty = await run(wrapper, ['-i', '-f', config], { input: '' });
    assert.equal(empty.stdout.toString(), ident);
    assert.equal(empty.status, 255);
    const old = await run(wrapper, ['-i', '-f', config], { input: 'SSH-1.5-HALLO\n' });
    assert.equal(old.stdout.toString(), `${ident}Protocol major versions differ.\r\n`);
    assert.equal(old.status, 255);
    const http = await run(wrapper, ['-i', '-f', config], { input: 'GET / HTTP/1.0\r\n\r\n' });
    assert.equal(http.stdout.toString(), `${ident}Invalid SSH identification string.\r\n`);
    assert.equal(http.stderr, '', 'no log on stderr without -e');
    const plain = await run(wrapper, ['-i', '-f', config, '-o', 'DebianBanner=no', '-o', 'VersionAddendum=edge 7'], { input: '' });
    assert.equal(plain.stdout.toString(), 'SSH-2.0-Tether_0.1 edge 7\r\n', 'DebianBanner no: no comment, then VersionAddendum');
  });

  it('-i behind ProxyCommand: UNKNOWN endpoints, user:style, a 100000-byte Banner whole', async () => {
    const banner = join(dir, 'big-banner');
    const line = `${'0123456789'.repeat(9)}abcdefghi\n`;
    writeFileSync(banner, line.repeat(1000));
    const proxyConfig = join(dir, 'sshd_proxy');
    writeFileSync(proxyConfig, configText([`Banner ${banner}`]));
    const log = join(dir, 'proxy.log');
    const proxy = ['-o', `ProxyCommand=${wrapper} -i -f ${proxyConfig} -E${log}`];
    const plain = await ssh(proxy, `${TEST_USER}@somehost`, 'echo $SSH_CONNECTION');
    assert.equal(plain.stdout.toString(), 'UNKNOWN 65535 UNKNOWN 65535\n', plain.stderr);
    const styled = await ssh([...proxy, '-o', 'LogLevel=INFO'], `${TEST_USER}:style@somehost`, 'whoami');
    assert.equal(styled.status, 0, styled.stderr);
    assert.equal(styled.stdout.toString(), `${TEST_USER}\n`);
    assert.ok(styled.stderr.startsWith(line.repeat(1000)), 'the banner arrives whole');
    assert.match(readFileSync(log, 'utf8'), /^Accepted publickey for tethertest from UNKNOWN port 65535 ssh2: ED25519 /m);
    assert.equal(statSync(log).mode & 0o777, 0o600);
  });

  it('-i behind ProxyCommand: a terminal session whose exit was delivered is not left held', async () => {
    // Every terminal session is held (PersistentSessions yes). The process of -i ends with its connection,
    // and once told the holder nothing about the delivered exit, which left the session held for hours.
    const sessions = join(dir, 'held');
    const proxyConfig = join(dir, 'sshd_held');
    writeFileSync(proxyConfig, configText([`PersistentSessionDirectory ${sessions}`]));
    const proxy = ['-o', `ProxyCommand=${wrapper} -i -f ${proxyConfig}`];
    try {
      for (let i = 0; i < 2; i++) {
        const done = await ssh([...proxy, '-tt'], `${TEST_USER}@somehost`, 'exit 3');
        assert.equal(done.status, 3, done.stderr);
      }
      const listed = await ssh(proxy, `${TEST_USER}@somehost`, 'sessions');
      assert.equal(listed.status, 0, listed.stderr);
      const [header, ...rows] = listed.stdout.toString().trimEnd().split('\n');
      assert.match(header!, /^NAME +COMMAND +AGE +IDLE +ATTACHED$/);
      assert.deepEqual(rows, [], 'no session left held');
    } finally {
      await stopHolders(sessions);
    }
  });
});
