/**
 * The local terminal's settings as pty-req modes (RFC 4254 §8 opcodes, ttymodes.c order): parsed from
 * `stty -a` as GNU coreutils prints it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSttyReport } from '../../../src/client/terminal-modes.ts';

const GNU_REPORT = `speed 9600 baud; rows 24; columns 80; line = 0;
intr = ^B; quit = ^\\; erase = ^H; kill = ^U; eof = ^D; eol = <undef>;
eol2 = <undef>; swtch = <undef>; start = ^Q; stop = ^S; susp = ^Z; rprnt = ^R;
werase = ^W; lnext = ^V; discard = ^O; min = 1; time = 0;
-parenb -parodd -cmspar cs8 -hupcl -cstopb cread -clocal -crtscts
-ignbrk -brkint -ignpar -parmrk -inpck -istrip -inlcr -igncr icrnl ixon -ixoff
-iuclc -ixany imaxbel iutf8
opost -olcuc -ocrnl onlcr -onocr -onlret -ofill -ofdel nl0 cr0 tab0 bs0 vt0 ff0
isig icanon iexten -echo echoe echok -echonl -noflsh -xcase -tostop -echoprt
echoctl echoke -flusho -extproc
`;

describe('terminal modes from stty -a', () => {
  const modes = new Map(parseSttyReport(GNU_REPORT));

  it('sends the speeds first, output then input, as ssh does', () => {
    assert.deepEqual(parseSttyReport(GNU_REPORT).slice(0, 2), [[129, 9600], [128, 9600]]);
  });

  it('encodes control characters, a disabled one as 255', () => {
    assert.equal(modes.get(1), 2); // VINTR ^B
    assert.equal(modes.get(2), 0x1c); // VQUIT ^\
    assert.equal(modes.get(3), 8); // VERASE ^H
    assert.equal(modes.get(6), 255); // VEOL <undef>
    assert.equal(modes.get(18), 0x0f); // VDISCARD ^O
    assert.equal(modes.has(16), false); // swtch: not sent by ssh on Linux
  });

  it('encodes flags by their RFC 4254 opcodes', () => {
    assert.equal(modes.get(36), 1); // ICRNL
    assert.equal(modes.get(53), 0); // ECHO off
    assert.equal(modes.get(59), 1); // IEXTEN
    assert.equal(modes.get(60), 1); // ECHOCTL
    assert.equal(modes.get(61), 1); // ECHOKE
    assert.equal(modes.get(42), 1); // IUTF8
    assert.equal(modes.get(92), 0); // PARENB
    assert.equal(modes.get(90), 1); // CS7, as (c_cflag & CS7) != 0 for cs8
    assert.equal(modes.get(91), 1); // CS8
    assert.equal(modes.has(0), false);
  });

  it('reads separate input and output speeds and meta characters', () => {
    const other = new Map(parseSttyReport('ispeed 2400 baud; ospeed 4800 baud;\nintr = M-^C; erase = ^?; kill = x;\necho'));
    assert.equal(other.get(128), 2400);
    assert.equal(other.get(129), 4800);
    assert.equal(other.get(1), 0x83);
    assert.equal(other.get(3), 0x7f);
    assert.equal(other.get(4), 0x78);
    assert.equal(other.get(53), 1);
  });
});
