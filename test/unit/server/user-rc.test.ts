/**
 * The rc prologue (user-rc.ts) run directly with /bin/sh: which file runs, what it gets on stdin (the X11
 * "PROTO COOKIE" line, once the server forwards X11), xauth's commands when neither file exists, and the
 * program exec'd afterwards with its arguments intact. The interop test covers it through a real server.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withRcFiles, type RcFilesRequest } from '../../../src/server/user-rc.ts';
import type { SessionProgram } from '../../../src/sessions/session-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'tether rc-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const home = join(dir, 'home dir');
mkdirSync(join(home, '.ssh'), { recursive: true });
const program: SessionProgram = { file: '/bin/sh', args: ['-c', 'echo "program: $1 [$TETHER_RC_INPUT]"', 'sh', 'arg with space'], env: { PATH: '/usr/bin:/bin' }, cwd: dir };
const x11 = { display: 'localhost:10.0', protocol: 'MIT-MAGIC-COOKIE-1', cookie: '00ff', xauthLocation: join(dir, 'xauth') };
writeFileSync(x11.xauthLocation, `#!/bin/sh\necho "xauth $*" > ${JSON.stringify(join(dir, 'xauth.out'))}\ncat >> ${JSON.stringify(join(dir, 'xauth.out'))}\n`, { mode: 0o755 });

function runWrapped(request: Partial<RcFilesRequest>): string {
  const wrapped = withRcFiles(program, { home, shell: '/bin/sh', userRcAllowed: true, systemRc: join(dir, 'sshrc'), ...request });
  const result = spawnSync(wrapped.file, wrapped.args, { env: wrapped.env, cwd: wrapped.cwd, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

describe('rc files before the session program', () => {
  it('nothing to run: the program is left as it is', () => {
    assert.deepEqual(withRcFiles(program, { home, shell: '/bin/sh', userRcAllowed: true, systemRc: join(dir, 'none') }), program);
  });

  it('~/.ssh/rc (in a home with a space) gets the X11 line on stdin; the variables carrying it are gone', () => {
    writeFileSync(join(home, '.ssh', 'rc'), 'read line; echo "rc: $line [$TETHER_RC_INPUT$TETHER_XAUTH_INPUT]"\n');
    writeFileSync(join(dir, 'sshrc'), 'echo system\n');
    assert.equal(runWrapped({ x11 }), 'rc: MIT-MAGIC-COOKIE-1 00ff []\nprogram: arg with space []\n');
    assert.equal(runWrapped({ userRcAllowed: false }), 'system\nprogram: arg with space []\n');
    rmSync(join(home, '.ssh', 'rc'));
    rmSync(join(dir, 'sshrc'));
  });

  it('with neither file and X11 on, xauth is fed "remove" and "add" for the display', () => {
    assert.equal(runWrapped({ x11 }), 'program: arg with space []\n');
    assert.equal(readFileSync(join(dir, 'xauth.out'), 'utf8'), 'xauth -q -\nremove localhost:10.0\nadd localhost:10.0 MIT-MAGIC-COOKIE-1 00ff\n');
  });
});
