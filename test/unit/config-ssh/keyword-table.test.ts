/**
 * The support table (what Tether does with each ssh_config keyword) covers exactly the keywords the parser
 * knows, so no keyword can be accepted without a decision to enforce, refuse or ignore it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KEYWORDS } from '../../../src/config/ssh/keywords.ts';
import { SUPPORT } from '../../../src/config/ssh/support.ts';

describe('ssh_config support table', () => {
  it('lists every keyword the parser knows, once, and no other', () => {
    const listed = SUPPORT.map(([name]) => name.toLowerCase());
    assert.deepEqual(listed.filter((n, i) => listed.indexOf(n) !== i), [], 'listed twice');
    assert.deepEqual([...KEYWORDS.keys()].filter((k) => !listed.includes(k)).sort(), [], 'parsed but not listed');
    assert.deepEqual(listed.filter((k) => !KEYWORDS.has(k)).sort(), [], 'listed but not parsed');
  });
});
