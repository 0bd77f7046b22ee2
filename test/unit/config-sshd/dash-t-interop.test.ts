// Every fixture is read by Tether and by the real sshd 9.2 (`sshd -T`), with and without the fixture's
// `-C` connection specifications, and the printed settings must be identical line for line. The parser is
// compared on everything sshd accepts, so keywords Tether refuses to act on are allowed here
// (allowUnimplemented); refusals are tested in unimplemented.test.ts.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dashTSettings, formatDashT, loadSshdConfig, SshdConfigError } from '../../../src/config/sshd/index.ts';
import { fixtureSpecs, installFixtures, makeScratch, runSshd, type Scratch } from './sshd-runner.ts';

let scratch: Scratch;
let fixtureDir: string;

before(() => {
  scratch = makeScratch();
  fixtureDir = join(scratch.dir, 'fixtures');
  installFixtures(fixtureDir);
});
after(() => scratch.remove());

/** What Tether prints for `sshd -T`, or the lines of the error it raises instead. */
function ours(file: string, spec?: string): { ok: boolean; lines: string[] } {
  try {
    const config = loadSshdConfig(file, { hostKeys: [scratch.hostKey], allowUnimplemented: true });
    return { ok: true, lines: formatDashT(dashTSettings(config, spec)).split('\n') };
  } catch (e) {
    if (!(e instanceof SshdConfigError)) throw e;
    return { ok: false, lines: [...e.sshdLines] };
  }
}

/**
 * Compares Tether with sshd for one invocation: the same settings line for line, or (when sshd refuses,
 * e.g. Match LocalPort without lport) the same error. Returns our lines and whether sshd succeeded.
 */
function compareEither(file: string, spec?: string): { ok: boolean; lines: string[] } {
  const real = runSshd(file, scratch.hostKey, spec === undefined ? {} : { spec });
  const mine = ours(file, spec);
  if (real.status !== 0) {
    assert.equal(mine.ok, false, `sshd refused ${file} (${real.stderrLines.join(' / ')}) but Tether accepted it`);
    assert.deepEqual(mine.lines, real.stderrLines);
    return mine;
  }
  assert.equal(mine.ok, true, `Tether refused ${file}: ${mine.lines.join(' / ')}`);
  const theirs = real.stdout.split('\n');
  // Compare keyword by keyword first so a failure names the setting, then the whole output (order too).
  const byKeyword = (lines: string[]): Map<string, string[]> => {
    const m = new Map<string, string[]>();
    for (const l of lines) {
      const k = l.split(' ')[0] as string;
      m.set(k, [...(m.get(k) ?? []), l]);
    }
    return m;
  };
  const a = byKeyword(mine.lines);
  for (const [keyword, lines] of byKeyword(theirs)) assert.deepEqual(a.get(keyword), lines, `${keyword} differs (${file} ${spec ?? ''})`);
  assert.deepEqual(mine.lines, theirs);
  return mine;
}

/** Like compareEither, but sshd must accept the configuration. */
function compare(file: string, spec?: string): string[] {
  const result = compareEither(file, spec);
  assert.ok(result.ok, `sshd -T failed for ${file}`);
  return result.lines;
}

describe('sshd -T compatibility on fixtures', () => {
  it('has at least 20 fixtures, all compared', () => {
    const files = readdirSync(fixtureDir).filter((f) => f.endsWith('.conf'));
    assert.ok(files.length >= 20, `only ${files.length} fixtures`);
    let specs = 0;
    for (const name of files) {
      const file = join(fixtureDir, name);
      let accepted = compareEither(file).ok ? 1 : 0;
      for (const spec of fixtureSpecs(readFileSync(file, 'utf8'))) {
        if (compare(file, spec).length > 0) accepted++;
        specs++;
      }
      assert.ok(accepted > 0, `${name}: sshd never accepted it`);
    }
    assert.ok(specs >= 30, `only ${specs} connection specifications compared`);
  });

  it('gateway policy: publickey refused from outside, allowed from 127.0.0.1, passwords everywhere', () => {
    const file = join(fixtureDir, 'gateway-policy.conf');
    const inside = compare(file, 'user=alice,host=127.0.0.1,addr=127.0.0.1,laddr=127.0.0.1,lport=2222');
    const outside = compare(file, 'user=alice,host=203.0.113.9,addr=203.0.113.9,laddr=127.0.0.1,lport=2222');
    assert.ok(inside.includes('pubkeyauthentication yes'));
    assert.ok(outside.includes('pubkeyauthentication no'));
    for (const lines of [inside, outside]) assert.ok(lines.includes('passwordauthentication yes'));
  });

  it('applies -p, -h and -o overrides like sshd', () => {
    const file = join(fixtureDir, 'first-value-wins.conf');
    const extra = ['-p', '4022', '-p', '4023', '-o', 'PasswordAuthentication=yes', '-o', 'MaxAuthTries 2'];
    const real = runSshd(file, scratch.hostKey, { extra });
    assert.equal(real.status, 0, real.stderrLines.join('\n'));
    const config = loadSshdConfig(file, {
      port: [4022, 4023],
      hostKeys: [scratch.hostKey],
      options: ['PasswordAuthentication=yes', 'MaxAuthTries 2'],
      allowUnimplemented: true,
    });
    const ours = formatDashT(dashTSettings(config));
    assert.equal(ours, real.stdout);
    assert.match(ours, /^port 4022\nport 4023\n/);
    assert.match(ours, /\npasswordauthentication yes\n/);
  });

  it('prints the defaults for an empty configuration', () => {
    const file = join(scratch.dir, 'empty.conf');
    writeFileSync(file, '');
    const lines = compare(file);
    assert.ok(lines.includes('permitrootlogin without-password'));
    assert.ok(lines.includes('authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2'));
    assert.ok(lines.includes('maxstartups 10:30:100'));
  });
});
