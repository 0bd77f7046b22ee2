/**
 * How xauth is asked for the cookie, checked with a stand-in xauth script that records its arguments and
 * answers like the real one; the real xauth with a real X server is exercised in test/interop/client-x11.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/openssh.ts';
import { decodeCookieHex, parseXauthList, readXauthCookie, XauthDataError } from '../../../src/client/x11/xauth.ts';

const USER_COOKIE = '00112233445566778899aabbccddeeff';
const UNTRUSTED_COOKIE = 'ffeeddccbbaa99887766554433221100';

describe('xauth: reading and generating the real cookie', () => {
  let dir: string;
  let fakeXauth: string;
  let failingGenerate: string;
  let callLog: string;

  const calls = () => (existsSync(callLog) ? readFileSync(callLog, 'utf8').trim().split('\n') : []);

  before(() => {
    dir = tempDir();
    callLog = join(dir, 'calls');
    // Records each call; "generate" writes an untrusted entry into the -f file, "list" prints the -f file's
    // entry, or the user's cookie when no -f is given.
    const script = (generateStatus: number) => `#!/bin/sh
echo "$*" >> ${callLog}
if [ "$1" = "-f" ]; then file="$2"; shift 2; fi
case "$1" in
  generate) [ ${generateStatus} = 0 ] && echo "host/unix:7  MIT-MAGIC-COOKIE-1  ${UNTRUSTED_COOKIE}" > "$file"; exit ${generateStatus} ;;
  list) if [ -n "$file" ]; then cat "$file"; else echo "host/unix:7  MIT-MAGIC-COOKIE-1  ${USER_COOKIE}"; echo "host/unix:7  XDM-AUTHORIZATION-1  0102"; fi ;;
esac
`;
    fakeXauth = join(dir, 'xauth');
    writeFileSync(fakeXauth, script(0));
    chmodSync(fakeXauth, 0o755);
    failingGenerate = join(dir, 'xauth-failing');
    writeFileSync(failingGenerate, script(1));
    chmodSync(failingGenerate, 0o755);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('trusted: the first line of `xauth list`, localhost:N looked up as unix:N', async () => {
    rmSync(callLog, { force: true });
    const cookie = await readXauthCookie({ xauthLocation: fakeXauth, display: 'localhost:7.0', trusted: true, timeoutSeconds: 1200 });
    assert.deepEqual(cookie, { protocol: 'MIT-MAGIC-COOKIE-1', data: Buffer.from(USER_COOKIE, 'hex') });
    assert.deepEqual(calls(), ['list unix:7.0']);
  });

  test('untrusted: generate into a private file with ForwardX11Timeout + 60 s, read only that file, then remove it', async () => {
    rmSync(callLog, { force: true });
    const cookie = await readXauthCookie({ xauthLocation: fakeXauth, display: ':7', trusted: false, timeoutSeconds: 1200 });
    assert.deepEqual(cookie, { protocol: 'MIT-MAGIC-COOKIE-1', data: Buffer.from(UNTRUSTED_COOKIE, 'hex') });
    const [generate, list] = calls();
    const match = /^-f (\S+) generate :7 MIT-MAGIC-COOKIE-1 untrusted timeout 1260$/.exec(generate ?? '');
    assert.ok(match, generate);
    assert.equal(list, `-f ${match[1]} list :7`);
    assert.ok(!existsSync(match[1]!), 'the generated authority file is removed');
  });

  test('untrusted with ForwardX11Timeout 0: no timeout argument', async () => {
    rmSync(callLog, { force: true });
    await readXauthCookie({ xauthLocation: fakeXauth, display: ':7', trusted: false, timeoutSeconds: 0 });
    assert.match(calls()[0]!, / generate :7 MIT-MAGIC-COOKIE-1 untrusted$/);
  });

  test('untrusted never falls back to the user\'s cookie when generate fails', async () => {
    rmSync(callLog, { force: true });
    const cookie = await readXauthCookie({ xauthLocation: failingGenerate, display: ':7', trusted: false, timeoutSeconds: 60 });
    assert.equal(cookie, undefined);
    assert.equal(calls().length, 1, 'no list after a failed generate');
  });

  test('a missing xauth program means no cookie, with ssh\'s debug message', async () => {
    const messages: string[] = [];
    const cookie = await readXauthCookie({ xauthLocation: join(dir, 'nonexistent'), display: ':7', trusted: true, timeoutSeconds: 0, debug: (m) => messages.push(m) });
    assert.equal(cookie, undefined);
    assert.deepEqual(messages, ['No xauth program.']);
  });

  test('parseXauthList reads "display protocol hexdata" from the first line only', () => {
    assert.deepEqual(parseXauthList('vm/unix:57  MIT-MAGIC-COOKIE-1  abcd\nother/unix:1  X  00\n'), { protocol: 'MIT-MAGIC-COOKIE-1', hex: 'abcd' });
    assert.equal(parseXauthList(''), undefined);
    assert.equal(parseXauthList('only-two fields\n'), undefined);
  });

  test('decodeCookieHex accepts even-length hex only', () => {
    assert.deepEqual(decodeCookieHex('00ffAB'), Buffer.from([0, 0xff, 0xab]));
    for (const bad of ['', 'abc', 'zz', '00 11']) assert.throws(() => decodeCookieHex(bad), XauthDataError, bad);
  });
});
