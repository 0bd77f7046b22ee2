// Rewrites README.md's "Configuration keywords" section from the parsers' support tables:
//   node_modules/.bin/node scripts/config-keywords.ts
// (test/unit/config-sshd/keyword-table.test.ts fails when the README and the tables disagree.)
import { readFileSync, writeFileSync } from 'node:fs';
import { withKeywordSection } from '../src/config/keyword-docs.ts';

const path = new URL('../README.md', import.meta.url);
writeFileSync(path, withKeywordSection(readFileSync(path, 'utf8')));
