/**
 * PerSourcePenalties as OpenSSH 9.8's srclimit.c applies them (accumulation per block up to max, activation
 * past min, expiry, exemptions, the table's bounds), how a pre-auth connection's end maps to a penalty, and
 * the keyword's parsing and `sshd -T` line.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PenaltyTable, classifyPreauthEnd, type PenaltyPolicy } from '../../../src/server/penalties.ts';
import { netBlockOf } from '../../../src/server/net-block.ts';
import { createLogger } from '../../../src/server/logger.ts';
import { PER_SOURCE_PENALTY_DEFAULTS, type PerSourcePenalties } from '../../../src/config/sshd/per-source-penalties.ts';
import { dashTSettings, formatDashT, parseSshdConfigText, SshdConfigError } from '../../../src/config/sshd/index.ts';
import { DecodeError, DisconnectError, ProtocolError } from '../../../src/wire/errors.ts';

interface Fixture {
  table: PenaltyTable;
  lines: string[];
  advance(seconds: number): void;
}

function fixture(penalties: Partial<PerSourcePenalties>, extra: Partial<PenaltyPolicy> = {}): Fixture {
  let now = 1000;
  const lines: string[] = [];
  const policy: PenaltyPolicy = {
    penalties: { ...PER_SOURCE_PENALTY_DEFAULTS, enabled: true, ...penalties },
    exemptList: null,
    netBlockSize: { ipv4: 32, ipv6: 128 },
    ...extra,
  };
  const logger = createLogger({ level: 'DEBUG', destination: (line) => lines.push(line) });
  return { table: new PenaltyTable(policy, logger, () => now), lines, advance: (s) => (now += s) };
}

describe('PerSourcePenalties table', () => {
  it('defers a penalty below min, activates it once accumulated past min, and lets it expire', () => {
    const { table, lines, advance } = fixture({ authfail: 5, min: 8, max: 12 });
    table.penalise('192.0.2.7', 'authfail');
    assert.equal(table.check('192.0.2.7'), null, '5 s is not more than min');
    table.penalise('192.0.2.7', 'authfail');
    assert.equal(table.check('192.0.2.7'), 'penalty: failed authentication');
    assert.equal(table.check('192.0.2.8'), null, 'another /32');
    table.penalise('192.0.2.7', 'authfail');
    advance(11.9);
    assert.notEqual(table.check('192.0.2.7'), null, 'capped at max (12 s from the last penalty), not 15');
    advance(0.2);
    assert.equal(table.check('192.0.2.7'), null, 'expired');
    assert.equal(table.size(4), 0);
    assert.deepEqual(lines.filter((l) => !l.startsWith('debug1: ')), [
      'srclimit_penalise: ipv4: new 192.0.2.7/32 deferred penalty of 5 seconds for penalty: failed authentication',
      'srclimit_penalise: 192.0.2.7/32: activating ipv4 penalty of 10 seconds for penalty: failed authentication',
    ]);
    assert.ok(lines.includes('debug1: srclimit_penalise: inactive penalty for ipv4 192.0.2.7/32 already exists, 5 seconds remaining'));
  });

  it('activates at once a penalty longer than min, with the reason of the latest event', () => {
    const { table, lines } = fixture({ crash: 90, noauth: 1, min: 15 });
    table.penalise('2001:db8::1', 'crash');
    assert.equal(table.check('2001:db8::1'), 'penalty: caused crash');
    assert.equal(lines[0], 'srclimit_penalise: ipv6: new 2001:db8::1/128 active penalty of 90 seconds for penalty: caused crash');
    table.penalise('2001:db8::1', 'noauth');
    assert.equal(table.check('2001:db8::1'), 'penalty: connections without attempting authentication');
  });

  it('names each kind as sshd does', () => {
    const { table } = fixture({ crash: 20, authfail: 20, noauth: 20, graceExceeded: 20, min: 1 });
    const reasons = (['crash', 'authfail', 'noauth', 'grace-exceeded'] as const).map((kind, i) => {
      table.penalise(`198.51.100.${i}`, kind);
      return table.check(`198.51.100.${i}`);
    });
    assert.deepEqual(reasons, [
      'penalty: caused crash',
      'penalty: failed authentication',
      'penalty: connections without attempting authentication',
      'penalty: exceeded LoginGraceTime',
    ]);
  });

  it('penalises the whole PerSourceNetBlockSize block', () => {
    const { table } = fixture({ authfail: 30, min: 1 }, { netBlockSize: { ipv4: 24, ipv6: 48 } });
    table.penalise('203.0.113.9', 'authfail');
    assert.notEqual(table.check('203.0.113.200'), null, 'same /24');
    assert.equal(table.check('203.0.114.1'), null, 'next /24');
    table.penalise('2001:db8:1:2::5', 'authfail');
    assert.notEqual(table.check('2001:db8:1:ffff::1'), null, 'same /48');
    assert.equal(table.check('2001:db8:2::1'), null);
  });

  it('never penalises an exempt address (PerSourcePenaltyExemptList, with negation)', () => {
    const { table } = fixture({ authfail: 30, min: 1 }, { exemptList: '10.0.0.0/8,!10.9.9.9' });
    table.penalise('10.1.2.3', 'authfail');
    assert.equal(table.check('10.1.2.3'), null);
    assert.equal(table.size(4), 0, 'not even recorded');
    table.penalise('10.9.9.9', 'authfail');
    assert.notEqual(table.check('10.9.9.9'), null, 'the negated entry is not exempt');
  });

  it('does nothing when disabled, for a zero penalty, or for a peer without an address', () => {
    const off = fixture({ enabled: false, authfail: 30, min: 1 });
    off.table.penalise('192.0.2.1', 'authfail');
    assert.equal(off.table.check('192.0.2.1'), null);
    const zero = fixture({ noauth: 0, min: 0 });
    zero.table.penalise('192.0.2.1', 'noauth');
    assert.equal(zero.table.size(4), 0);
    zero.table.penalise('UNKNOWN', 'crash');
    assert.equal(zero.table.check('UNKNOWN'), null);
  });

  it('overflow:permissive forgets the penalties closest to expiring when the table is full', () => {
    const { table } = fixture({ authfail: 30, min: 1, maxSources4: 2 });
    table.penalise('192.0.2.1', 'authfail');
    table.penalise('192.0.2.1', 'authfail'); // 60 s: expires last
    table.penalise('192.0.2.2', 'authfail');
    table.penalise('192.0.2.3', 'authfail');
    assert.equal(table.size(4), 2);
    assert.notEqual(table.check('192.0.2.1'), null);
    assert.equal(table.check('192.0.2.2') === null || table.check('192.0.2.3') === null, true, 'one 30 s entry was dropped');
    assert.equal(table.check('192.0.2.99'), null, 'others still admitted');
  });

  it('overflow:deny-all refuses every source while the table is full, and overflow6 follows its own setting', () => {
    const { table, lines } = fixture({ authfail: 30, min: 1, maxSources4: 1, overflow: 'deny-all', overflow6: 'permissive', maxSources6: 1 });
    table.penalise('192.0.2.1', 'authfail');
    table.penalise('192.0.2.2', 'authfail');
    assert.ok(lines.includes('srclimit_penalise: ipv4 penalty table full, cannot penalise 192.0.2.2/32 for penalty: failed authentication'));
    assert.equal(table.check('192.0.2.50'), 'too many penalised addresses');
    table.penalise('2001:db8::1', 'authfail');
    assert.equal(table.check('2001:db8::2'), null, 'IPv6 is permissive');
  });
});

describe('pre-auth ends as penalties', () => {
  const end = (over: Partial<Parameters<typeof classifyPreauthEnd>[0]>) =>
    classifyPreauthEnd({ graceExceeded: false, authAttempted: false, error: null, ...over });
  it('maps the ways a connection ends unauthenticated as sshd maps its exit statuses', () => {
    assert.equal(end({}), 'noauth', 'closed without trying (ssh-keyscan)');
    assert.equal(end({ authAttempted: true }), 'authfail');
    assert.equal(end({ authAttempted: true, error: new ProtocolError('Too many authentication failures') }), 'authfail');
    assert.equal(end({ graceExceeded: true, authAttempted: true }), 'grace-exceeded');
    assert.equal(end({ error: new DecodeError('truncated') }), 'noauth', "a typed protocol error is sshd's fatal(), exit 255");
    assert.equal(end({ error: new DisconnectError('bye', 11, true) }), 'noauth');
    assert.equal(end({ error: new TypeError("Cannot read properties of undefined (reading 'length')") }), 'crash');
    assert.equal(end({ error: new RangeError('The value of "offset" is out of range.'), authAttempted: true }), 'crash');
    const aborted = new DisconnectError('internal error', 11, false);
    assert.equal(end({ crashed: true, error: aborted }), 'crash', 'an uncaught exception the containment guard ended');
    const socketError = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });
    assert.equal(end({ error: socketError }), 'noauth');
  });
});

describe('net blocks', () => {
  it('masks and names addresses as srclimit.c logs them', () => {
    assert.equal(netBlockOf('192.0.2.77', { ipv4: 24, ipv6: 64 })?.label, '192.0.2.0/24');
    assert.equal(netBlockOf('192.0.2.77', { ipv4: 0, ipv6: 64 })?.label, '0.0.0.0/0');
    assert.equal(netBlockOf('2001:db8:aa:bb:1:2:3:4', { ipv4: 32, ipv6: 56 })?.label, '2001:db8:aa::/56');
    assert.equal(netBlockOf('2001:0:0:1:0:0:0:1', { ipv4: 32, ipv6: 128 })?.label, '2001:0:0:1::1/128');
    assert.equal(netBlockOf('::1', { ipv4: 32, ipv6: 128 })?.label, '::1/128');
    assert.equal(netBlockOf('2001:db8:1:0:1:0:1:0', { ipv4: 32, ipv6: 128 })?.label, '2001:db8:1:0:1:0:1:0/128');
    assert.equal(netBlockOf('not-an-address', { ipv4: 32, ipv6: 128 }), null);
  });
});

describe('PerSourcePenalties configuration', () => {
  const settings = (text: string) => parseSshdConfigText(`HostKey /k\n${text}\n`, 'cfg').settings;
  const refusal = (text: string): string => {
    try {
      parseSshdConfigText(`HostKey /k\n${text}\n`, 'cfg');
    } catch (error) {
      assert.ok(error instanceof SshdConfigError);
      return error.sshdLines[0]!;
    }
    assert.fail(`accepted: ${text}`);
  };

  it("is off unless configured (OpenSSH 9.2's behaviour), with OpenSSH 9.8's values once on", () => {
    assert.equal(settings('').perSourcePenalties.enabled, false);
    assert.deepEqual(settings('PerSourcePenalties yes').perSourcePenalties, { ...PER_SOURCE_PENALTY_DEFAULTS, enabled: true });
    assert.equal(settings('PerSourcePenalties no').perSourcePenalties.enabled, false);
  });

  it('reads each item, first value wins per item, and any item turns penalties on', () => {
    const p = settings('PerSourcePenalties no\nPerSourcePenalties authfail:2s max:1m min:1 overflow:deny-all max-sources6:7\nPerSourcePenalties authfail:9 crash:3').perSourcePenalties;
    assert.deepEqual(p, {
      ...PER_SOURCE_PENALTY_DEFAULTS,
      enabled: true, authfail: 2, max: 60, min: 1, crash: 3, overflow: 'deny-all', overflow6: 'deny-all', maxSources6: 7,
    });
    assert.equal(settings('PerSourcePenalties overflow:deny-all overflow6:permissive').perSourcePenalties.overflow6, 'permissive');
    assert.equal(settings('PerSourcePenaltyExemptList 10.0.0.0/8,192.0.2.1').perSourcePenaltyExemptList, '10.0.0.0/8,192.0.2.1');
    assert.equal(settings('PerSourcePenaltyExemptList none').perSourcePenaltyExemptList, null);
  });

  it("refuses what sshd 9.8 refuses, with its messages", () => {
    assert.equal(refusal('PerSourcePenalties yes crash:1'), 'cfg line 2: keyword PerSourcePenalties "yes" argument must appear alone.');
    assert.equal(refusal('PerSourcePenalties bogus:1'), 'cfg line 2: unsupported PerSourcePenalties keyword bogus:1');
    assert.equal(refusal('PerSourcePenalties Crash:1'), 'cfg line 2: unsupported PerSourcePenalties keyword Crash:1');
    assert.equal(refusal('PerSourcePenalties noauth:soon'), 'cfg line 2: invalid PerSourcePenalties time value.');
    assert.equal(refusal('PerSourcePenalties max-sources4:-1'), 'cfg line 2: PerSourcePenalties value too small.');
    assert.equal(refusal('PerSourcePenaltyExemptList 10.0.0.1/8'), 'cfg line 2: keyword PerSourcePenaltyExemptList invalid address argument.');
    assert.equal(refusal('Match User x\n  PerSourcePenalties yes'), "cfg line 3: Directive 'PerSourcePenalties' is not allowed within a Match block");
  });

  it('prints OpenSSH 9.8\'s -T lines when the configuration uses them, and nothing new otherwise', () => {
    const dump = (text: string) => formatDashT(dashTSettings(parseSshdConfigText(`HostKey /k\n${text}\n`, 'cfg')));
    assert.doesNotMatch(dump(''), /persourcepenalt/);
    const lines = dump('PerSourcePenalties authfail:2 min:1\nPerSourcePenaltyExemptList 10.0.0.0/8').split('\n');
    assert.ok(lines.includes('persourcepenaltyexemptlist 10.0.0.0/8'));
    assert.equal(
      lines.at(-2),
      'persourcepenalties crash:90 authfail:2 noauth:1 grace-exceeded:20 max:600 min:1 max-sources4:65536 max-sources6:65536 overflow:permissive overflow6:permissive',
    );
    assert.ok(dump('PerSourcePenaltyExemptList 10.0.0.0/8').includes('\npersourcepenalties no\n'));
    // What -T prints reads back to the same settings (regress cfgparse.sh round-trips sshd -T output).
    const again = dump(lines.filter((l) => l.startsWith('persourcepenalt')).join('\n'));
    assert.ok(again.includes(lines.at(-2)!));
  });
});
