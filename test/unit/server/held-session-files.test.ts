/**
 * The server trusts no path its user's holder names (docs/PROTOCOL.sessions §9): the holder runs as the user,
 * so a session's ccache and agent socket are refreshed only when they have the shape the server gave them and
 * are absent or the user's own; anything else (another user's ccache, a system file) is left alone and logged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { HeldSessionCredentials, type ConnectionCredentials } from '../../../src/server/held-session-files.ts';
import type { ServerLogger } from '../../../src/server/logger.ts';

function recordingLog(): ServerLogger & { lines: string[] } {
  const lines: string[] = [];
  return { level: 'INFO', lines, error: (m) => lines.push(m), info: (m) => lines.push(m), verbose: () => {}, debug: () => {}, line: (m) => lines.push(m) } as ServerLogger & { lines: string[] };
}

test('a refreshed ccache goes only to a name the server made for this user', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-held-files-'));
  const source = join(dir, 'krb5cc_connection');
  writeFileSync(source, 'fresh ticket', { mode: 0o600 });
  const uid = process.getuid!();
  const credentials: ConnectionCredentials = {
    ccache: () => ({ ccacheName: `FILE:${source}`, path: source, remove: () => {} }),
    agent: () => undefined,
    newAgentListener: () => {
      throw new Error('not used');
    },
  };
  const log = recordingLog();
  const files = new HeldSessionCredentials(credentials, { uid, gid: process.getgid!(), switchUser: false }, log);
  const own = `/tmp/krb5cc_${uid}_${'A'.repeat(9)}${process.pid % 10}`;
  const foreign = join(dir, 'not-a-session-file');
  writeFileSync(foreign, 'keep me');
  try {
    files.attach({ ccache: foreign });
    assert.equal(readFileSync(foreign, 'utf8'), 'keep me', 'a path of another shape is not written');
    files.attach({ ccache: `/tmp/krb5cc_${uid + 1}_ABCDEFGHIJ` });
    assert.equal(log.lines.length, 2, log.lines.join('\n'));
    assert.match(log.lines[0]!, /not one made for it; left alone/);

    files.attach({ ccache: own });
    assert.equal(readFileSync(own, 'utf8'), 'fresh ticket', 'the session\'s own ccache is refreshed');
    assert.equal(statSync(own).mode & 0o777, 0o600);
    assert.equal(log.lines.length, 2);
  } finally {
    rmSync(own, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
