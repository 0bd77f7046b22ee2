import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey } from '../../../src/keys/private-key.ts';
import { matchPatternList, matchWildcard } from '../../../src/keys/host-patterns.ts';
import { checkHostKey, formatKnownHostsLine, hashHostName, parseKnownHosts } from '../../../src/keys/known-hosts.ts';
import {
  appendKnownHost,
  findHost,
  hashKnownHostsFile,
  KnownHostsFileError,
  readKnownHostsFile,
  removeHost,
} from '../../../src/keys/known-hosts-file.ts';

const ed = generatePrivateKey('ed25519').publicKey;
const ed2 = generatePrivateKey('ed25519').publicKey;
const ec = generatePrivateKey('ecdsa', 256).publicKey;

describe('host patterns', () => {
  it('matches * and ? wildcards over whole names, case-insensitively', () => {
    assert.ok(matchWildcard('host.example.com', '*.example.com'));
    assert.ok(matchWildcard('a1', 'a?'));
    assert.ok(!matchWildcard('a12', 'a?'));
    assert.ok(matchWildcard('abc', '*b*'));
    assert.ok(!matchWildcard('example.com', '*.example.com'));
    assert.equal(matchPatternList('WWW.Example.COM', '*.example.com'), 1);
  });

  it('lets a matching negation override positive patterns', () => {
    assert.equal(matchPatternList('bad.example.com', '*.example.com,!bad.example.com'), -1);
    assert.equal(matchPatternList('good.example.com', '*.example.com,!bad.example.com'), 1);
    assert.equal(matchPatternList('other.org', '*.example.com,!bad.example.com'), 0);
    assert.equal(matchPatternList('x', '!y'), 0);
  });
});

describe('known_hosts parsing and checking', () => {
  const text = [
    '# a comment',
    '',
    `alpha,192.0.2.1 ${ed.toLine()} some comment`,
    `[beta]:2222 ${ec.toLine()}`,
    `*.wild.test,!evil.wild.test ${ed2.toLine()}`,
    `${hashHostName('hashed.test')} ${ed.toLine()}`,
    `@revoked revoked.test ${ed2.toLine()}`,
    `@cert-authority *.ca.test ${ec.toLine()}`,
    `alpha sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t`,
    'broken-line-without-key',
    `@bogus host ${ed.toLine()}`,
  ].join('\n');
  const { entries, problems } = parseKnownHosts(text, 'kh');

  it('reads entries with markers, ports, hashes and comments, and reports bad lines', () => {
    assert.equal(entries.length, 6);
    assert.equal(entries[0]!.line, 3);
    assert.equal(entries[0]!.comment, 'some comment');
    assert.equal(entries[4]!.marker, 'revoked');
    assert.equal(entries[5]!.marker, 'cert-authority');
    assert.ok(entries[3]!.hashed);
    assert.deepEqual(problems.map((p) => p.line), [10, 11]);
  });

  it('finds a known key by host name or address, port-qualified names and hashed names', () => {
    assert.deepEqual(checkHostKey(entries, ['alpha'], 22, ed), {
      status: 'known',
      matches: [{ file: 'kh', line: 3, type: 'ssh-ed25519' }],
      knownTypes: ['ssh-ed25519'],
    });
    assert.equal(checkHostKey(entries, ['unlisted', '192.0.2.1'], 22, ed).status, 'known');
    assert.equal(checkHostKey(entries, ['beta'], 2222, ec).status, 'known');
    assert.equal(checkHostKey(entries, ['beta'], 22, ec).status, 'unknown');
    assert.equal(checkHostKey(entries, ['HASHED.test'], 22, ed).status, 'known');
    assert.equal(checkHostKey(entries, ['x.wild.test'], 22, ed2).status, 'known');
    assert.equal(checkHostKey(entries, ['evil.wild.test'], 22, ed2).status, 'unknown');
  });

  it('reports a changed key with the offending entries, whatever their type (as OpenSSH 9.2 does)', () => {
    const sameType = checkHostKey(entries, ['alpha'], 22, ed2);
    assert.equal(sameType.status, 'changed');
    assert.deepEqual(sameType.matches, [{ file: 'kh', line: 3, type: 'ssh-ed25519' }]);
    const otherType = checkHostKey(entries, ['alpha'], 22, ec);
    assert.equal(otherType.status, 'changed');
    assert.deepEqual(otherType.knownTypes, ['ssh-ed25519']);
  });

  it('reports revoked keys, and ignores cert-authority lines for plain keys', () => {
    assert.deepEqual(checkHostKey(entries, ['revoked.test'], 22, ed2).status, 'revoked');
    assert.equal(checkHostKey(entries, ['revoked.test'], 22, ed).status, 'unknown');
    assert.equal(checkHostKey(entries, ['x.ca.test'], 22, ec).status, 'unknown');
  });

  it('formats lines with [host]:port for other ports and hashes on request', () => {
    assert.equal(formatKnownHostsLine('Beta', 2222, ec), `[beta]:2222 ${ec.toLine()}`);
    assert.equal(formatKnownHostsLine('alpha', 22, ed), `alpha ${ed.toLine()}`);
    const hashed = formatKnownHostsLine('alpha', 2222, ed, { hash: true });
    assert.match(hashed, /^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-ed25519 /);
    const parsed = parseKnownHosts(hashed).entries;
    assert.equal(checkHostKey(parsed, ['alpha'], 2222, ed).status, 'known');
    assert.equal(checkHostKey(parsed, ['alpha'], 22, ed).status, 'unknown');
  });
});

