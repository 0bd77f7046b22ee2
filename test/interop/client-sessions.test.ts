/**
 * `tether ssh` sessions against a real OpenSSH sshd: byte-exact 256 MiB streams both ways (also with
 * RekeyLimit 1M forcing hundreds of re-exchanges), exit statuses and signals, strict kex, and the
 * authentication methods.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ensureTestUser, makeKey, publicKeyLine, startSshd, tempDir, TEST_PASSWORD, TEST_USER, type RunningSshd } from '../helpers/openssh.ts';
import { runTether } from '../helpers/tether.ts';

const STREAM_BYTES = 256 * 1024 * 1024;

function sshArgs(home: string, port: number, key: string | undefined, extra: string[]): string[] {
  return [
    'ssh', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`,
    ...(key ? ['-i', key] : []), '-p', String(port), ...extra,
  ];
}

/** A file of random bytes made by dd, and its SHA-256. */
function randomFile(dir: string, bytes: number): { path: string; sha256: string } {
  const path = join(dir, 'random.bin');
  const made = spawnSync('dd', ['if=/dev/urandom', `of=${path}`, 'bs=1M', `count=${bytes / (1024 * 1024)}`, 'status=none']);
  assert.equal(made.status, 0);
  const sha256 = spawnSync('sha256sum', [path], { encoding: 'utf8' }).stdout.split(' ')[0]!;
  return { path, sha256 };
}

describe('tether ssh sessions with OpenSSH sshd', () => {
  let sshd: RunningSshd;
  let rekeyingSshd: RunningSshd;
  let home: string;
  let key: string;
  let data: { path: string; sha256: string };

  before(async () => {
    home = tempDir();
    key = makeKey(home, 'id_ed25519', 'ed25519');
    sshd = await startSshd({ authorizedKeys: [publicKeyLine(key)], config: ['LogLevel DEBUG2'] });
    rekeyingSshd = await startSshd({ authorizedKeys: [publicKeyLine(key)], config: ['RekeyLimit 1M', 'LogLevel DEBUG1'] });
    data = randomFile(home, STREAM_BYTES);
  });
  after(async () => {
    await sshd.stop();
    await rekeyingSshd.stop();
  });

  const run = (server: RunningSshd, extra: string[], input?: NodeJS.ReadableStream | string) =>
    runTether(sshArgs(home, server.port, key, extra), { env: { HOME: home }, input: input as never, timeoutMs: 240_000 });

  for (const [label, server] of [['plain', () => sshd], ['RekeyLimit 1M', () => rekeyingSshd]] as const) {
    test(`256 MiB server to client is byte-exact (${label})`, async () => {
      const hash = createHash('sha256');
      let bytes = 0;
      const result = await runTether(sshArgs(home, server().port, key, ['root@127.0.0.1', `cat ${data.path}`]), {
        env: { HOME: home },
        timeoutMs: 240_000,
        onStdout: (chunk) => {
          hash.update(chunk);
          bytes += chunk.length;
        },
      });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(bytes, STREAM_BYTES);
      assert.equal(hash.digest('hex'), data.sha256);
    });

    test(`256 MiB client to server is byte-exact (${label})`, async () => {
      const result = await run(server(), ['root@127.0.0.1', 'sha256sum'], createReadStream(data.path));
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.toString().split(' ')[0], data.sha256);
    });
  }

  test('RekeyLimit 1M made sshd re-exchange keys dozens of times mid-stream', () => {
    const rekeys = rekeyingSshd.log().split('\n').filter((line) => line.includes('SSH2_MSG_KEXINIT received')).length;
    assert.ok(rekeys > 100, `only ${rekeys} key exchanges seen in sshd's log`);
  });

  test('our own RekeyLimit (bytes) makes the client start re-exchanges mid-stream', async () => {
    const hash = createHash('sha256');
    const result = await runTether(sshArgs(home, sshd.port, key, ['-v', '-o', 'RekeyLimit=1M', 'root@127.0.0.1', `head -c ${32 * 1024 * 1024} ${data.path}`]), {
      env: { HOME: home },
      timeoutMs: 120_000,
      onStdout: (chunk) => hash.update(chunk),
    });
    assert.equal(result.status, 0, result.stderr);
    const expected = spawnSync('sh', ['-c', `head -c ${32 * 1024 * 1024} ${data.path} | sha256sum`], { encoding: 'utf8' }).stdout.split(' ')[0];
    assert.equal(hash.digest('hex'), expected);
    const started = result.stderr.split('\n').filter((line) => line.includes('rekeying after data limit')).length;
    assert.ok(started >= 16, `client started only ${started} re-exchanges`);
  });

  test('our own RekeyLimit (time) re-exchanges keys on an idle session', async () => {
    const result = await run(sshd, ['-v', '-o', 'RekeyLimit=default 1', 'root@127.0.0.1', 'sleep 3.5; echo still here']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'still here\n');
    const exchanges = result.stderr.split('\n').filter((line) => line.includes('SSH2_MSG_NEWKEYS received')).length;
    assert.ok(exchanges >= 3, `only ${exchanges} key exchanges in 3.5 s`);
  });

  for (const code of [0, 1, 42]) {
    test(`remote exit status ${code} is ours`, async () => {
      const result = await run(sshd, ['root@127.0.0.1', `exit ${code}`]);
      assert.equal(result.status, code, result.stderr);
    });
  }

  test('a remote command killed by a signal makes ssh exit 255', async () => {
    const result = await run(sshd, ['root@127.0.0.1', 'kill -TERM $$']);
    assert.equal(result.status, 255, result.stderr);
  });

  test('stdout and stderr stay separate', async () => {
    const result = await run(sshd, ['root@127.0.0.1', 'echo out; echo err >&2']);
    assert.equal(result.stdout.toString(), 'out\n');
    assert.match(result.stderr, /^err$/m);
  });

  test('strict kex (Terrapin countermeasure) is negotiated with sshd', async () => {
    const result = await run(sshd, ['-v', 'root@127.0.0.1', 'true']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /kex: strict KEX mode enabled/);
    // sshd's debug log shows both proposals carrying the strict-kex markers.
    const log = sshd.log();
    assert.match(log, /KEX algorithms: [^\n]*kex-strict-c-v00@openssh\.com/);
    assert.match(log, /KEX algorithms: [^\n]*kex-strict-s-v00@openssh\.com/);
  });

  test('a TTY is allocated with -tt and the remote side sees a terminal', async () => {
    const result = await run(sshd, ['-tt', 'root@127.0.0.1', 'tty']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout.toString(), /^\/dev\/pts\/\d+\r?$/m);
  });

  test('-t without a local terminal warns like ssh and runs without a TTY', async () => {
    const result = await run(sshd, ['-t', 'root@127.0.0.1', 'tty']);
    assert.match(result.stderr, /Pseudo-terminal will not be allocated because stdin is not a terminal\./);
    assert.equal(result.stdout.toString(), 'not a tty\n');
  });
});

