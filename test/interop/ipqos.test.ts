/**
 * IPQoS on both sides: the connection's TCP socket carries the interactive type of service for a session on
 * a terminal and the bulk one otherwise (ssh.c ssh_session2_setup, sshd session.c do_exec_*). Read from the
 * kernel with `ss --tos` while a session sleeps, so the value checked is the one on the wire.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { keyAuth, startTestServer, TEST_USER, type TestServer } from './server-harness.ts';
import { sshdWithClientKey, type RunningSshd } from '../helpers/openssh.ts';
import { startTether, runProgram } from '../helpers/tether.ts';
import { stopProcess } from '../helpers/processes.ts';

// af21 and cs1 (DSCP 18 and 8, as TOS bytes 0x48 and 0x20): not the defaults, so a value seen is ours.
const INTERACTIVE = 0x48;
const BULK = 0x20;

/** The TOS bytes of established TCP sockets whose local (sport) or remote (dport) port is `port`. */
function tosOf(side: 'sport' | 'dport', port: number): number[] {
  const out = execFileSync('ss', ['-tnH', '--tos', 'state', 'established', `( ${side} = :${port} )`], { encoding: 'utf8' });
  return [...out.matchAll(/tos:(0x[0-9a-f]+)/g)].map((m) => Number(m[1]));
}

/** Polls `read` until it yields a non-empty list (bounded: 10 s). */
async function settle(read: () => number[]): Promise<number[]> {
  for (let i = 0; i < 100; i++) {
    const values = read();
    if (values.length > 0) return values;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return read();
}

describe('tether server marks sessions with IPQoS', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ config: ['IPQoS af21 cs1'] });
  });
  after(() => server.stop());

  for (const [label, extra, expected] of [['bulk without a terminal', ['-T'], BULK], ['interactive on a terminal', ['-tt'], INTERACTIVE]] as const) {
    test(label, async () => {
      const home = join(server.dir, 'home');
      const run = runProgram('ssh', [...keyAuth(server), ...extra, `${TEST_USER}@127.0.0.1`, 'sleep 3'], { env: { HOME: home }, timeoutMs: 30_000 });
      const seen = await settle(() => tosOf('sport', server.port).filter((tos) => tos !== 0));
      const result = await run;
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(seen, [expected]);
    });
  }
});

describe('tether ssh marks its connection with IPQoS', () => {
  let sshd: RunningSshd;
  let home: string;
  let key: string;
  before(async () => {
    ({ home, key, sshd } = await sshdWithClientKey());
  });
  after(() => sshd.stop());

  for (const [label, extra, expected] of [['bulk without a terminal', ['-T'], BULK], ['interactive with -tt', ['-tt'], INTERACTIVE]] as const) {
    test(label, async () => {
      const child = startTether([
        'ssh', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`,
        '-o', 'IPQoS=af21 cs1', '-i', key, '-p', String(sshd.port), ...extra, 'root@127.0.0.1', 'sleep 3',
      ], { env: { HOME: home } });
      try {
        const seen = await settle(() => tosOf('dport', sshd.port).filter((tos) => tos !== 0));
        assert.deepEqual(seen, [expected]);
      } finally {
        await stopProcess(child);
      }
    });
  }
});
