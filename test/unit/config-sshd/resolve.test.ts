// Library behaviour that needs no sshd: typed values, Match resolution for a connection, the -C spec parser,
// %-tokens, and the small parsers underneath.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ConnectionSpecError,
  expandAuthorizedKeysPath,
  parseConnectionSpec,
  parseSshdConfigText,
  resolveForConnection,
  SshdConfigError,
} from '../../../src/config/sshd/index.ts';
import { assembleAlgorithms, DEFAULTS } from '../../../src/config/sshd/algorithms.ts';
import { addrMatchList, matchPattern, matchPatternList, matchUserEntry } from '../../../src/match/addresses.ts';
import { splitArguments, splitDirective } from '../../../src/config/syntax.ts';
import { parseScaled, parseTime } from '../../../src/config/values.ts';

const conn = (user: string, address: string, extra: Partial<Parameters<typeof resolveForConnection>[1]> = {}) => ({
  user,
  address,
  localAddress: '127.0.0.1',
  localPort: 2222,
  ...extra,
});

describe('resolveForConnection', () => {
  const gateway = parseSshdConfigText(
    'PasswordAuthentication yes\nPubkeyAuthentication yes\nMatch Address !127.0.0.1,*\n  PubkeyAuthentication no\n',
    'gateway.conf',
  );

  it('applies the gateway policy: keys only from 127.0.0.1, passwords from anywhere', () => {
    const local = resolveForConnection(gateway, conn('alice', '127.0.0.1'));
    const remote = resolveForConnection(gateway, conn('alice', '203.0.113.9'));
    const v6 = resolveForConnection(gateway, conn('alice', '::1'));
    assert.equal(local.pubkeyAuthentication, true);
    assert.equal(remote.pubkeyAuthentication, false);
    assert.equal(v6.pubkeyAuthentication, false);
    for (const s of [local, remote, v6]) assert.equal(s.passwordAuthentication, true);
    assert.equal(gateway.settings.pubkeyAuthentication, true, 'startup settings are unchanged');
  });

  it('lets the first matching block win and overrides the global value', () => {
    const config = parseSshdConfigText(
      'MaxAuthTries 6\nMatch User a*\n  MaxAuthTries 2\nMatch User alice\n  MaxAuthTries 9\n  MaxSessions 1\n',
      'x',
    );
    const s = resolveForConnection(config, conn('alice', '10.0.0.1'));
    assert.equal(s.maxAuthTries, 2);
    assert.equal(s.maxSessions, 1);
    assert.equal(resolveForConnection(config, conn('bob', '10.0.0.1')).maxAuthTries, 6);
  });

  it('matches Group from the groups given, with negation', () => {
    const config = parseSshdConfigText('Match Group admins,!suspended\n  PermitTTY no\n', 'x');
    assert.equal(resolveForConnection(config, conn('u', '10.0.0.1', { groups: ['staff', 'admins'] })).permitTTY, false);
    assert.equal(resolveForConnection(config, conn('u', '10.0.0.1', { groups: ['admins', 'suspended'] })).permitTTY, true);
    assert.equal(resolveForConnection(config, conn('u', '10.0.0.1', { groups: [] })).permitTTY, true);
  });

  it('matches LocalPort, LocalAddress and Host (case-insensitive)', () => {
    const config = parseSshdConfigText(
      'Match LocalPort 2222\n  AllowTcpForwarding local\nMatch LocalAddress 10.0.0.0/8 Host *.Example.COM\n  GatewayPorts clientspecified\n',
      'x',
    );
    const s = resolveForConnection(config, conn('u', '192.0.2.1', { localAddress: '10.1.1.1', host: 'WS.example.com' }));
    assert.equal(s.allowTcpForwarding, 'local');
    assert.equal(s.gatewayPorts, 'clientspecified');
    const t = resolveForConnection(config, conn('u', '192.0.2.1', { localPort: 22 }));
    assert.equal(t.allowTcpForwarding, 'yes');
    assert.equal(t.gatewayPorts, 'no');
  });

  it('accumulates AllowUsers globally and replaces the list in a Match', () => {
    const config = parseSshdConfigText('AllowUsers alice\nAllowUsers bob@10.0.0.0/8\nMatch User carol\n  AllowUsers carol\n', 'x');
    assert.deepEqual(config.settings.allowUsers, ['alice', 'bob@10.0.0.0/8']);
    assert.deepEqual(resolveForConnection(config, conn('carol', '10.0.0.1')).allowUsers, ['carol']);
  });

  it('resolves algorithm modifiers in a Match against the defaults', () => {
    const config = parseSshdConfigText('PubkeyAcceptedAlgorithms -ssh-ed25519\nMatch User old\n  PubkeyAcceptedAlgorithms +ssh-rsa\n', 'x');
    assert.ok(!config.settings.pubkeyAcceptedAlgorithms.includes('ssh-ed25519'));
    const old = resolveForConnection(config, conn('old', '10.0.0.1')).pubkeyAcceptedAlgorithms;
    assert.equal(old.at(-1), 'ssh-rsa');
    assert.ok(old.includes('ssh-ed25519'));
  });
});

