/**
 * The newest ssh-audit (../shared/tools/ssh-audit, or $TETHER_SSH_AUDIT) against `tether server`: the
 * built-in default configuration has no failures (no NIST-curve kex, group exchange of 3072 bits or more,
 * encrypt-then-MAC only, post-quantum kex first), and profiles/hardened.conf, included at the top of that
 * same configuration, has neither failures nor warnings. Debian's ssh-audit 2.5 does not know the
 * post-quantum methods (it warns "unknown algorithm"), so this needs the newer one and fails without it;
 * test/interop/server-cli.test.ts runs Debian's too.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir } from '../helpers/openssh.ts';
import { REPO_ROOT, runTether, startTetherCollecting } from '../helpers/tether.ts';
import { stopProcess } from '../helpers/processes.ts';
import { run } from './server-harness.ts';
import { defaultConfigText } from '../../src/server/default-config.ts';

const SSH_AUDIT = process.env.TETHER_SSH_AUDIT ?? join(REPO_ROOT, '..', 'shared', 'tools', 'ssh-audit', 'ssh-audit.py');
const HARDENED = join(REPO_ROOT, 'profiles', 'hardened.conf');

interface Audited {
  algorithm: string;
  keysize?: number;
  notes?: { fail?: string[]; warn?: string[] };
}
interface Audit {
  kex: Audited[];
  key: Audited[];
  enc: Audited[];
  mac: Audited[];
  cves: unknown[];
}

/** Runs ssh-audit -j; returns its report, exit status (0 good, 2 warnings, 3 failures) and notes by kind. */
async function audit(port: number): Promise<{ report: Audit; status: number | null; fail: string[]; warn: string[] }> {
  assert.ok(existsSync(SSH_AUDIT), `the newest ssh-audit is missing: expected ${SSH_AUDIT} (or set TETHER_SSH_AUDIT)`);
  const result = await run('python3', [SSH_AUDIT, '-n', '-j', '-p', String(port), '127.0.0.1'], { timeoutMs: 60_000 });
  const report = JSON.parse(result.stdout.toString()) as Audit;
  const entries = [...report.kex, ...report.key, ...report.enc, ...report.mac];
  const notes = (kind: 'fail' | 'warn') => entries.flatMap((e) => (e.notes?.[kind] ?? []).map((note) => `${e.algorithm}: ${note}`));
  return { report, status: result.status, fail: [...notes('fail'), ...report.cves.map((cve) => JSON.stringify(cve))], warn: notes('warn') };
}

async function startServer(args: string[], env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const { child, stderr } = startTetherCollecting(['server', '-D', ...args], { env });
  for (let i = 0; i < 300 && !stderr().includes('Server listening'); i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(stderr(), /Server listening on 127\.0\.0\.1 port \d+\./);
  return child;
}

describe('ssh-audit (newest) against tether server', () => {
  let stateDir: string;
  let defaultPort: number;
  let hardenedPort: number;
  let hardened: string;
  const servers: ChildProcess[] = [];

  before(async () => {
    stateDir = tempDir('tether-audit-');
    [defaultPort, hardenedPort] = [await freePort(), await freePort()];
    const env = { TETHER_STATE_DIR: stateDir };
    // No configuration file: the embedded default (and its host keys, generated into the state directory).
    servers.push(await startServer(['-p', String(defaultPort)], env));
    // The profile as a user would apply it: Include at the top of the configuration.
    hardened = join(stateDir, 'sshd_config_hardened');
    writeFileSync(hardened, `Include ${HARDENED}\n${defaultConfigText({ port: hardenedPort, stateDir })}`);
    servers.push(await startServer(['-f', hardened], env));
  });
  after(async () => {
    for (const server of servers) await stopProcess(server);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('the default configuration: no failures, post-quantum first, 3072-bit group exchange, etm MACs', async () => {
    const { report, status, fail } = await audit(defaultPort);
    assert.deepEqual(fail, []);
    assert.notEqual(status, 3, 'ssh-audit exits 3 on failures');
    const kex = report.kex.map((k) => k.algorithm);
    assert.equal(kex[0], 'mlkem768x25519-sha256');
    assert.ok(kex.includes('sntrup761x25519-sha512'));
    assert.ok(!kex.some((k) => k.includes('nistp')), kex.join(','));
    const gex = report.kex.find((k) => k.algorithm === 'diffie-hellman-group-exchange-sha256');
    assert.ok(gex?.keysize !== undefined && gex.keysize >= 3072, `group exchange modulus ${gex?.keysize}`);
    assert.ok(report.mac.every((m) => m.algorithm.endsWith('-etm@openssh.com')), report.mac.map((m) => m.algorithm).join(','));
  });

  it('the hardened profile: no failures and no warnings', async () => {
    const { report, status, fail, warn } = await audit(hardenedPort);
    assert.deepEqual(fail, []);
    assert.deepEqual(warn, []);
    assert.equal(status, 0);
    assert.deepEqual(report.kex.map((k) => k.algorithm).filter((k) => !k.startsWith('kex-strict')), [
      'mlkem768x25519-sha256', 'sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com',
    ]);
  });

  it('the hardened profile turns on PerSourcePenalties with 9.8\'s defaults; the default leaves them off, as 9.2', async () => {
    const effective = async (args: string[]) => {
      const result = await runTether(['server', '-T', ...args], { env: { ...process.env, TETHER_STATE_DIR: stateDir } });
      assert.equal(result.status, 0, result.stderr.toString());
      return result.stdout.toString().split('\n').find((line) => line.startsWith('persourcepenalties ')) ?? '';
    };
    assert.equal(await effective(['-f', hardened]), 'persourcepenalties crash:90 authfail:5 noauth:1 grace-exceeded:20 max:600 min:15 max-sources4:65536 max-sources6:65536 overflow:permissive overflow6:permissive');
    // Off, -T prints no line for it, as 9.2's sshd -T (which has no such keyword) does not.
    assert.equal(await effective(['-p', String(defaultPort)]), '');
  });
});
