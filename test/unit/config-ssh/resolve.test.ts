/**
 * The library API: typed results, file selection (-F, ~/.ssh/config, system file), relative Include,
 * token expansion, and the small parsers behind them.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ConfigError, assembleAlgorithms, connectionHash, formatDashG, implementedSubset, parseDestination, resolveSshConfig,
  resolveSshConfigSync, supportedAlgorithms, flagsToOptions,
} from '../../../src/config/ssh/index.ts';
import { splitArguments, splitLine } from '../../../src/config/ssh/lexer.ts';
import { matchHostname, matchPattern, matchPatternList } from '../../../src/config/ssh/patterns.ts';
import { parseForward } from '../../../src/config/ssh/forward.ts';
import { parseJump } from '../../../src/config/ssh/destination.ts';
import { expandString, expandTilde } from '../../../src/config/ssh/expand.ts';
import { visEscapeChar } from '../../../src/config/ssh/values.ts';
import { parseTime } from '../../../src/config/values.ts';

const scratch = mkdtempSync(join(tmpdir(), 'tether-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: '/home/tester', SHELL: '/bin/sh' };

function file(name: string, text: string): string {
  const path = join(scratch, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, 0o600);
  return path;
}

describe('resolveSshConfig returns typed values', () => {
  it('resolves the guide example (Host clint)', async () => {
    const cfg = file('clint.conf', [
      'Host clint',
      '  HostName clint.example.com',
      '  User clint',
      '  IdentityFile ~/.ssh/clint_ed25519',
      '  IdentitiesOnly yes',
      '  AddKeysToAgent yes',
      '  ServerAliveInterval 30',
      '  LocalForward 8080 localhost:80',
      '  DynamicForward 1080',
      '  RemoteForward /tmp/r.sock /tmp/l.sock',
      '  SetEnv A=1 B=two',
      '  StrictHostKeyChecking accept-new',
      '  ProxyJump ops@bastion:2222,jump2',
      '',
    ].join('\n'));
    const r = await resolveSshConfig({ host: 'clint', configFile: cfg, homeDir: '/home/tester', localUser: 'tester', env });
    assert.equal(r.hostname, 'clint.example.com');
    assert.equal(r.user, 'clint');
    assert.equal(r.port, 22);
    assert.deepEqual(r.identityFiles, ['/home/tester/.ssh/clint_ed25519']);
    assert.equal(r.identitiesOnly, true);
    assert.deepEqual(r.addKeysToAgent, { mode: 'yes', lifetimeSeconds: undefined });
    assert.equal(r.serverAliveInterval, 30);
    assert.deepEqual(r.localForwards, [{ listen: { host: undefined, port: 8080 }, connect: { host: 'localhost', port: 80 } }]);
    assert.deepEqual(r.dynamicForwards, [{ listen: { host: undefined, port: 1080 } }]);
    assert.deepEqual(r.remoteForwards, [{ listen: { path: '/tmp/r.sock' }, connect: { path: '/tmp/l.sock' } }]);
    assert.deepEqual(r.setEnv, { A: '1', B: 'two' });
    assert.equal(r.strictHostKeyChecking, 'accept-new');
    assert.deepEqual(r.proxyJump, [{ user: 'ops', host: 'bastion', port: 2222 }, { user: undefined, host: 'jump2', port: undefined }]);
    assert.equal(r.proxyCommand, undefined);
    assert.deepEqual(r.raw.identityfile, ['~/.ssh/clint_ed25519']);
    assert.deepEqual(r.raw.proxyjump, ['ops@bastion:2222,jump2']);
    assert.equal(r.ciphers[0], 'chacha20-poly1305@openssh.com');
    assert.equal(r.hostKeyAlgorithmsConfigured, false);
  });

  it('expands ProxyCommand tokens and identity paths as ssh does before connecting', () => {
    const cfg = file('pc.conf', 'Host *\n  ProxyCommand ssh -W %h:%p %r@gw # %n\n  IdentityFile ~/.ssh/%r-%h\n  Port 2022\n  User u\n');
    const r = resolveSshConfigSync({ host: 'Target', configFile: cfg, homeDir: '/home/tester', localUser: 'tester', env });
    assert.equal(r.proxyCommand, 'ssh -W target:2022 u@gw # Target');
    assert.deepEqual(r.identityFiles, ['/home/tester/.ssh/u-target']);
  });

  it('reads ~/.ssh/config then the system file, with relative Include under ~/.ssh and /etc/ssh', () => {
    const home = join(scratch, 'home1');
    const sys = join(scratch, 'etc-ssh');
    mkdirSync(join(home, '.ssh', 'conf.d'), { recursive: true });
    mkdirSync(join(sys, 'ssh_config.d'), { recursive: true });
    file('home1/.ssh/config', 'Include conf.d/*.conf\nHost *\n  Port 2000\n');
    file('home1/.ssh/conf.d/a.conf', 'Host web\n  User from-user-include\n');
    file('etc-ssh/ssh_config', 'Include ssh_config.d/*.conf\nHost *\n  User system-user\n  Compression yes\n');
    file('etc-ssh/ssh_config.d/x.conf', 'Host *\n  ConnectTimeout 7\n');
    const req = { homeDir: home, systemConfigFile: join(sys, 'ssh_config'), systemConfigDir: sys, localUser: 'tester', env };
    const web = resolveSshConfigSync({ host: 'web', ...req });
    assert.equal(web.user, 'from-user-include');
    assert.equal(web.port, 2000);
    assert.equal(web.compression, true);
    assert.equal(web.connectTimeout, 7);
    const other = resolveSshConfigSync({ host: 'other', ...req });
    assert.equal(other.user, 'system-user');
    // -F replaces both files; -F none reads nothing.
    const none = resolveSshConfigSync({ host: 'web', ...req, configFile: 'none' });
    assert.equal(none.user, 'tester');
    assert.equal(none.port, 22);
  });

  it('gives command-line options precedence over files', () => {
    const cfg = file('prec.conf', 'Host *\n  User file-user\n  Port 1000\n  SendEnv A\n');
    const r = resolveSshConfigSync({ host: 'h', user: 'cli', configFile: cfg, commandLineOptions: ['Port 3000', 'SendEnv B'], env });
    assert.equal(r.user, 'cli');
    assert.equal(r.port, 3000);
    assert.deepEqual(r.sendEnv, ['B', 'A']);
  });

  it('runs Match exec through $SHELL with tokens expanded', () => {
    const marker = join(scratch, 'exec-ran');
    const cfg = file('exec.conf', `Match exec "touch ${marker}-%h && test %h = yes"\n  User matched\n`);
    assert.equal(resolveSshConfigSync({ host: 'yes', configFile: cfg, env }).user, 'matched');
    assert.notEqual(resolveSshConfigSync({ host: 'no', configFile: cfg, env, localUser: 'tester' }).user, 'matched');
    const cfgNoRun = file('exec2.conf', `Match host nomatch exec "touch ${marker}-skipped"\n  User x\n`);
    resolveSshConfigSync({ host: 'h', configFile: cfgNoRun, env });
    assert.throws(() => rmSync(`${marker}-skipped`), /ENOENT/);
    rmSync(`${marker}-yes`);
  });

  it('formats -G output with the host line first', () => {
    const r = resolveSshConfigSync({ host: 'Example', configFile: 'none', localUser: 'tester', env });
    const text = formatDashG(r);
    assert.ok(text.startsWith('host Example\nuser tester\nhostname example\nport 22\n'));
    assert.ok(text.endsWith('syslogfacility USER\n'));
  });

  it('throws ConfigError for percent tokens a keyword does not allow', () => {
    assert.throws(() => resolveSshConfigSync({ host: 'h', configFile: 'none', commandLineOptions: ['HostName %p.example'], env }), ConfigError);
  });
});

describe('parsers', () => {
  it('splits keywords and arguments like OpenSSH', () => {
    assert.deepEqual(splitLine('  Host = a b # c'), { kind: 'directive', keyword: 'host', rest: 'a b # c' });
    assert.deepEqual(splitLine('User'), { kind: 'missing-argument', keyword: 'user' });
    assert.deepEqual(splitLine('   # comment'), { kind: 'empty' });
    assert.deepEqual(splitArguments(`a "b c" 'd e' f\\ g h#i # rest`), ['a', 'b c', 'd e', 'f g', 'h#i']);
    assert.equal(splitArguments('"open'), undefined);
  });

  it('matches patterns, lists and negations', () => {
    assert.ok(matchPattern('web12', 'web*'));
    assert.ok(!matchPattern('web12', 'web?'));
    assert.equal(matchPatternList('db.prod', '*.prod,!db.*', false), -1);
    assert.equal(matchHostname('WEB.Example', 'web.EXAMPLE'), 1);
    assert.equal(matchPatternList('x', 'a,b', false), 0);
  });

  it('parses forwards, jumps and destinations', () => {
    assert.deepEqual(parseForward('[::1]:80:host:8080', false, false, {}), {
      listenHost: '::1', listenPort: 80, listenPath: undefined, connectHost: 'host', connectPort: 8080, connectPath: undefined,
    });
    assert.equal(parseForward('0:host:80', false, false, {}), undefined);
    assert.equal(parseForward('80', false, false, {}), undefined);
    assert.deepEqual(parseJump('a@b:1,ssh://c@d:2'), { user: 'c', host: 'd', port: 2, extra: 'a@b:1' });
    assert.equal(parseJump('NONE'), 'none');
    assert.deepEqual(parseDestination('ssh://me@host.example:2200'), { user: 'me', host: 'host.example', port: 2200 });
    assert.deepEqual(parseDestination('a@b@host'), { user: 'a@b', host: 'host', port: undefined });
  });

  it('expands tokens, environment and ~', () => {
    assert.equal(expandString('%h:%p %% ${X}', { tokens: { h: 'a', p: '1' }, env: { X: 'y' } }), 'a:1 % y');
    assert.throws(() => expandString('%z', { tokens: { h: 'a' } }), /unknown key %z/);
    assert.equal(expandTilde('~/x', '/home/u'), '/home/u/x');
    assert.equal(expandTilde('~', '/home/u'), '/home/u/');
    assert.equal(connectionHash('l', 'h', '22', 'r'), createHash('sha1').update('lh22r').digest('hex'));
  });

  it('parses times and prints escape characters like vis(3)', () => {
    assert.equal(parseTime('1h30m'), 5400);
    assert.equal(parseTime('5x'), undefined);
    assert.equal(visEscapeChar(1), '\\^A');
    assert.equal(visEscapeChar(0x7e), '~');
    assert.equal(visEscapeChar(0x20), '\\040');
  });

  it('assembles algorithm lists with + - ^ and intersects with what we implement', () => {
    const defaults = ['a', 'b', 'c'];
    const all = ['a', 'b', 'c', 'd', 'e'];
    assert.deepEqual(assembleAlgorithms('+d,a', defaults, all), ['a', 'b', 'c', 'd']);
    assert.deepEqual(assembleAlgorithms('-b*', defaults, all), ['a', 'c']);
    assert.deepEqual(assembleAlgorithms('^e,c', defaults, all), ['e', 'c', 'a', 'b']);
    assert.deepEqual(assembleAlgorithms('e,a', defaults, all), ['e', 'a']);
    assert.ok(supportedAlgorithms('cipher').includes('aes128-cbc'));
    assert.deepEqual(implementedSubset(['x', 'aes256-ctr', 'y', 'aes128-ctr'], ['aes128-ctr', 'aes256-ctr']), ['aes256-ctr', 'aes128-ctr']);
  });

  it('documents flags as -o options', () => {
    assert.deepEqual(flagsToOptions({ port: 2200, user: 'u', forwardAgent: true, noSession: true }), [
      'ForwardAgent=yes', 'User=u', 'SessionType=none', 'RequestTTY=no', 'Port=2200',
    ]);
  });
});