describe('typed values', () => {
  const s = parseSshdConfigText(
    [
      'LoginGraceTime 1h30m', 'MaxStartups 5:40:20', 'RekeyLimit 1G 1h', 'ChallengeResponseAuthentication no',
      'PermitRootLogin without-password', 'Compression delayed', 'AllowTcpForwarding all', 'ClientAliveInterval 2m',
      'Subsystem sftp /usr/lib/openssh/sftp-server -l INFO', 'PermitUserEnvironment LANG,LC_*', 'Ciphers ^aes256-ctr',
    ].join('\n'),
    'x',
  ).settings;

  it('converts times, limits and enumerations', () => {
    assert.equal(s.loginGraceTime, 5400);
    assert.equal(s.clientAliveInterval, 120);
    assert.deepEqual(s.maxStartups, { begin: 5, rate: 40, full: 20 });
    assert.deepEqual(s.rekeyLimit, { bytes: 1024 ** 3, intervalSeconds: 3600 });
    assert.equal(s.kbdInteractiveAuthentication, false);
    assert.equal(s.permitRootLogin, 'prohibit-password');
    assert.equal(s.compression, true);
    assert.equal(s.allowTcpForwarding, 'yes');
    assert.deepEqual(s.subsystems, [{ name: 'sftp', command: '/usr/lib/openssh/sftp-server', commandLine: '/usr/lib/openssh/sftp-server -l INFO' }]);
    assert.equal(s.permitUserEnvironment, true);
    assert.equal(s.permitUserEnvironmentAllowlist, 'LANG,LC_*');
    assert.equal(s.ciphers[0], 'aes256-ctr');
    assert.equal(s.ciphers.length, DEFAULTS.ciphers.length);
  });

  it('keeps the first value of non-accumulating options', () => {
    const t = parseSshdConfigText('PasswordAuthentication no\npasswordauthentication yes\nPort 1\nPort 2\n', 'x').settings;
    assert.equal(t.passwordAuthentication, false);
    assert.deepEqual(t.ports, [1, 2]);
  });

  it('takes relative Include paths from the ssh directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-'));
    try {
      mkdirSync(join(dir, 'conf.d'));
      writeFileSync(join(dir, 'conf.d', 'b.conf'), 'MaxSessions 3\n');
      writeFileSync(join(dir, 'conf.d', 'a.conf'), 'MaxSessions 4\n');
      writeFileSync(join(dir, 'conf.d', '.hidden.conf'), 'MaxSessions 5\n');
      const t = parseSshdConfigText('Include conf.d/*.conf\n', 'main', { sshDir: dir }).settings;
      assert.equal(t.maxSessions, 4, 'a.conf is read first; dot files are skipped');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('raises SshdConfigError naming file and line', () => {
    assert.throws(
      () => parseSshdConfigText('Port 22\n\nMatch User x\n  UsePAM yes\n', 'my.conf'),
      (e: unknown) => e instanceof SshdConfigError && e.file === 'my.conf' && e.line === 4 &&
        e.message === "my.conf line 4: Directive 'UsePAM' is not allowed within a Match block",
    );
  });
});

describe('parseConnectionSpec', () => {
  it('reads every attribute', () => {
    const c = parseConnectionSpec('user=bob,host=h.example,addr=10.0.0.1,laddr=10.0.0.2,lport=2222,rdomain=7');
    assert.deepEqual(
      { ...c },
      { user: 'bob', host: 'h.example', address: '10.0.0.1', localAddress: '10.0.0.2', localPort: 2222, rdomain: '7', test: true },
    );
    assert.equal(parseConnectionSpec('lport=ssh').localPort, 22);
  });

  it('rejects unknown attributes and bad ports with sshd\'s messages', () => {
    assert.throws(() => parseConnectionSpec('user=a,color=red'), new ConnectionSpecError('Invalid test mode specification color=red'));
    assert.throws(() => parseConnectionSpec('lport=99999'), new ConnectionSpecError("Invalid port '99999' in test mode specification lport=99999"));
  });
});

