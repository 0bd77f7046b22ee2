/**
 * mergeRestrictions (auth-options.c sshauthopt_merge): what a certificate and its authorized_keys or
 * principals line, or two authentication steps, allow together.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mergeRestrictions } from '../../../src/auth/session-restrictions.ts';
import { UNRESTRICTED, type SessionRestrictions } from '../../../src/auth/server-auth.ts';

const none: SessionRestrictions = {
  permitPty: false, permitPortForwarding: false, permitAgentForwarding: false, permitX11Forwarding: false,
  permitUserRc: false, permitOpen: [], permitListen: [], environment: [],
};

describe('mergeRestrictions', () => {
  it('grants a permission only when both sides grant it', () => {
    const merged = mergeRestrictions(UNRESTRICTED, { ...none, permitPty: true });
    assert.ok(typeof merged !== 'string');
    assert.deepEqual(
      [merged.permitPty, merged.permitPortForwarding, merged.permitAgentForwarding, merged.permitX11Forwarding, merged.permitUserRc],
      [true, false, false, false, false],
    );
  });

  it('keeps one forced command, and refuses two that differ', () => {
    const forced = mergeRestrictions(UNRESTRICTED, { ...UNRESTRICTED, forcedCommand: 'date' });
    assert.ok(typeof forced !== 'string');
    assert.equal(forced.forcedCommand, 'date');
    const same = mergeRestrictions({ ...UNRESTRICTED, forcedCommand: 'date' }, { ...UNRESTRICTED, forcedCommand: 'date' });
    assert.ok(typeof same !== 'string' && same.forcedCommand === 'date');
    assert.equal(
      mergeRestrictions({ ...UNRESTRICTED, forcedCommand: 'date' }, { ...UNRESTRICTED, forcedCommand: 'id' }),
      'forced command options do not match',
    );
  });

  it('takes permitopen, permitlisten and environment from the first side when it has any', () => {
    const primary = { ...UNRESTRICTED, permitOpen: ['a:1'], permitListen: [], environment: [{ name: 'A', value: '1' }] };
    const other = { ...UNRESTRICTED, permitOpen: ['b:2'], permitListen: ['3'], environment: [{ name: 'B', value: '2' }] };
    const merged = mergeRestrictions(primary, other);
    assert.ok(typeof merged !== 'string');
    assert.deepEqual([merged.permitOpen, merged.permitListen, merged.environment], [['a:1'], ['3'], [{ name: 'A', value: '1' }]]);
  });
});
