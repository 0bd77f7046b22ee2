/**
 * `tether add` (run as a process) against OpenSSH's ssh-agent: adding keys with and without passphrases
 * (stdin and SSH_ASKPASS), listing byte-for-byte like ssh-add, removing, locking, lifetimes, and the
 * one-line errors for a wrong passphrase, a truncated key, an unknown key type and a loose key file.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeKey, publicKeyLine, tempDir } from '../helpers/openssh.ts';
import { run, runTether, startAgentProcess, waitFor, type RunningAgent } from '../unit/agent/run-tether.ts';

const SSH_ADD = '/usr/bin/ssh-add';
const SSH_AGENT = '/usr/bin/ssh-agent';

let dir: string;
let agent: RunningAgent;
let env: NodeJS.ProcessEnv;

before(async () => {
  dir = tempDir('tether-add-');
  const socket = join(dir, 'openssh-agent.sock');
  agent = await startAgentProcess(SSH_AGENT, ['-D', '-a', socket], socket);
  env = { PATH: process.env.PATH, HOME: dir, SSH_AUTH_SOCK: socket };
});
after(async () => {
  await agent?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function clearAgent(): Promise<void> {
  const result = await run(SSH_ADD, ['-D'], { env });
  assert.equal(result.status, 0, result.stderr);
}

describe('tether add against OpenSSH ssh-agent', () => {
  it('adds keys; -l is byte-equal to ssh-add -l (SHA256 and MD5), -L to ssh-add -L', async () => {
    await clearAgent();
    const keys = [makeKey(dir, 'k_ed25519', 'ed25519'), makeKey(dir, 'k_ecdsa', 'ecdsa', 521), makeKey(dir, 'k_rsa', 'rsa', 2048)];
    for (const key of keys) {
      const added = await runTether(['add', key], { env });
      assert.equal(added.status, 0, added.stderr);
      assert.equal(added.stderr, `Identity added: ${key} (${key.split('/').pop()}@test)\n`);
    }
    for (const flags of [['-l'], ['-E', 'md5', '-l'], ['-L']]) {
      const ours = await runTether(['add', ...flags], { env });
      const theirs = await run(SSH_ADD, flags, { env });
      assert.equal(ours.status, 0, ours.stderr);
      assert.equal(ours.stdout, theirs.stdout, `tether add ${flags.join(' ')}`);
    }
    assert.equal((await runTether(['add', '-L'], { env })).stdout, keys.map((key) => `${publicKeyLine(key)}\n`).join(''));
  });

  it('asks for the passphrase on stdin, retrying after a wrong one', async () => {
    await clearAgent();
    const key = makeKey(dir, 'k_secret', 'ed25519', undefined, 'open sesame');
    const added = await runTether(['add', key], { env, input: 'wrong\nopen sesame\n' });
    assert.equal(added.status, 0, added.stderr);
    assert.equal(added.stderr, `Enter passphrase for ${key}: Bad passphrase, try again for ${key}: Identity added: ${key} (k_secret@test)\n`);
    assert.equal((await run(SSH_ADD, ['-L'], { env })).stdout, `${publicKeyLine(key)}\n`);
  });

  it('asks through SSH_ASKPASS when SSH_ASKPASS_REQUIRE=force', async () => {
    await clearAgent();
    const key = makeKey(dir, 'k_askpass', 'ecdsa', 256, 'via askpass');
    const askpass = join(dir, 'askpass.sh');
    writeFileSync(askpass, `#!/bin/sh\necho "$1" >> ${join(dir, 'askpass.log')}\necho 'via askpass'\n`, { mode: 0o700 });
    const added = await runTether(['add', key], { env: { ...env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force' } });
    assert.equal(added.status, 0, added.stderr);
    assert.equal(readFileSync(join(dir, 'askpass.log'), 'utf8'), `Enter passphrase for ${key}: \n`);
    assert.equal((await run(SSH_ADD, ['-L'], { env })).stdout, `${publicKeyLine(key)}\n`);
  });

  it('loads the default keys from ~/.ssh when given no file', async () => {
    await clearAgent();
    const sshDir = join(dir, '.ssh');
    mkdirSync(sshDir, { recursive: true });
    const ed = makeKey(sshDir, 'id_ed25519', 'ed25519');
    const rsa = makeKey(sshDir, 'id_rsa', 'rsa', 2048);
    const added = await runTether(['add'], { env });
    assert.equal(added.status, 0, added.stderr);
    assert.equal(added.stderr, `Identity added: ${rsa} (id_rsa@test)\nIdentity added: ${ed} (id_ed25519@test)\n`);
    rmSync(sshDir, { recursive: true });
  });

  it('-d removes one key, -D all of them', async () => {
    await clearAgent();
    const a = makeKey(dir, 'k_del_a', 'ed25519');
    const b = makeKey(dir, 'k_del_b', 'ed25519');
    for (const key of [a, b]) assert.equal((await run(SSH_ADD, [key], { env })).status, 0);
    const removed = await runTether(['add', '-d', a], { env });
    assert.equal(removed.status, 0, removed.stderr);
    assert.equal(removed.stderr, `Identity removed: ${a} ED25519 (k_del_a@test)\n`);
    assert.equal((await run(SSH_ADD, ['-L'], { env })).stdout, `${publicKeyLine(b)}\n`);
    const again = await runTether(['add', '-d', a], { env });
    assert.equal(again.status, 1);
    assert.equal(again.stderr, `Could not remove identity "${a}": agent refused operation\n`);
    const all = await runTether(['add', '-D'], { env });
    assert.equal(all.status, 0);
    assert.equal(all.stderr, 'All identities removed.\n');
    const none = await runTether(['add', '-l'], { env });
    assert.equal(none.status, 1);
    assert.equal(none.stdout, 'The agent has no identities.\n');
  });

  it('-x locks and -X unlocks, with ssh-add prompts and messages', async () => {
    await clearAgent();
    assert.equal((await run(SSH_ADD, [makeKey(dir, 'k_lock', 'ed25519')], { env })).status, 0);
    const mismatch = await runTether(['add', '-x'], { env, input: 'one\ntwo\n' });
    assert.equal(mismatch.status, 1);
    assert.equal(mismatch.stderr, 'Enter lock password: Again: Passwords do not match.\n');
    const locked = await runTether(['add', '-x'], { env, input: 'lockpw\nlockpw\n' });
    assert.equal(locked.status, 0);
    assert.equal(locked.stderr, 'Enter lock password: Again: Agent locked.\n');
    assert.equal((await run(SSH_ADD, ['-l'], { env })).stdout, 'The agent has no identities.\n');
    const wrong = await runTether(['add', '-X'], { env, input: 'nope\n' });
    assert.equal(wrong.status, 1);
    assert.equal(wrong.stderr, 'Enter lock password: Failed to unlock agent: agent refused operation\n');
    const unlocked = await runTether(['add', '-X'], { env, input: 'lockpw\n' });
    assert.equal(unlocked.status, 0);
    assert.equal(unlocked.stderr, 'Enter lock password: Agent unlocked.\n');
    assert.equal((await run(SSH_ADD, ['-l'], { env })).status, 0);
  });

  it('-t 1: the key disappears after about a second', async () => {
    await clearAgent();
    const key = makeKey(dir, 'k_life', 'ed25519');
    const added = await runTether(['add', '-t', '1', key], { env });
    assert.equal(added.status, 0, added.stderr);
    assert.equal(added.stderr, `Identity added: ${key} (k_life@test)\nLifetime set to 1 seconds\n`);
    assert.equal((await run(SSH_ADD, ['-l'], { env })).status, 0);
    await waitFor(async () => (await run(SSH_ADD, ['-l'], { env })).status === 1, 3000, 'the key to expire');
  });

  it('without an agent: exit 2 with ssh-add messages', async () => {
    const unset = await runTether(['add', '-l'], { env: { PATH: process.env.PATH, HOME: dir } });
    assert.equal(unset.status, 2);
    assert.equal(unset.stderr, 'Could not open a connection to your authentication agent.\n');
    const missing = await runTether(['add', '-l'], { env: { ...env, SSH_AUTH_SOCK: join(dir, 'no-such-socket') } });
    assert.equal(missing.status, 2);
    assert.equal(missing.stderr, 'Error connecting to agent: No such file or directory\n');
  });
});

describe('tether add errors: one line, non-zero exit', () => {
  it('a wrong passphrase', async () => {
    const key = makeKey(dir, 'k_wrongpass', 'ed25519', undefined, 'right');
    const result = await runTether(['add', key], { env, input: 'wrong\n' });
    assert.equal(result.status, 1);
    const lines = result.stderr.split('\n').filter((line) => line !== '');
    assert.equal(lines.at(-1), `Error loading key "${key}": incorrect passphrase supplied to decrypt private key`);
  });

  it('a truncated key file', async () => {
    const key = makeKey(dir, 'k_truncated', 'ed25519');
    const truncated = join(dir, 'truncated_key');
    writeFileSync(truncated, readFileSync(key).subarray(0, 200), { mode: 0o600 });
    const result = await runTether(['add', truncated], { env });
    assert.equal(result.status, 1);
    assert.match(result.stderr, new RegExp(`^Error loading key "${truncated}": invalid format[^\\n]*\\n$`));
  });

  it('a key of an unknown type', async () => {
    // A valid openssh-key-v1 file whose key type (in the public and private sections) is renamed.
    const key = makeKey(dir, 'k_unknown', 'ed25519');
    const text = readFileSync(key, 'utf8');
    const body = Buffer.from(text.split('\n').filter((line) => !line.startsWith('-----')).join(''), 'base64');
    const renamed = Buffer.from(body.toString('latin1').replaceAll('ssh-ed25519', 'ssh-foo2551'), 'latin1');
    const unknown = join(dir, 'unknown_type_key');
    const wrapped = renamed.toString('base64').match(/.{1,70}/g)!.join('\n');
    writeFileSync(unknown, `-----BEGIN OPENSSH PRIVATE KEY-----\n${wrapped}\n-----END OPENSSH PRIVATE KEY-----\n`, { mode: 0o600 });
    const result = await runTether(['add', unknown], { env });
    assert.equal(result.status, 1);
    assert.equal(result.stderr, `Error loading key "${unknown}": unknown or unsupported key type\n`);
    assert.equal(result.stderr, (await run(SSH_ADD, [unknown], { env })).stderr, 'same words as ssh-add');
  });

  it('a private key file readable by others is refused with OpenSSH warning', async () => {
    const key = makeKey(dir, 'k_loose', 'ed25519');
    const loose = join(dir, 'loose_key');
    copyFileSync(key, loose);
    chmodSync(loose, 0o644);
    const result = await runTether(['add', loose], { env });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /WARNING: UNPROTECTED PRIVATE KEY FILE!/);
    assert.match(result.stderr, new RegExp(`Permissions 0644 for '${loose}' are too open\\.`));
    const openssh = await run(SSH_ADD, [loose], { env });
    assert.equal(result.stderr, openssh.stderr);
  });

  it('a missing file', async () => {
    const result = await runTether(['add', join(dir, 'absent')], { env });
    assert.equal(result.status, 1);
    assert.equal(result.stderr, `${join(dir, 'absent')}: No such file or directory\n`);
  });
});
