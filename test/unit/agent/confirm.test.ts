/**
 * The confirm constraint's consent check: SSH_ASKPASS run with SSH_ASKPASS_PROMPT=confirm, allowed only on
 * exit 0 with an empty or "yes" answer, refused when the program is missing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { askpassConfirm } from '../../../src/agent/confirm.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-confirm-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return path;
}

describe('askpassConfirm', () => {
  it('passes the prompt and SSH_ASKPASS_PROMPT=confirm, and allows on exit 0 with no output', async () => {
    const log = join(dir, 'log');
    const program = script('allow', `printf '%s|%s' "$SSH_ASKPASS_PROMPT" "$1" > ${log}; exit 0`);
    assert.equal(await askpassConfirm({ SSH_ASKPASS: program })('Allow use of key k?'), true);
    assert.equal(readFileSync(log, 'utf8'), 'confirm|Allow use of key k?');
  });

  it('allows on "yes", refuses on other answers, non-zero exit, or a missing program', async () => {
    assert.equal(await askpassConfirm({ SSH_ASKPASS: script('yes', 'echo yes') })('q'), true);
    assert.equal(await askpassConfirm({ SSH_ASKPASS: script('no', 'echo no') })('q'), false);
    assert.equal(await askpassConfirm({ SSH_ASKPASS: script('fail', 'exit 1') })('q'), false);
    assert.equal(await askpassConfirm({ SSH_ASKPASS: join(dir, 'does-not-exist') })('q'), false);
  });
});
