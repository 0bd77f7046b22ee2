/** MaxStartups, PerSourceMaxStartups per PerSourceNetBlockSize block, and sshd's throttling log lines. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatTimeframe, StartupLimiter, type Admission } from '../../../src/server/max-startups.ts';
import { createLogger } from '../../../src/server/logger.ts';

function capture(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level: 'VERBOSE', destination: (line) => lines.push(line) }) };
}

function refusal(admission: Admission): string {
  assert.equal(admission.admitted, false, 'admitted');
  return admission.admitted ? '' : admission.reason;
}

describe('MaxStartups', () => {
  it('admits up to start, refuses at full, and releases on authentication', () => {
    const limiter = new StartupLimiter({ begin: 2, rate: 100, full: 3, perSource: null });
    const a = limiter.admit('10.0.0.1');
    const b = limiter.admit('10.0.0.2');
    assert.equal(a.admitted && b.admitted, true);
    const third = limiter.admit('10.0.0.3');
    assert.equal(refusal(third), 'random', 'rate 100% past start');
    assert.equal(!third.admitted && third.startups, 2, 'drop connection #N counts the unauthenticated');
    if (a.admitted) a.release();
    if (a.admitted) a.release(); // a second release changes nothing
    assert.equal(limiter.unauthenticated, 1);
    assert.equal(limiter.admit('10.0.0.3').admitted, true);
  });

  it('refuses everything at full', () => {
    const limiter = new StartupLimiter({ begin: 1, rate: 1, full: 1, perSource: null });
    assert.equal(limiter.admit('10.0.0.1').admitted, true);
    assert.equal(refusal(limiter.admit('10.0.0.2')), 'full');
  });

  it('drops at random between start and full at about the configured rate', () => {
    const limiter = new StartupLimiter({ begin: 1, rate: 50, full: 1000, perSource: null });
    assert.equal(limiter.admit('10.0.0.1').admitted, true);
    let dropped = 0;
    for (let i = 0; i < 400; i++) {
      const admission = limiter.admit('10.0.0.2');
      if (admission.admitted) admission.release();
      else dropped++;
    }
    // p = 50 + 50 * (1 - 1) / 999 = 50%: well inside 30%..70% for 400 draws.
    assert.ok(dropped > 120 && dropped < 280, `dropped ${dropped} of 400`);
  });

  it('logs the start and end of throttling as sshd does', () => {
    let now = 100;
    const { lines, logger } = capture();
    const limiter = new StartupLimiter({ begin: 2, rate: 100, full: 2, perSource: null }, logger, () => now);
    const held = [limiter.admit('10.0.0.1'), limiter.admit('10.0.0.2')];
    const first = limiter.admit('10.0.0.3');
    assert.equal(!first.admitted && first.level, 'info', 'the first drop is logged at INFO');
    const second = limiter.admit('10.0.0.3');
    assert.equal(!second.admitted && second.level, 'verbose', 'later drops at VERBOSE');
    now += 301;
    const periodic = limiter.admit('10.0.0.3');
    assert.equal(!periodic.admitted && periodic.level, 'info');
    for (const h of held) if (h.admitted) h.release();
    now += 4;
    assert.equal(limiter.admit('10.0.0.4').admitted, true);
    assert.deepEqual(lines, [
      'beginning MaxStartups throttling',
      'in MaxStartups throttling for 00:05:01, 3 connections dropped',
      'exited MaxStartups throttling after 00:05:05, 3 connections dropped',
    ]);
  });

  it('formats time frames as misc.c fmt_timeframe', () => {
    assert.equal(formatTimeframe(0), '00:00:00');
    assert.equal(formatTimeframe(3723), '01:02:03');
    assert.equal(formatTimeframe(86400 + 7200 + 180), '1d02h03m');
    assert.equal(formatTimeframe(8 * 86400 + 3600), '01w1d01h');
  });
});

describe('PerSourceMaxStartups and PerSourceNetBlockSize', () => {
  it('caps one address with the default /32', () => {
    const limiter = new StartupLimiter({ begin: 10, rate: 30, full: 100, perSource: 1 });
    assert.equal(limiter.admit('10.0.0.1').admitted, true);
    assert.equal(refusal(limiter.admit('10.0.0.1')), 'source');
    assert.equal(limiter.admit('10.0.0.2').admitted, true, 'another /32 is another source');
  });

  it('counts a whole /24 as one source (100 addresses cannot take every slot)', () => {
    const limiter = new StartupLimiter({ begin: 100, rate: 30, full: 200, perSource: 3, netBlockSize: { ipv4: 24, ipv6: 56 } });
    const results = Array.from({ length: 100 }, (_, i) => limiter.admit(`198.51.100.${i + 1}`).admitted);
    assert.equal(results.filter(Boolean).length, 3, 'three from the /24, the rest refused');
    assert.equal(limiter.admit('198.51.101.1').admitted, true, 'the next /24 is not affected');
  });

  it('groups IPv6 by its own prefix length, and releases per block', () => {
    const limiter = new StartupLimiter({ begin: 10, rate: 30, full: 100, perSource: 1, netBlockSize: { ipv4: 32, ipv6: 56 } });
    const a = limiter.admit('2001:db8:0:1::1');
    assert.equal(a.admitted, true);
    assert.equal(refusal(limiter.admit('2001:db8:0:ff::2')), 'source', 'same /56');
    assert.equal(limiter.admit('2001:db8:0:100::1').admitted, true, 'another /56');
    if (a.admitted) a.release();
    assert.equal(limiter.admit('2001:db8:0:2::1').admitted, true, 'released');
  });

  it('does not limit a peer without a numeric address per source', () => {
    const limiter = new StartupLimiter({ begin: 10, rate: 30, full: 100, perSource: 1 });
    assert.equal(limiter.admit('UNKNOWN').admitted, true);
    assert.equal(limiter.admit('UNKNOWN').admitted, true);
  });
});
