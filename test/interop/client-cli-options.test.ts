/**
 * `tether ssh` options that change what happens around a connection, against a real sshd on 127.0.0.1, each
 * as OpenSSH 9.2's ssh does it: -E (log to a file), LogLevel / -q (INFO messages), LocalCommand,
 * KnownHostsCommand, HostKeyAlias on a non-22 port, the banner on stderr, ProxyCommand over pipes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { makeKey, publicKeyLine, startSshd, tempDir, SSHD, type RunningSshd } from '../helpers/openssh.ts';
import { runTether } from '../helpers/tether.ts';

describe('tether ssh: logging, LocalCommand, KnownHostsCommand, HostKeyAlias', () => {
  let sshd: RunningSshd;
  let dir: string;
  let key: string;
  let hostKeyLine: string;
  let base: string[];
  let knownHosts: string;

  before(async () => {
    dir = tempDir('tether-cliopts-');
    key = makeKey(dir, 'id_ed25519', 'ed25519');
    writeFileSync(join(dir, 'banner'), 'Welcome\x1b[31m!\n');
    sshd = await startSshd({ authorizedKeys: [publicKeyLine(key)], hostKeyTypes: ['ed25519'], config: [`Banner ${join(dir, 'banner')}`] });
    hostKeyLine = readFileSync(`${sshd.hostKeys.ed25519}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
    knownHosts = join(dir, 'known_hosts');
    base = ['ssh', '-F', 'none', '-p', String(sshd.port), '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes'];
  });
  after(() => sshd.stop());

  const fresh = (name: string) => {
    const file = join(dir, name);
    writeFileSync(file, '');
    return file;
  };

  test('"Permanently added" is an INFO message: shown by default, not with -q or LogLevel ERROR', async () => {
    for (const [extra, shown] of [[[], true], [['-q'], false], [['-o', 'LogLevel=ERROR'], false], [['-o', 'LogLevel=QUIET'], false]] as const) {
      const file = fresh(`kh_${extra.join('')}`);
      const result = await runTether([...base, ...extra, '-o', `UserKnownHostsFile=${file}`, '-o', 'StrictHostKeyChecking=accept-new', '127.0.0.1', 'true']);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(/Warning: Permanently added '\[127\.0\.0\.1\]:\d+' \(ED25519\) to the list of known hosts\./.test(result.stderr), shown, `${extra.join(' ')}: ${result.stderr}`);
      assert.match(readFileSync(file, 'utf8'), /^\[127\.0\.0\.1\]:\d+ ssh-ed25519 /);
    }
  });

  test('-E appends log and debug output to a file created 0600; stderr keeps only the banner', async () => {
    const log = join(dir, 'ssh.log');
    writeFileSync(log, 'earlier line\n', { mode: 0o600 });
    const newLog = join(dir, 'new.log');
    for (const file of [log, newLog]) {
      const result = await runTether([...base, '-v', '-E', file, '-o', `UserKnownHostsFile=${fresh('kh_E')}`, '-o', 'StrictHostKeyChecking=accept-new', '127.0.0.1', 'true']);
      assert.equal(result.status, 0, result.stderr);
      // The banner is written by ssh itself, not logged; its escape character is made visible (fmprintf).
      assert.equal(result.stderr, 'Welcome\\033[31m!\n');
      const text = readFileSync(file, 'utf8');
      assert.match(text, /debug1: Authentication succeeded \(publickey\)\.\r\n/);
      assert.match(text, /Warning: Permanently added/);
    }
    assert.match(readFileSync(log, 'utf8'), /^earlier line\n/);
    assert.equal(statSync(newLog).mode & 0o777, 0o600);
    const quiet = await runTether([...base, '-q', '-o', `UserKnownHostsFile=${fresh('kh_q')}`, '-o', 'StrictHostKeyChecking=accept-new', '127.0.0.1', 'true']);
    assert.equal(quiet.stderr, '', 'no banner with -q');
  });

  test('LocalCommand runs with its tokens after the connection is up, only with PermitLocalCommand', async () => {
    const common = [...base, '-o', `UserKnownHostsFile=${fresh('kh_lc')}`, '-o', 'StrictHostKeyChecking=accept-new', '-o', 'LocalCommand=echo local %n %p %r %h %T; echo err >&2'];
    const ran = await runTether([...common, '-o', 'PermitLocalCommand=yes', '127.0.0.1', 'echo remote'], { env: { SHELL: '/bin/sh' } });
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(ran.stdout.toString(), `local 127.0.0.1 ${sshd.port} root 127.0.0.1 NONE\nremote\n`);
    assert.match(ran.stderr, /^err$/m);
    const refused = await runTether([...common, '127.0.0.1', 'echo remote']);
    assert.equal(refused.stdout.toString(), 'remote\n');
  });

  test('KnownHostsCommand output counts as known_hosts lines, with its tokens; a failing command is fatal', async () => {
    const script = join(dir, 'khc.sh');
    const args = join(dir, 'khc.args');
    writeFileSync(script, `#!/bin/sh\necho "$@" >> ${args}\necho "$2 ${hostKeyLine}"\n`);
    chmodSync(script, 0o755);
    const options = [...base, '-o', 'UserKnownHostsFile=none', '-o', 'GlobalKnownHostsFile=none', '-o', 'StrictHostKeyChecking=yes'];
    const ok = await runTether([...options, '-o', `KnownHostsCommand=${script} %I %H %t %K %u %p`, '127.0.0.1', 'true']);
    assert.equal(ok.status, 0, ok.stderr);
    const calls = readFileSync(args, 'utf8').trim().split('\n');
    // Once to order host key algorithms (no key yet), once to check the key the server sent.
    assert.equal(calls.length, 2, calls.join('\n'));
    assert.equal(calls[0], `ORDER 127.0.0.1 NONE NONE root ${sshd.port}`);
    assert.equal(calls[1], `HOSTNAME [127.0.0.1]:${sshd.port} ${hostKeyLine} root ${sshd.port}`);
    assert.doesNotMatch(ok.stderr, /Permanently added/);

    writeFileSync(script, `#!/bin/sh\necho "[127.0.0.1]:${sshd.port} ${hostKeyLine}"\nexit 1\n`);
    const failed = await runTether([...options, '-o', 'HostKeyAlgorithms=ssh-ed25519', '-o', `KnownHostsCommand=${script}`, '127.0.0.1', 'true']);
    assert.equal(failed.status, 255);
    assert.match(failed.stderr, /KnownHostsCommand failed/);

    writeFileSync(script, '#!/bin/sh\nexit 0\n');
    const unknown = await runTether([...options, '-o', `KnownHostsCommand=${script}`, '127.0.0.1', 'true']);
    assert.equal(unknown.status, 255);
    assert.match(unknown.stderr, /Host key verification failed\./);
  });

  test('HostKeyAlias on a non-22 port is looked up and recorded bare, without [alias]:port', async () => {
    writeFileSync(knownHosts, `gateway-alias ${hostKeyLine}\n`);
    const known = await runTether([...base, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'HostKeyAlias=gateway-alias', '-o', 'StrictHostKeyChecking=yes', '127.0.0.1', 'true']);
    assert.equal(known.status, 0, known.stderr);
    const recorded = fresh('kh_alias');
    const added = await runTether([...base, '-o', `UserKnownHostsFile=${recorded}`, '-o', 'HostKeyAlias=Other-Alias', '-o', 'StrictHostKeyChecking=accept-new', '127.0.0.1', 'true']);
    assert.equal(added.status, 0, added.stderr);
    assert.match(added.stderr, /Warning: Permanently added 'other-alias' \(ED25519\)/);
    assert.equal(readFileSync(recorded, 'utf8'), `other-alias ${hostKeyLine}\n`);
  });

  test('ProxyCommand runs over pipes, as sshd -i sees them with ssh', async () => {
    const proxy = `${SSHD} -i -f /dev/null -o HostKey=${sshd.hostKeys.ed25519} -o AuthorizedKeysFile=${sshd.authorizedKeysFile} -o StrictModes=no -o UsePAM=no`;
    const result = await runTether([...base, '-o', `ProxyCommand=${proxy}`, '-o', `UserKnownHostsFile=${fresh('kh_proxy')}`, '-o', 'StrictHostKeyChecking=accept-new', 'proxied', 'echo $SSH_CONNECTION']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'UNKNOWN 65535 UNKNOWN 65535\n');
  });
});
