// The support table (what Tether does with each sshd_config keyword) covers exactly the keywords the parser
// knows, and README.md's "Configuration keywords" section is the text generated from both tables.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../helpers/tether.ts';
import { describe, it } from 'node:test';
import { keywordSection, withKeywordSection } from '../../../src/config/keyword-docs.ts';
import { KEYWORDS } from '../../../src/config/sshd/keywords.ts';
import { SUPPORT, UNIMPLEMENTED } from '../../../src/config/sshd/support.ts';

describe('sshd_config support table', () => {
  it('lists every keyword the parser knows, once, and no other', () => {
    const listed = SUPPORT.map(([name]) => name.toLowerCase());
    assert.deepEqual(listed.filter((n, i) => listed.indexOf(n) !== i), [], 'listed twice');
    assert.deepEqual([...KEYWORDS.keys()].filter((k) => !listed.includes(k)).sort(), [], 'parsed but not listed');
    assert.deepEqual(listed.filter((k) => !KEYWORDS.has(k)).sort(), [], 'listed but not parsed');
  });

  it('gives aliases of one option the same decision', () => {
    for (const [name, support] of SUPPORT) {
      const option = KEYWORDS.get(name.toLowerCase())!.option;
      if (support.kind === 'refused') assert.equal(UNIMPLEMENTED[option], support, name);
      else assert.equal(UNIMPLEMENTED[option], undefined, `${name} is ${support.kind} but another spelling of it is refused`);
    }
  });
});

describe('README.md', () => {
  it('documents the keywords as the tables say (node scripts/config-keywords.ts regenerates it)', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    assert.ok(readme.includes(keywordSection()), 'README.md "Configuration keywords" is out of date');
    assert.equal(withKeywordSection(readme), readme);
  });
});
