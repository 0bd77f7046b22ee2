/**
 * Compression across key re-exchange (RFC 4253 §6.2; OpenSSH PROTOCOL §2.2): every NEWKEYS starts fresh
 * zlib streams, as OpenSSH's packet.c does. 64 MiB each way with `-C -o RekeyLimit=1M` (and RekeyLimit 1M on
 * the server), byte-exact by SHA-256, for stock ssh → tether server, tether ssh → stock sshd, and tether at
 * both ends. The data is base64 text, so zlib really works on it (random bytes barely exercise the dictionary).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, createReadStream, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyAuth, sh, startTestServer, TEST_USER, type TestServer } from './server-harness.ts';
import { sshdWithClientKey, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { runTether } from '../helpers/tether.ts';

const SIZE = 64 * 1024 * 1024;
const REKEY = ['-C', '-o', 'RekeyLimit=1M'];

const quote = (args: string[]) => args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');

/** Key exchanges seen in an `ssh -v` log. */
const kexInits = (log: string) => log.split('\n').filter((line) => line.includes('SSH2_MSG_KEXINIT received')).length;

let dataDir: string;
let dataFile: string;
let dataHash: string;

before(() => {
  dataDir = tempDir('tether-compress-');
  // The tether server's sessions run as the unprivileged test user, who must read the data.
  chmodSync(dataDir, 0o755);
  dataFile = join(dataDir, 'data.txt');
  const data = Buffer.from(randomBytes((SIZE / 4) * 3).toString('base64'));
  assert.equal(data.length, SIZE);
  writeFileSync(dataFile, data, { mode: 0o644 });
  dataHash = createHash('sha256').update(data).digest('hex');
});
after(() => rmSync(dataDir, { recursive: true, force: true }));

describe('stock ssh -C against tether server, rekeying every 1 MiB', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ config: ['RekeyLimit 1M'] });
  });
  after(() => server.stop());

  const home = () => join(server.dir, 'home');

  test('64 MiB upload is byte-exact', async () => {
    const args = [...keyAuth(server), ...REKEY, '-v', `${TEST_USER}@127.0.0.1`, 'sha256sum'];
    const result = await sh(`ssh ${quote(args)} < ${dataFile}`, { timeoutMs: 180_000, home: home() });
    assert.equal(result.status, 0, result.stderr.slice(-4000));
    assert.equal(result.stdout.toString().split(' ')[0], dataHash);
    assert.match(result.stderr, /compression: zlib@openssh\.com/);
    assert.ok(kexInits(result.stderr) > 16, `only ${kexInits(result.stderr)} key exchanges`);
  });

  test('64 MiB download is byte-exact', async () => {
    const args = [...keyAuth(server), ...REKEY, '-v', `${TEST_USER}@127.0.0.1`, `cat ${dataFile}`];
    const result = await sh(`ssh ${quote(args)} | sha256sum`, { timeoutMs: 180_000, home: home() });
    assert.equal(result.status, 0, result.stderr.slice(-4000));
    assert.equal(result.stdout.toString().split(' ')[0], dataHash);
    assert.ok(kexInits(result.stderr) > 16, `only ${kexInits(result.stderr)} key exchanges`);
  });
});

describe('tether ssh -C against stock sshd, rekeying every 1 MiB', () => {
  let sshd: RunningSshd;
  let home: string;
  let key: string;
  before(async () => {
    ({ home, key, sshd } = await sshdWithClientKey({ config: ['RekeyLimit 1M', 'Compression yes'] }));
  });
  after(() => sshd.stop());

  const sshArgs = (extra: string[]) => [
    'ssh', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`,
    '-i', key, '-p', String(sshd.port), ...REKEY, '-v', 'root@127.0.0.1', ...extra,
  ];

  test('64 MiB upload is byte-exact', async () => {
    const result = await runTether(sshArgs(['sha256sum']), { env: { HOME: home }, input: createReadStream(dataFile), timeoutMs: 180_000 });
    assert.equal(result.status, 0, result.stderr.slice(-4000));
    assert.equal(result.stdout.toString().split(' ')[0], dataHash);
    assert.match(result.stderr, /compression: zlib@openssh\.com/);
    assert.ok(kexInits(result.stderr) > 16, `only ${kexInits(result.stderr)} key exchanges`);
  });

  test('64 MiB download is byte-exact', async () => {
    const hash = createHash('sha256');
    let bytes = 0;
    const result = await runTether(sshArgs([`cat ${dataFile}`]), {
      env: { HOME: home },
      timeoutMs: 180_000,
      onStdout: (chunk) => {
        hash.update(chunk);
        bytes += chunk.length;
      },
    });
    assert.equal(result.status, 0, result.stderr.slice(-4000));
    assert.equal(bytes, SIZE);
    assert.equal(hash.digest('hex'), dataHash);
    assert.ok(kexInits(result.stderr) > 16, `only ${kexInits(result.stderr)} key exchanges`);
  });
});

describe('tether ssh -C against tether server, rekeying every 1 MiB', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ config: ['RekeyLimit 1M'] });
  });
  after(() => server.stop());

  const ssh = (extra: string[], options: { input?: NodeJS.ReadableStream; onStdout?: (chunk: Buffer) => void } = {}) =>
    runTether(['ssh', ...keyAuth(server), ...REKEY, '-v', `${TEST_USER}@127.0.0.1`, ...extra], {
      env: { HOME: join(server.dir, 'home') },
      input: options.input as never,
      onStdout: options.onStdout,
      timeoutMs: 180_000,
    });

  test('64 MiB upload is byte-exact', async () => {
    const result = await ssh(['sha256sum'], { input: createReadStream(dataFile) });
    assert.equal(result.status, 0, result.stderr.slice(-4000));
    assert.equal(result.stdout.toString().split(' ')[0], dataHash);
    assert.ok(kexInits(result.stderr) > 16, `only ${kexInits(result.stderr)} key exchanges`);
  });

  test('64 MiB download is byte-exact', async () => {
    const hash = createHash('sha256');
    const result = await ssh([`cat ${dataFile}`], { onStdout: (chunk) => hash.update(chunk) });
    assert.equal(result.status, 0, result.stderr.slice(-4000));
    assert.equal(hash.digest('hex'), dataHash);
  });
});
