/**
 * An interactive `tether ssh` login in a real terminal (tmux): a shell on a remote PTY, window-size changes
 * forwarded, the escape sequence ~. and the local terminal restored afterwards. Also the destination forms
 * of the guide: user@host, -l user, ssh://user@host:port.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sshdWithClientKey, type RunningSshd } from '../helpers/openssh.ts';
import { runTether, TETHER_BIN } from '../helpers/tether.ts';
import { TerminalSession, shellQuote } from '../helpers/tmux.ts';

describe('tether ssh in a terminal', () => {
  let sshd: RunningSshd;
  let home: string;
  let key: string;

  before(async () => {
    ({ home, key, sshd } = await sshdWithClientKey());
  });
  after(() => sshd.stop());

  const baseArgs = () => ['ssh', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`, '-i', key, '-p', String(sshd.port)];

  function login(): TerminalSession {
    // The wrapper prints the local terminal's settings after ssh exits, to prove they were restored.
    const command = `${[process.execPath, TETHER_BIN, ...baseArgs(), 'root@127.0.0.1'].map(shellQuote).join(' ')}; stty -a | grep -o -- '-\\?icanon' | sed 's/^/local:/'`;
    return new TerminalSession(`sh -c ${shellQuote(command)}`, { env: { HOME: home, TERM: 'xterm', PS1: 'remote$ ' }, width: 100, height: 30 });
  }

  test('a shell runs commands, sees window-size changes, and exits restoring the terminal', async () => {
    const terminal = login();
    try {
      terminal.type('export PS1="remote$ "; stty size');
      await terminal.waitFor(/^30 100$/m);
      terminal.resize(120, 35);
      await new Promise((resolve) => setTimeout(resolve, 300));
      terminal.type('stty size; echo "remote tty is $(tty)"');
      await terminal.waitFor(/^35 120$/m);
      await terminal.waitFor(/remote tty is \/dev\/pts\/\d+/);
      terminal.type('exit 7');
      const screen = await terminal.waitFor(/\[exit status \d+\]/);
      assert.match(screen, /Connection to 127\.0\.0\.1 closed\./);
      assert.match(screen, /^local:icanon$/m, 'the local terminal is back in canonical mode');
    } finally {
      terminal.close();
    }
  });

  test('~. disconnects at once and the terminal is restored', async () => {
    const terminal = login();
    try {
      terminal.type('export PS1="remote$ "; echo ready');
      await terminal.waitFor(/^ready$/m);
      terminal.type('~.', false);
      const screen = await terminal.waitFor(/\[exit status \d+\]/);
      assert.match(screen, /Connection to 127\.0\.0\.1 closed\./);
      assert.match(screen, /^local:icanon$/m);
    } finally {
      terminal.close();
    }
  });

  for (const [label, destination] of [
    ['user@host', (port: number) => ['-p', String(port), 'root@127.0.0.1']],
    ['-l user host', (port: number) => ['-p', String(port), '-l', 'root', '127.0.0.1']],
    ['ssh://user@host:port', (port: number) => [`ssh://root@127.0.0.1:${port}`]],
  ] as const) {
    test(`destination form ${label}`, async () => {
      const args = baseArgs().filter((_, i, all) => all[i] !== '-p' && all[i - 1] !== '-p');
      const result = await runTether([...args, ...destination(sshd.port), 'id -un'], { env: { HOME: home } });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.toString(), 'root\n');
    });
  }
});
