/**
 * Tether against SSH implementations that share no code with OpenSSH or with us — Dropbear (dbclient and the
 * dropbear server), Paramiko and AsyncSSH, all from Debian packages — with zlib@openssh.com compression and
 * a key re-exchange every MiB. Each moves a file both ways, byte-exact by SHA-256. AsyncSSH keeps sending
 * channel data during a re-exchange (between its KEXINIT and NEWKEYS), which OpenSSH tolerates and so must we.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, createReadStream, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { sh, startTestServer, TEST_PASSWORD, TEST_USER, type TestServer } from './server-harness.ts';
import { runPythonClient } from './python-peers.ts';
import { freePort } from '../helpers/openssh.ts';
import { stopProcess } from '../helpers/processes.ts';
import { runTether } from '../helpers/tether.ts';

const SIZE = 16 * 1024 * 1024;

let server: TestServer;
let dataFile: string;
let dataHash: string;

/** Key exchanges the tether server has completed so far, by its debug log. */
const serverKexCount = () => server.logLines.filter((line) => line.includes('SSH2_MSG_NEWKEYS received')).length;

before(async () => {
  server = await startTestServer({ config: ['RekeyLimit 1M', 'PasswordAuthentication yes'], logLevel: 'DEBUG' });
  // base64 text compresses, so zlib's dictionary really carries state from packet to packet.
  const data = Buffer.from(randomBytes((SIZE / 4) * 3).toString('base64'));
  dataFile = join(server.dir, 'data.txt');
  writeFileSync(dataFile, data, { mode: 0o644 });
  dataHash = createHash('sha256').update(data).digest('hex');
});
after(() => server.stop());

describe('clients of other implementations against tether server (RekeyLimit 1M, compression)', () => {
  for (const which of ['paramiko', 'asyncssh'] as const) {
    test(`${which}: upload and download are byte-exact`, async () => {
      const before = serverKexCount();
      const { report } = await runPythonClient(which, server.port, TEST_USER, server.clientKey, dataFile);
      assert.equal(report.up, dataHash);
      assert.equal(report.down, dataHash);
      assert.equal(report.bytes, SIZE);
      assert.equal(report.status, 0);
      assert.deepEqual(report.compression, ['zlib@openssh.com', 'zlib@openssh.com']);
      assert.ok(serverKexCount() - before > 8, `only ${serverKexCount() - before} key exchanges`);
    });
  }

  test('dbclient: upload and download are byte-exact', async () => {
    // dbclient reads its own key format only.
    const key = join(server.dir, 'id_dropbear');
    const converted = spawnSync('dropbearconvert', ['openssh', 'dropbear', server.clientKey, key], { encoding: 'utf8' });
    assert.equal(converted.status, 0, converted.stderr);
    const home = join(server.dir, 'home');
    // -y -y: no host key check (dbclient keeps its own known_hosts under $HOME/.ssh otherwise).
    const dbclient = ['dbclient', '-y', '-y', '-i', key, '-p', String(server.port), `${TEST_USER}@127.0.0.1`];
    const before = serverKexCount();
    const up = await sh(`${dbclient.join(' ')} sha256sum < ${dataFile}`, { home, timeoutMs: 120_000 });
    assert.equal(up.status, 0, up.stderr);
    assert.equal(up.stdout.toString().split(' ')[0], dataHash);
    const down = await sh(`${dbclient.join(' ')} cat ${dataFile} | sha256sum`, { home, timeoutMs: 120_000 });
    assert.equal(down.status, 0, down.stderr);
    assert.equal(down.stdout.toString().split(' ')[0], dataHash);
    assert.ok(server.logLines.some((line) => line.includes('compression: zlib@openssh.com')));
    assert.ok(serverKexCount() - before > 8, `only ${serverKexCount() - before} key exchanges`);
  });
});

describe('tether ssh -C -o RekeyLimit=1M against the dropbear server', () => {
  let dropbear: ChildProcess;
  let port: number;
  let askpass: string;
  let dropbearLog = '';

  before(async () => {
    const hostKey = join(server.dir, 'dropbear_ed25519_host_key');
    const made = spawnSync('dropbearkey', ['-t', 'ed25519', '-f', hostKey], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    port = await freePort();
    // -F -E: foreground, log to stderr; -m: no motd. Dropbear reads users' own authorized_keys only, so the
    // test user logs in with its password (askpass) rather than by key.
    dropbear = spawn('/usr/sbin/dropbear', ['-F', '-E', '-m', '-r', hostKey, '-P', join(server.dir, 'dropbear.pid'), '-p', `127.0.0.1:${port}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    dropbear.stderr!.on('data', (chunk: Buffer) => (dropbearLog = (dropbearLog + chunk.toString()).slice(-64 * 1024)));
    await waitForPort(port, () => dropbearLog);
    askpass = join(server.dir, 'askpass.sh');
    writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' '${TEST_PASSWORD}'\n`);
    chmodSync(askpass, 0o755);
  });
  after(() => stopProcess(dropbear));

  const ssh = (command: string, options: { input?: NodeJS.ReadableStream; onStdout?: (chunk: Buffer) => void } = {}) =>
    runTether(
      [
        'ssh', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(server.dir, 'dropbear_known_hosts')}`,
        '-o', 'PreferredAuthentications=password', '-C', '-o', 'RekeyLimit=1M', '-v', '-p', String(port), `${TEST_USER}@127.0.0.1`, command,
      ],
      { env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force' }, input: options.input as never, onStdout: options.onStdout, timeoutMs: 120_000 },
    );
  const exchanges = (log: string) => log.split('\n').filter((line) => line.includes('SSH2_MSG_NEWKEYS received')).length;

  test('upload is byte-exact', async () => {
    const result = await ssh('sha256sum', { input: createReadStream(dataFile) });
    assert.equal(result.status, 0, `${result.stderr.slice(-4000)}\n${dropbearLog}`);
    assert.equal(result.stdout.toString().split(' ')[0], dataHash);
    assert.match(result.stderr, /compression: zlib@openssh\.com/);
    assert.ok(exchanges(result.stderr) > 8, `only ${exchanges(result.stderr)} key exchanges`);
  });

  test('download is byte-exact', async () => {
    const hash = createHash('sha256');
    const result = await ssh(`cat ${dataFile}`, { onStdout: (chunk) => hash.update(chunk) });
    assert.equal(result.status, 0, `${result.stderr.slice(-4000)}\n${dropbearLog}`);
    assert.equal(hash.digest('hex'), dataHash);
    assert.ok(exchanges(result.stderr) > 8, `only ${exchanges(result.stderr)} key exchanges`);
  });
});

/** Resolves once something accepts connections on 127.0.0.1:`port` (bounded: 10 s). */
async function waitForPort(port: number, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`dropbear did not listen on ${port}: ${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