describe('known_hosts files', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tether-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('appends entries, creating the directory 0700 and the file 0600', () => {
    const file = join(dir, 'new', '.ssh', 'known_hosts');
    appendKnownHost(file, 'alpha', 22, ed);
    appendKnownHost(file, 'beta', 2200, ec, { hash: true });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'new', '.ssh')).mode & 0o777, 0o700);
    const entries = readKnownHostsFile(file);
    assert.equal(entries.length, 2);
    assert.equal(checkHostKey(entries, ['beta'], 2200, ec).status, 'known');
  });

  it('adds a missing final newline before appending', () => {
    const file = join(dir, 'nonl');
    writeFileSync(file, `alpha ${ed.toLine()}`);
    appendKnownHost(file, 'beta', 22, ec);
    assert.equal(readKnownHostsFile(file).length, 2);
  });

  it('finds and removes hosts (whole lines, keeping marker lines) with a .old backup', () => {
    const file = join(dir, 'remove');
    const original = [`alpha,gamma ${ed.toLine()}`, `@revoked alpha ${ed2.toLine()}`, `beta ${ec.toLine()}`, ''].join('\n');
    writeFileSync(file, original);
    assert.deepEqual(findHost(file, 'alpha').map((f) => [f.line, f.marker]), [[1, undefined], [2, 'revoked']]);
    assert.deepEqual(removeHost(file, 'nobody'), []);
    assert.equal(existsSync(`${file}.old`), false);
    assert.deepEqual(removeHost(file, 'alpha').map((f) => f.line), [1]);
    assert.equal(readFileSync(`${file}.old`, 'utf8'), original);
    assert.equal(readFileSync(file, 'utf8'), [`@revoked alpha ${ed2.toLine()}`, `beta ${ec.toLine()}`, ''].join('\n'));
  });

  it('hashes plain names one per line, leaving comments, markers and wildcards alone', () => {
    const file = join(dir, 'hash');
    writeFileSync(file, [`# c`, `alpha,[beta]:2222 ${ed.toLine()}`, `*.wild ${ec.toLine()}`, `@revoked x ${ed2.toLine()}`, ''].join('\n'));
    const result = hashKnownHostsFile(file);
    assert.equal(result.hadUnhashedNames, true);
    assert.deepEqual(result.wildcardLines, [3]);
    const lines = readFileSync(file, 'utf8').split('\n');
    assert.equal(lines[0], '# c');
    assert.match(lines[1]!, /^\|1\|/);
    assert.match(lines[2]!, /^\|1\|/);
    assert.equal(lines[3], `*.wild ${ec.toLine()}`);
    assert.equal(lines[4], `@revoked x ${ed2.toLine()}`);
    const entries = readKnownHostsFile(file);
    assert.equal(checkHostKey(entries, ['alpha'], 22, ed).status, 'known');
    assert.equal(checkHostKey(entries, ['beta'], 2222, ed).status, 'known');
    assert.equal(hashKnownHostsFile(file).hadUnhashedNames, false);
  });

  it('refuses to hash a file with invalid lines and leaves it untouched', () => {
    const file = join(dir, 'invalid');
    const original = `alpha ${ed.toLine()}\ngarbage\n`;
    writeFileSync(file, original);
    assert.throws(() => hashKnownHostsFile(file), (error: unknown) => {
      assert.ok(error instanceof KnownHostsFileError);
      assert.deepEqual(error.invalidLines, [2]);
      return true;
    });
    assert.equal(readFileSync(file, 'utf8'), original);
  });
});
