import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generatePrivateKey } from '../../../src/keys/private-key.ts';
import { parseAuthorizedKeyOptions, parseAuthorizedKeys } from '../../../src/keys/authorized-keys.ts';

const key = generatePrivateKey('ed25519').publicKey;

describe('authorized_keys', () => {
  it('parses bare keys, options with quoted values and escaped quotes, and comments', () => {
    const text = [
      '# comment',
      `${key.toLine()} plain@host`,
      `command="echo \\"hi, there\\"",no-pty,from="10.0.0.0/8,!10.1.2.3,*.example.com" ${key.toLine()} opt@host`,
      `restrict,pty,permitopen="localhost:80",permitopen="[::1]:*",permitlisten="8080",environment="A=b c" ${key.toLine()}`,
      `expiry-time="20300102Z",principals="alice,bob",cert-authority,tunnel="3" ${key.toLine()}`,
      `NO-AGENT-FORWARDING,no-X11-forwarding,no-port-forwarding,no-user-rc ${key.toLine()}`,
    ].join('\n');
    const { keys, problems } = parseAuthorizedKeys(text);
    assert.deepEqual(problems, []);
    assert.equal(keys.length, 5);
    const [plain, commanded, restricted, expiring, flags] = keys;
    assert.equal(plain!.comment, 'plain@host');
    assert.equal(plain!.options.permitPty, true);
    assert.equal(commanded!.line, 3);
    assert.equal(commanded!.options.command, 'echo "hi, there"');
    assert.equal(commanded!.options.permitPty, false);
    assert.deepEqual(commanded!.options.from, ['10.0.0.0/8', '!10.1.2.3', '*.example.com']);
    assert.equal(commanded!.comment, 'opt@host');
    assert.ok(commanded!.key.equals(key));
    assert.equal(restricted!.options.restrict, true);
    assert.equal(restricted!.options.permitPty, true);
    assert.equal(restricted!.options.permitPortForwarding, false);
    assert.equal(restricted!.options.permitAgentForwarding, false);
    assert.deepEqual(restricted!.options.permitOpen, ['localhost:80', '[::1]:*']);
    assert.deepEqual(restricted!.options.permitListen, ['8080']);
    assert.deepEqual(restricted!.options.environment, [{ name: 'A', value: 'b c' }]);
    assert.equal(expiring!.options.expiryTime?.toISOString(), '2030-01-02T00:00:00.000Z');
    assert.deepEqual(expiring!.options.principals, ['alice', 'bob']);
    assert.equal(expiring!.options.certAuthority, true);
    assert.equal(expiring!.options.tunnel, '3');
    assert.equal(flags!.options.permitAgentForwarding, false);
    assert.equal(flags!.options.permitX11Forwarding, false);
    assert.equal(flags!.options.permitPortForwarding, false);
    assert.equal(flags!.options.permitUserRc, false);
    assert.equal(flags!.options.permitPty, true);
  });

  it('reports malformed lines by number and keeps the good ones', () => {
    const text = [
      `bogus-option ${key.toLine()}`,
      `command="unterminated ${key.toLine()}`,
      `permitopen="nohostport" ${key.toLine()}`,
      `expiry-time="20301301" ${key.toLine()}`,
      `command=unquoted ${key.toLine()}`,
      'ssh-ed25519 AAAA',
      `${key.toLine()} fine`,
    ].join('\n');
    const { keys, problems } = parseAuthorizedKeys(text);
    assert.deepEqual(problems.map((p) => p.line), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(keys.map((k) => k.line), [7]);
  });

  it('applies options in order: restrict after a permission clears it', () => {
    assert.equal(parseAuthorizedKeyOptions('pty,restrict').permitPty, false);
    assert.equal(parseAuthorizedKeyOptions('restrict,pty').permitPty, true);
    assert.equal(parseAuthorizedKeyOptions('expiry-time="203001021530"').expiryTime?.getHours(), 15);
  });
});
