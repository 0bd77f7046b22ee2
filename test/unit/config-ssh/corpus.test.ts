/**
 * The corpus test: every fixture under test/fixtures/ssh-config/ is resolved for each of its destinations
 * (listed in its `# test-destinations:` line) by our library and by the stock `ssh -G -F <file> <dest>`,
 * and the outputs are compared keyword by keyword, then as whole texts. The parser is compared on everything
 * ssh accepts, so values Tether refuses to act on are allowed here (allowUnimplemented); the refusals are
 * tested in unimplemented.test.ts.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatDashG, resolveSshConfigSync, type SshFlags } from '../../../src/config/ssh/index.ts';
import { byKeyword, materialiseCorpus, sshDashG } from './corpus.ts';

const corpus = materialiseCorpus();
const env: NodeJS.ProcessEnv = { ...process.env, HOME: corpus.home, SHELL: '/bin/sh' };
after(() => rmSync(dirname(corpus.dir), { recursive: true, force: true }));

function assertSameAsSsh(args: string[], ours: string): void {
  const real = sshDashG(args, env);
  assert.equal(real.status, 0, `ssh -G ${args.join(' ')} failed: ${real.stderr}`);
  const theirs = byKeyword(real.stdout);
  const mine = byKeyword(ours);
  for (const [key, lines] of theirs) assert.deepEqual(mine.get(key), lines, `keyword ${key} for ssh -G ${args.join(' ')}`);
  for (const key of mine.keys()) assert.ok(theirs.has(key), `we print ${key}, ssh does not`);
  assert.equal(ours, real.stdout);
}

describe('ssh_config corpus matches ssh -G', () => {
  it('has at least 40 realistic configuration files', () => {
    assert.ok(corpus.files.length >= 40, `only ${corpus.files.length} fixtures`);
  });
  for (const file of corpus.files) {
    for (const dest of file.destinations) {
      it(`${file.name} → ${dest}`, () => {
        const ours = formatDashG(resolveSshConfigSync({ host: dest, configFile: file.path, env, allowUnimplemented: true }));
        assertSameAsSsh(['-F', file.path, dest], ours);
      });
    }
  }
});

describe('command-line options and flags match ssh -G', () => {
  const laptop = corpus.files.find((f) => f.name.startsWith('49-'))!.path;
  const cases: { args: string[]; host: string; user?: string; port?: number; options?: string[]; flags?: SshFlags }[] = [
    { args: ['-o', 'User=cli', '-o', 'Port=2200'], host: 'github.com', options: ['User=cli', 'Port=2200'] },
    { args: ['-o', 'ProxyJump=a,b@c:22', '-o', 'IdentityFile ~/.ssh/extra'], host: 'work-vpn', options: ['ProxyJump=a,b@c:22', 'IdentityFile ~/.ssh/extra'] },
    { args: ['-o', 'Ciphers=-chacha*', '-o', 'SendEnv=-LC_*'], host: 'x', options: ['Ciphers=-chacha*', 'SendEnv=-LC_*'] },
    { args: ['-l', 'bob', '-p', '2022'], host: 'gitlab.com', user: 'bob', port: 2022 },
    { args: ['-A', '-C', '-T', '-q'], host: 'h', flags: { forwardAgent: true, compression: true, disableTTY: true, quiet: true } },
    { args: ['-t', '-t', '-vv'], host: 'h', flags: { forceTTY: 2, verbose: 2 } },
    { args: ['-N', '-f', '-L', '8080:localhost:80', '-D', '1080', '-R', '9000'], host: 'h', flags: { noSession: true, forkAfterAuthentication: true, localForwards: ['8080:localhost:80'], dynamicForwards: ['1080'], remoteForwards: ['9000'] } },
    { args: ['-W', 'target:22'], host: 'work-vpn', flags: { stdioForward: 'target:22' } },
    { args: ['-J', 'ops@jump:2222'], host: 'h', flags: { proxyJump: 'ops@jump:2222' } },
    { args: ['-4', '-g', '-X', '-e', '^B', '-M', '-M', '-S', '/tmp/ctl', '-w', '2:3'], host: 'h', flags: { addressFamily: 'inet', gatewayPorts: true, forwardX11: true, escapeChar: '^B', controlMaster: 2, controlPath: '/tmp/ctl', tunnelDevice: '2:3' } },
    { args: ['-c', 'aes256-ctr', '-m', 'hmac-sha2-256', '-b', '127.0.0.1', '-n'], host: 'h', flags: { ciphers: 'aes256-ctr', macs: 'hmac-sha2-256', bindAddress: '127.0.0.1', stdinNull: true } },
  ];
  for (const c of cases) {
    it(`ssh -G ${c.args.join(' ')} ${c.host}`, () => {
      const ours = formatDashG(resolveSshConfigSync({
        host: c.host, user: c.user, port: c.port, commandLineOptions: c.options, flags: c.flags, configFile: laptop, env,
        allowUnimplemented: true,
      }));
      assertSameAsSsh(['-F', laptop, ...c.args, c.host], ours);
    });
  }
});
