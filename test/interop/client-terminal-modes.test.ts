/**
 * A pty-req carries the local terminal's settings (RFC 4254 §8, ttymodes.c): with `stty erase ^H intr ^B`
 * set locally, `tether ssh -t` to a stock sshd gives a remote terminal with the same erase and intr, and the
 * remote `stty -a` reads as it does through the real ssh from the same terminal.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sshdWithClientKey, type RunningSshd } from '../helpers/openssh.ts';
import { TETHER_BIN } from '../helpers/tether.ts';
import { TerminalSession, shellQuote } from '../helpers/tmux.ts';

describe('terminal modes of tether ssh -t', () => {
  let sshd: RunningSshd;
  let home: string;
  let key: string;

  before(async () => {
    ({ home, key, sshd } = await sshdWithClientKey());
  });
  after(() => sshd.stop());

  /** The remote `stty -a` between markers, as seen through `client` run from a terminal set up locally. */
  async function remoteStty(client: string[]): Promise<string> {
    const args = ['-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`, '-i', key,
      '-p', String(sshd.port), '-t', 'root@127.0.0.1', 'echo BEGIN; stty -a; echo END'];
    const command = `stty erase ^H intr ^B -echoctl; ${[...client, ...args].map(shellQuote).join(' ')}`;
    const terminal = new TerminalSession(`sh -c ${shellQuote(command)}`, { env: { HOME: home, TERM: 'xterm' }, width: 200, height: 40 });
    try {
      const screen = await terminal.waitFor(/\[exit status \d+\]/);
      assert.match(screen, /\[exit status 0\]/, screen);
      return /BEGIN\n([\s\S]*?)\nEND/.exec(screen)?.[1] ?? assert.fail(screen);
    } finally {
      terminal.close();
    }
  }

  it('the remote terminal has the local erase, intr and echoctl, as through ssh', async () => {
    const ours = await remoteStty([process.execPath, TETHER_BIN, 'ssh']);
    assert.match(ours, /intr = \^B;/);
    assert.match(ours, /erase = \^H;/);
    assert.match(ours, /-echoctl/);
    const theirs = await remoteStty(['/usr/bin/ssh']);
    assert.equal(ours, theirs);
  });
});