describe('AuthorizedKeysFile tokens', () => {
  it('expands %h, %u, %U and %%, relative to the home directory', () => {
    const v = { user: 'alice', home: '/home/alice', uid: 1000 };
    assert.equal(expandAuthorizedKeysPath('.ssh/authorized_keys', v), '/home/alice/.ssh/authorized_keys');
    assert.equal(expandAuthorizedKeysPath('/etc/ssh/keys/%u', v), '/etc/ssh/keys/alice');
    assert.equal(expandAuthorizedKeysPath('%h/.ssh/k_%U', v), '/home/alice/.ssh/k_1000');
    assert.equal(expandAuthorizedKeysPath('/k/100%%', v), '/k/100%');
    assert.throws(() => expandAuthorizedKeysPath('/k/%x', v), /unknown key %x/);
  });
});

describe('line splitting', () => {
  it('splits keywords on blanks, quotes or one "="', () => {
    assert.deepEqual(splitDirective('  Port=22'), { keyword: 'Port', rest: '22' });
    assert.deepEqual(splitDirective('Port = 22'), { keyword: 'Port', rest: '22' });
    assert.deepEqual(splitDirective('"Port" 22'), { keyword: 'Port', rest: '22' });
    assert.equal(splitDirective('   # comment'), null);
    assert.equal(splitDirective(''), null);
    assert.deepEqual(splitDirective('PasswordAuthentication   \t'), { keyword: 'PasswordAuthentication', rest: '' });
  });

  it('splits arguments with quotes, escapes and comments', () => {
    assert.deepEqual(splitArguments(`a "b c" 'd e' f\\ g # h`), ['a', 'b c', 'd e', 'f g']);
    assert.deepEqual(splitArguments('x"y z"w'), ['xy zw']);
    assert.equal(splitArguments('"open'), undefined);
  });
});

describe('patterns and values', () => {
  it('matches wildcards and lists like OpenSSH', () => {
    assert.ok(matchPattern('alice', 'a*e'));
    assert.ok(matchPattern('bob', '?o?'));
    assert.ok(!matchPattern('bobby', '?o?'));
    assert.equal(matchPatternList('root', '!root,*'), -1);
    assert.equal(matchPatternList('bob', '!root,*'), 1);
    assert.equal(matchPatternList('bob', 'a*,c*'), 0);
  });

  it('matches addresses by CIDR and wildcard, and spots bad lists', () => {
    assert.equal(addrMatchList('10.1.2.3', '10.0.0.0/8'), 1);
    assert.equal(addrMatchList('10.1.2.3', '!10.1.0.0/16,10.0.0.0/8'), -1);
    assert.equal(addrMatchList('192.168.1.9', '192.168.1.*'), 1);
    assert.equal(addrMatchList('2001:db8::1', '2001:db8::/32'), 1);
    assert.equal(addrMatchList('2001:db9::1', '2001:db8::/32'), 0);
    assert.equal(addrMatchList('10.0.0.1', '10.0.0.1/8'), -2);
    assert.equal(addrMatchList(null, '10.0.0.0/8,,x'), -2);
    assert.equal(matchUserEntry('bob', 'ws1', '10.2.3.4', 'bob@10.0.0.0/8'), 1);
    assert.equal(matchUserEntry('bob', 'ws1', '11.2.3.4', 'bob@10.0.0.0/8'), 0);
    assert.equal(matchUserEntry('bob', 'ws1.example.com', '11.2.3.4', 'b*@*.example.com'), 1);
  });

  it('parses time and size formats', () => {
    assert.equal(parseTime('90'), 90);
    assert.equal(parseTime('2m'), 120);
    assert.equal(parseTime('1h30m'), 5400);
    assert.equal(parseTime('1w2d'), 8 * 86400 + 86400);
    assert.equal(parseTime('5x'), undefined);
    assert.equal(parseTime(''), undefined);
    assert.deepEqual(parseScaled('512M'), { value: 512 * 1024 * 1024 });
    assert.deepEqual(parseScaled('1.5K'), { value: 1536 });
    assert.deepEqual(parseScaled('lots'), { error: 'Invalid argument' });
  });

  it('assembles algorithm lists with +, - and ^', () => {
    assert.deepEqual(assembleAlgorithms('ciphers', '+aes128-cbc')?.slice(-1), ['aes128-cbc']);
    assert.ok(!assembleAlgorithms('macs', '-*sha1*')?.some((m) => m.includes('sha1')));
    assert.equal(assembleAlgorithms('kex', '^curve25519-sha256')?.[0], 'curve25519-sha256');
    assert.deepEqual(assembleAlgorithms('hostKeys', 'ssh-ed25519*'), ['ssh-ed25519', 'ssh-ed25519-cert-v01@openssh.com']);
    assert.equal(assembleAlgorithms('ciphers', 'nonexistent'), null);
  });
});
