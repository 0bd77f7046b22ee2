import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '../../../src/wire/reader.ts';
import { Writer } from '../../../src/wire/writer.ts';
import { decodeX11Originator, encodeX11Request, prepareX11Authorization, type X11ForwardingOptions } from '../../../src/client/x11-forwarding.ts';

/** An XAuthLocation that cannot exist. */
const NO_XAUTH = '/nonexistent/tether-test/xauth';

function options(overrides: Partial<X11ForwardingOptions>) {
  const logged: Array<[number, string]> = [];
  const debugged: string[] = [];
  return {
    logged,
    debugged,
    options: {
      display: ':5.1',
      xauthLocation: NO_XAUTH,
      trusted: true,
      timeoutSeconds: 1200,
      log: (level: number, message: string) => logged.push([level, message]),
      debug: (message: string) => debugged.push(message),
      ...overrides,
    },
  };
}

describe('X11 forwarding set-up', () => {
  test('x11-req data is RFC 4254 §6.3.1: single connection, protocol, cookie, screen', () => {
    const reader = new Reader(encodeX11Request({ singleConnection: false, protocol: 'MIT-MAGIC-COOKIE-1', cookieHex: 'a1b2', screen: 3 }));
    assert.equal(reader.boolean(), false);
    assert.equal(reader.text(), 'MIT-MAGIC-COOKIE-1');
    assert.equal(reader.text(), 'a1b2');
    assert.equal(reader.uint32(), 3);
    reader.end();
  });

  test('the x11 channel\'s originator address and port (RFC 4254 §6.3.2)', () => {
    assert.deepEqual(decodeX11Originator(new Writer().string('127.0.0.1').uint32(40522).finish()), { address: '127.0.0.1', port: 40522 });
    assert.equal(decodeX11Originator(Buffer.alloc(0)), undefined);
  });

  test('no DISPLAY: ssh\'s debug message and no forwarding', async () => {
    for (const display of [undefined, '']) {
      const run = options({ display });
      assert.equal(await prepareX11Authorization(run.options), undefined);
      assert.deepEqual(run.debugged, ['X11 forwarding requested but DISPLAY not set']);
    }
  });

  test('a DISPLAY with shell characters is refused', async () => {
    const run = options({ display: ':0;id' });
    assert.equal(await prepareX11Authorization(run.options), undefined);
    assert.deepEqual(run.logged, [[3, 'DISPLAY ":0;id" invalid; disabling X11 forwarding']]);
  });

  test('trusted without xauth data: a made-up 16-byte cookie, a different fake one of the same length', async () => {
    const run = options({});
    const authorization = await prepareX11Authorization(run.options);
    assert.ok(authorization);
    assert.deepEqual(run.logged, [[3, 'Warning: No xauth data; using fake authentication data for X11 forwarding.']]);
    assert.equal(authorization.protocol, 'MIT-MAGIC-COOKIE-1');
    assert.equal(authorization.realData.length, 16);
    assert.equal(authorization.fakeData.length, 16);
    assert.notDeepEqual(authorization.fakeData, authorization.realData);
    assert.equal(authorization.screen, 1);
    assert.deepEqual(authorization.target, { kind: 'unix', paths: ['/tmp/.X11-unix/X5'], displayNumber: 5, screen: 1 });
    assert.equal(authorization.refuseAfter, undefined, 'ForwardX11Timeout applies to untrusted forwarding only');
  });

  test('untrusted without xauth: refused, never a made-up cookie', async () => {
    const run = options({ trusted: false });
    assert.equal(await prepareX11Authorization(run.options), undefined);
    assert.deepEqual(run.logged, [[2, 'Warning: untrusted X11 forwarding setup failed: xauth key data not generated']]);
  });
});