describe('tether ssh authentication methods against OpenSSH sshd', () => {
  let sshd: RunningSshd;
  let home: string;
  let askpass: string;
  const keys: Record<string, string> = {};

  before(async () => {
    ensureTestUser();
    home = tempDir();
    keys.ed25519 = makeKey(home, 'id_ed25519', 'ed25519');
    keys.ecdsa = makeKey(home, 'id_ecdsa', 'ecdsa', 384);
    keys.rsa = makeKey(home, 'id_rsa', 'rsa', 3072);
    askpass = join(home, 'askpass.sh');
    writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' '${TEST_PASSWORD}'\n`);
    chmodSync(askpass, 0o755);
    sshd = await startSshd({
      authorizedKeys: Object.values(keys).map(publicKeyLine),
      overrides: ['UsePAM yes', 'KbdInteractiveAuthentication yes', 'PasswordAuthentication yes'],
    });
  });
  after(() => sshd.stop());

  for (const type of ['ed25519', 'ecdsa', 'rsa']) {
    test(`publickey with an ${type} key`, async () => {
      const result = await runTether(
        sshArgs(home, sshd.port, keys[type], ['-v', '-o', 'IdentitiesOnly=yes', '-o', 'PreferredAuthentications=publickey', 'root@127.0.0.1', 'echo in']),
        { env: { HOME: home } },
      );
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.toString(), 'in\n');
      assert.match(result.stderr, /Authentication succeeded \(publickey\)/);
    });
  }

  for (const method of ['password', 'keyboard-interactive']) {
    test(`${method} (answered through SSH_ASKPASS)`, async () => {
      const result = await runTether(
        sshArgs(home, sshd.port, undefined, ['-v', '-o', `PreferredAuthentications=${method}`, `${TEST_USER}@127.0.0.1`, 'id -un']),
        { env: { HOME: home, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: '' } },
      );
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.toString(), `${TEST_USER}\n`);
      assert.match(result.stderr, new RegExp(`Authentication succeeded \\(${method}\\)`));
    });
  }

  test('an encrypted key asks for its passphrase (SSH_ASKPASS) and logs in', async () => {
    const keyDir = tempDir();
    const encrypted = makeKey(keyDir, 'id_encrypted', 'ed25519', undefined, TEST_PASSWORD);
    const restricted = await startSshd({ authorizedKeys: [publicKeyLine(encrypted)] });
    try {
      const result = await runTether(
        sshArgs(home, restricted.port, encrypted, ['-v', '-o', 'IdentitiesOnly=yes', '-o', 'PreferredAuthentications=publickey', 'root@127.0.0.1', 'echo unlocked']),
        { env: { HOME: home, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force' } },
      );
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.toString(), 'unlocked\n');
    } finally {
      await restricted.stop();
    }
  });

  test('two factors (AuthenticationMethods publickey,password): partial success, then success', async () => {
    const twoFactor = await startSshd({
      authorizedKeys: [publicKeyLine(keys.ed25519!)],
      overrides: ['PasswordAuthentication yes', 'AuthenticationMethods publickey,password'],
    });
    try {
      const result = await runTether(
        sshArgs(home, twoFactor.port, keys.ed25519, ['-v', '-o', 'IdentitiesOnly=yes', `${TEST_USER}@127.0.0.1`, 'id -un']),
        { env: { HOME: home, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force' } },
      );
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.toString(), `${TEST_USER}\n`);
      assert.match(result.stderr, /Authenticated using "publickey" with partial success\./);
      assert.match(result.stderr, /Authentication succeeded \(password\)/);
    } finally {
      await twoFactor.stop();
    }
  });

  test('a wrong password ends in ssh\'s Permission denied and exit 255', async () => {
    const wrong = join(home, 'wrong.sh');
    writeFileSync(wrong, "#!/bin/sh\necho not-the-password\n");
    chmodSync(wrong, 0o755);
    const result = await runTether(
      sshArgs(home, sshd.port, undefined, ['-o', 'PreferredAuthentications=password', `${TEST_USER}@127.0.0.1`, 'true']),
      { env: { HOME: home, SSH_ASKPASS: wrong, SSH_ASKPASS_REQUIRE: 'force' }, timeoutMs: 60_000 },
    );
    assert.equal(result.status, 255);
    assert.match(result.stderr, new RegExp(`${TEST_USER}@127\\.0\\.0\\.1: Permission denied \\(`));
  });
});
