/**
 * Configuration errors: messages, file and line, as `ssh -G` prints them; the permission check on user files.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, resolveSshConfigSync } from '../../../src/config/ssh/index.ts';
import { FIXTURES, sshDashG } from './corpus.ts';

const scratch = mkdtempSync(join(tmpdir(), 'tether-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const env: NodeJS.ProcessEnv = { ...process.env, HOME: scratch };

function resolveError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('bad configuration files report like ssh', () => {
  const dir = join(FIXTURES, 'errors');
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.conf')).sort()) {
    it(name, () => {
      const path = join(dir, name);
      const real = sshDashG(['-F', path, 'host1'], env);
      const err = resolveError(() => resolveSshConfigSync({ host: 'host1', configFile: path, env }));
      if (real.status === 0) assert.fail(`ssh accepted ${name}`);
      assert.equal(real.status, 255);
      assert.equal(err.report + '\n', real.stderr);
      assert.equal(err.message, real.stderr.split('\n')[0]);
      assert.equal(err.file, path);
      assert.ok(err.line !== undefined && err.line > 0);
    });
  }

  it('names the file and line of the first problem', () => {
    const path = join(scratch, 'cfg');
    writeFileSync(path, 'Host *\n  User ok\n  Foo bar\n');
    const err = resolveError(() => resolveSshConfigSync({ host: 'h', configFile: path, env }));
    assert.equal(err.message, `${path}: line 3: Bad configuration option: foo`);
    assert.equal(err.line, 3);
    assert.equal(err.report, `${path}: line 3: Bad configuration option: foo\n${path}: terminating, 1 bad configuration options`);
  });

  it('reports a bad -o option with ssh\'s command-line wording', () => {
    const real = sshDashG(['-F', 'none', '-o', 'Port=zero', 'h'], env);
    const err = resolveError(() => resolveSshConfigSync({ host: 'h', configFile: 'none', commandLineOptions: ['Port=zero'], env }));
    assert.equal(err.message, "command-line line 0: Bad port 'zero'.");
    assert.equal(err.message + '\n', real.stderr);
    const host = resolveError(() => resolveSshConfigSync({ host: 'h', configFile: 'none', commandLineOptions: ['Host x'], env }));
    assert.equal(host.message, 'Host directive not supported as a command-line option');
  });

  it('warns about unsupported options without failing', () => {
    const r = resolveSshConfigSync({ host: 'h', configFile: 'none', commandLineOptions: ['RSAAuthentication yes'], env });
    assert.deepEqual(r.warnings.map((w) => w.text), ['command-line line 0: Unsupported option "rsaauthentication"']);
  });

  it('refuses a missing -F file', () => {
    const err = resolveError(() => resolveSshConfigSync({ host: 'h', configFile: join(scratch, 'absent'), env }));
    assert.match(err.message, /^Can't open user config file .*absent: No such file or directory$/);
  });

  it('refuses host names with shell metacharacters', () => {
    const err = resolveError(() => resolveSshConfigSync({ host: 'a;b', configFile: 'none', env }));
    assert.equal(err.message, 'hostname contains invalid characters');
  });
});

describe('permission check on user configuration', () => {
  it('rejects a group- or world-writable ~/.ssh/config', () => {
    const home = join(scratch, 'home-perm');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    const config = join(home, '.ssh', 'config');
    writeFileSync(config, 'Host *\n  User fine\n');
    chmodSync(config, 0o600);
    const ok = resolveSshConfigSync({ host: 'h', homeDir: home, systemConfigFile: '/dev/null', env });
    assert.equal(ok.user, 'fine');
    chmodSync(config, 0o664);
    const err = resolveError(() => resolveSshConfigSync({ host: 'h', homeDir: home, systemConfigFile: '/dev/null', env }));
    assert.equal(err.message, `Bad owner or permissions on ${config}`);
    chmodSync(config, 0o646);
    assert.throws(() => resolveSshConfigSync({ host: 'h', homeDir: home, systemConfigFile: '/dev/null', env }), ConfigError);
  });

  it('rejects a file owned by another user', () => {
    const home = join(scratch, 'home-owner');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    const config = join(home, '.ssh', 'config');
    writeFileSync(config, 'User x\n');
    chmodSync(config, 0o600);
    const myUid = process.getuid!();
    if (myUid === 0) {
      // Root may give the file away; files owned by root itself are always accepted.
      chownSync(config, 65534, 65534);
      const err = resolveError(() => resolveSshConfigSync({ host: 'h', homeDir: home, systemConfigFile: '/dev/null', env }));
      assert.equal(err.message, `Bad owner or permissions on ${config}`);
    } else {
      // Pretend to be another uid: the file (owned by us, not root) is then "someone else's".
      const ok = resolveSshConfigSync({ host: 'h', homeDir: home, systemConfigFile: '/dev/null', uid: myUid, env });
      assert.equal(ok.user, 'x');
      const err = resolveError(() => resolveSshConfigSync({ host: 'h', homeDir: home, systemConfigFile: '/dev/null', uid: myUid + 1, env }));
      assert.equal(err.message, `Bad owner or permissions on ${config}`);
    }
  });

  it('checks included files too, like ssh', () => {
    const inc = join(scratch, 'writable.conf');
    writeFileSync(inc, 'User included\n');
    chmodSync(inc, 0o666);
    const main = join(scratch, 'main.conf');
    writeFileSync(main, `Include ${inc}\n`);
    const real = sshDashG(['-F', main, 'h'], env);
    const err = resolveError(() => resolveSshConfigSync({ host: 'h', configFile: main, env }));
    assert.equal(err.message + '\n', real.stderr);
    assert.equal(err.message, `Bad owner or permissions on ${inc}`);
  });
});
