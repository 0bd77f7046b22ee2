/**
 * The parts of `tether sftp` that need no server: sftp.c's command-line words (makeargv) and parse_args,
 * glob(3) matching as sftp-glob.c uses it, the progress meter's fields (progressmeter.c), and ls/df output.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeArgv, parseCommandLine, LS } from '../../../src/cli/sftp-commands-parse.ts';
import { expandBraces, glob, matchComponent, type GlobFilesystem } from '../../../src/sftp/client/glob.ts';
import { formatRate, formatSize, ProgressMeter } from '../../../src/cli/progress-meter.ts';
import { fmtScaled, lsLine, strmode } from '../../../src/cli/sftp-commands-format.ts';
import { parseUri, parseUserHostPath } from '../../../src/cli/sftp-destination.ts';

describe('sftp command lines', () => {
  test('words, quotes and escapes as makeargv splits them', () => {
    assert.deepEqual(makeArgv('get "a b" c\\ d'), ['get', 'a b', 'c d']);
    assert.deepEqual(makeArgv("put 'x*y' z # comment"), ['put', 'x\\*y', 'z']);
    assert.deepEqual(makeArgv('ls a\\*b'), ['ls', 'a\\*b']);
    assert.throws(() => makeArgv('get "open'), /Unterminated quoted argument/);
  });

  test('prefixes, flags and the messages of parse_args', () => {
    const line = parseCommandLine('-@get -pR remote local');
    assert.equal(line.ignoreErrors, true);
    assert.equal(line.disableEcho, true);
    assert.equal(line.command?.command, 'get');
    assert.deepEqual([...line.command!.flags].sort(), ['R', 'p']);
    assert.equal(line.command?.path1, 'remote');
    assert.equal(parseCommandLine('frobnicate').error, 'Invalid command.');
    assert.equal(parseCommandLine('get').error, 'You must specify at least one path after a get command.');
    assert.equal(parseCommandLine('rename a').error, 'You must specify two paths after a rename command.');
    assert.equal(parseCommandLine('chmod x file').error, 'You must supply a numeric argument to the chmod command.');
    assert.equal(parseCommandLine('ls -z').error, 'ls: Invalid flag -z');
    assert.equal(parseCommandLine('chmod 644 f').command?.number, 0o644);
    assert.equal(parseCommandLine('ls -1la dir').command?.lsFlags, LS.long | LS.all | LS.nameSort);
    assert.equal(parseCommandLine('!echo hi').command?.rest, 'echo hi');
    assert.equal(parseCommandLine('   # a comment').command, undefined);
    assert.equal(parseCommandLine('BYE').command?.command, 'quit');
  });
});

describe('glob', () => {
  test('components match as fnmatch does', () => {
    assert.equal(matchComponent('file.txt', '*.txt'), true);
    assert.equal(matchComponent('file.txt', 'f?le.*'), true);
    assert.equal(matchComponent('b', '[a-c]'), true);
    assert.equal(matchComponent('d', '[!a-c]'), true);
    assert.equal(matchComponent('a*', 'a\\*'), true);
    assert.equal(matchComponent('ab', 'a\\*'), false);
    assert.deepEqual(expandBraces('x{a,b}y'), ['xay', 'xby']);
  });

  test('a file system walk: hidden names, marks, NOCHECK', async () => {
    const tree: Record<string, string[]> = { '/d': ['.', '..', '.hidden', 'a.txt', 'b.txt', 'sub'], '/d/sub': ['.', '..', 'c.txt'] };
    const kind = (path: string) => (tree[path] || path.endsWith('/.') || path.endsWith('/..') ? 'dir' : 'file');
    const fs: GlobFilesystem<string> = {
      readdir: async (path) => tree[path]?.map((name) => ({ name, attrs: kind(`${path}/${name}`) })),
      lstat: async (path) => (tree[path.replace(/\/$/, '')] || /\/(a|b|c)\.txt$/.test(path) ? kind(path.replace(/\/$/, '')) : undefined),
      stat: async (path) => kind(path),
      isDirectory: (attrs) => attrs === 'dir',
      isSymlink: () => false,
    };
    assert.deepEqual((await glob('/d/*', fs, { mark: true })).matches.map((m) => m.path), ['/d/a.txt', '/d/b.txt', '/d/sub/']);
    assert.deepEqual((await glob('/d/*/c.txt', fs)).matches.map((m) => m.path), ['/d/sub/c.txt']);
    const none = await glob('/d/*.zip', fs, { noCheck: true });
    assert.equal(none.matched, 0);
    assert.deepEqual(none.matches.map((m) => m.path), ['/d/*.zip']);
    assert.equal((await glob('/d/missing', fs)).matched, 0);
  });
});

describe('progress meter', () => {
  test('sizes and rates as progressmeter.c formats them', () => {
    assert.equal(formatSize(0), '   0  ');
    assert.equal(formatSize(9999), '9999  ');
    assert.equal(formatSize(1024 * 1024), '1024KB');
    assert.equal(formatSize(64 * 1024 * 1024), '  64MB');
    assert.equal(formatRate(0), '  0.0KB');
    assert.equal(formatRate(1536), '  1.5KB');
    assert.equal(formatRate(12 * 1024 * 1024), ' 12.0MB');
  });

  test('the line: name padded to width - 36, percent, bytes, rate, ETA, exactly the terminal width', () => {
    let written = '';
    let clock = 100;
    let position = 0;
    const output = { columns: 80, write: (text: string) => ((written += text), true), on: () => output, off: () => output };
    const meter = new ProgressMeter('file.bin', 1024 * 1024, () => position, { output: output as never, now: () => clock });
    position = 512 * 1024;
    clock += 1;
    written = '';
    meter.refresh();
    assert.equal(written.length, 80);
    assert.match(written, /^\rfile\.bin {39}50% {2}512KB 512\.0KB\/s {3}00:01 ETA$/);
    position = 1024 * 1024;
    clock += 1;
    written = '';
    meter.stop();
    assert.match(written, /^\rfile\.bin {38}100% 1024KB 512\.0KB\/s {3}00:02 {4}\n$/);
  });
});

describe('ls and df output', () => {
  test('strmode, fmt_scaled and ls_file', () => {
    assert.equal(strmode(0o100644), '-rw-r--r-- ');
    assert.equal(strmode(0o041777), 'drwxrwxrwt ');
    assert.equal(strmode(0o104755), '-rwsr-xr-x ');
    assert.equal(fmtScaled(512), '512B');
    assert.equal(fmtScaled(1536), '1.5K');
    assert.equal(fmtScaled(300 * 1024 * 1024), '300M');
    const line = lsLine('f', { permissions: 0o100600, uid: 0, gid: 0, size: 5, mtime: 1_577_934_245 }, { user: 'root', group: 'root', now: 1_700_000_000 });
    assert.match(line, /^-rw------- {4}\? root {5}root {12}5 Jan {2}\d {2}2020 f$/);
  });

  test('destinations: host:path and sftp:// URIs', () => {
    assert.deepEqual(parseUserHostPath('me@host:dir/f'), { user: 'me', host: 'host', path: 'dir/f' });
    assert.deepEqual(parseUserHostPath('[::1]:'), { host: '::1', path: '.' });
    assert.equal(parseUserHostPath('./a:b'), undefined);
    assert.deepEqual(parseUri('sftp', 'sftp://me@host:2222/some%20file'), { user: 'me', host: 'host', port: 2222, path: 'some file' });
    assert.equal(parseUri('sftp', 'sftp://host:99999'), 'invalid');
  });
});
