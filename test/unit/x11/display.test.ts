import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DisplayError, isValidDisplay, parseDisplay, screenNumber, xauthDisplayName } from '../../../src/client/x11/display.ts';

describe('X11 $DISPLAY parsing', () => {
  test('local displays connect to /tmp/.X11-unix/XN', () => {
    assert.deepEqual(parseDisplay(':0'), { kind: 'unix', paths: ['/tmp/.X11-unix/X0'], displayNumber: 0, screen: 0 });
    assert.deepEqual(parseDisplay(':12.1'), { kind: 'unix', paths: ['/tmp/.X11-unix/X12'], displayNumber: 12, screen: 1 });
    assert.deepEqual(parseDisplay('unix:3'), { kind: 'unix', paths: ['/tmp/.X11-unix/X3'], displayNumber: 3, screen: 0 });
    assert.deepEqual(parseDisplay('unix:3.2'), { kind: 'unix', paths: ['/tmp/.X11-unix/X3'], displayNumber: 3, screen: 2 });
  });

  test('host:N connects over TCP to port 6000 + N', () => {
    assert.deepEqual(parseDisplay('localhost:10.0'), { kind: 'tcp', host: 'localhost', port: 6010, displayNumber: 10, screen: 0 });
    assert.deepEqual(parseDisplay('192.0.2.7:2.1'), { kind: 'tcp', host: '192.0.2.7', port: 6002, displayNumber: 2, screen: 1 });
  });

  test('a launchd socket path is tried whole, then without its ":N"', () => {
    const display = '/private/tmp/com.apple.launchd.AbC/org.xquartz:0';
    assert.deepEqual(parseDisplay(display), {
      kind: 'unix',
      paths: [display, '/private/tmp/com.apple.launchd.AbC/org.xquartz'],
      displayNumber: 0,
      screen: 0,
    });
  });

  test('unusable values fail with ssh\'s messages', () => {
    assert.throws(() => parseDisplay('somehost'), new DisplayError("Could not find ':' in DISPLAY: somehost"));
    assert.throws(() => parseDisplay(':x'), new DisplayError('Could not parse display number from DISPLAY: :x'));
    assert.throws(() => parseDisplay('host:'), new DisplayError('Could not parse display number from DISPLAY: host:'));
    assert.throws(() => parseDisplay('host:60000'), /Could not parse display number/);
  });

  test('only [A-Za-z0-9:/._-] is a valid display (the name is handed to xauth)', () => {
    for (const good of [':0', 'localhost:10.0', 'unix:1', '/tmp/launch-x/org.x:0', 'my-host_1.example:3']) assert.ok(isValidDisplay(good), good);
    for (const bad of ['', ':0; rm -rf /', 'host :0', ':0\n', '$(id):0', 'a`b`:0']) assert.ok(!isValidDisplay(bad), bad);
  });

  test('the screen number is the part after the first "." past the ":"', () => {
    assert.equal(screenNumber(':0'), 0);
    assert.equal(screenNumber(':0.3'), 3);
    assert.equal(screenNumber('host.example.com:1.2'), 2);
    assert.equal(screenNumber(':0.999'), 0, 'out of range like strtonum: 0');
  });

  test('xauth looks up localhost:N under unix:N (the local family)', () => {
    assert.equal(xauthDisplayName('localhost:10.0'), 'unix:10.0');
    assert.equal(xauthDisplayName(':0'), ':0');
    assert.equal(xauthDisplayName('otherhost:1'), 'otherhost:1');
  });
});
