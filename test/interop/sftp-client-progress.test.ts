/**
 * The progress meter in a real terminal (tmux): `tether sftp` and `tether scp` draw the line stock sftp and
 * scp draw for the same transfer (name padded to the width less 36 columns, percent, bytes, rate, time),
 * the numbers aside; and nothing is drawn with -q or when the output is not a terminal.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TerminalSession, shellQuote } from '../helpers/tmux.ts';
import { TETHER_BIN } from '../helpers/tether.ts';
import { startSftpPeers, type SftpPeers } from './sftp-client-harness.ts';

const WIDTH = 100;

/** The meter's last state for `name`, with the numbers that depend on timing replaced. */
function normalisedMeter(screen: string, name: string): string {
  const line = screen.split('\n').reverse().find((text) => text.startsWith(name) && text.includes('100%'));
  assert.ok(line, `no finished meter for ${name} on screen:\n${screen}`);
  return line.replace(/ *\d+\.\dKB\/s/, ' RATE/s').replace(/\d+:\d\d(:\d\d)?/, 'TIME');
}

describe('progress meter in a terminal', () => {
  let peers: SftpPeers;
  let dir: string;
  let config: string;

  before(async () => {
    peers = await startSftpPeers(['target']);
    ({ dir, config } = peers);
    writeFileSync(join(dir, 'payload.bin'), Buffer.alloc(384 * 1024, 1));
  });
  after(() => peers?.stop());

  const tether = `${shellQuote(process.execPath)} ${shellQuote(TETHER_BIN)}`;
  const env = process.env.TETHER_SOURCE ? { TETHER_SOURCE: '1' } : undefined;

  /** Runs `command` in a terminal until the screen shows `done`, and returns the screen. */
  async function screenOf(command: string, done: RegExp, input?: string): Promise<string> {
    const terminal = new TerminalSession(`sh -c ${shellQuote(`cd ${shellQuote(dir)} && ${command}`)}`, { width: WIDTH, height: 30, env });
    try {
      if (input !== undefined) {
        await terminal.waitFor(/sftp> $/m, 20_000);
        terminal.type(input);
      }
      return await terminal.waitFor(done, 30_000);
    } finally {
      terminal.close();
    }
  }

  test('sftp get: the same line as stock sftp', { timeout: 90_000 }, async () => {
    const get = `get ${join(dir, 'payload.bin')} got.bin\nquit`;
    // -l 1024 (Kbit/s): three seconds, so the meter is redrawn while it runs.
    const stock = await screenOf(`/usr/bin/sftp -F ${config} -l 1024 target`, /\[exit status \d+\]/, get);
    const ours = await screenOf(`${tether} sftp -F ${config} -l 1024 target`, /\[exit status \d+\]/, get);
    assert.match(ours, /\[exit status 0\]/);
    const expected = normalisedMeter(stock, 'payload.bin');
    assert.match(expected, /^payload\.bin {55}100% {2}384KB RATE\/s {3}TIME {4}$/);
    assert.equal(normalisedMeter(ours, 'payload.bin'), expected);
  });

  test('scp: the same line as stock scp; -q draws none', { timeout: 90_000 }, async () => {
    const stock = await screenOf(`scp -F ${config} -l 1024 target:${join(dir, 'payload.bin')} scp-stock.bin`, /\[exit status \d+\]/);
    const ours = await screenOf(`${tether} scp -F ${config} -l 1024 target:${join(dir, 'payload.bin')} scp-ours.bin`, /\[exit status \d+\]/);
    assert.match(ours, /\[exit status 0\]/);
    assert.equal(normalisedMeter(ours, 'payload.bin'), normalisedMeter(stock, 'payload.bin'));
    const quiet = await screenOf(`${tether} scp -q -F ${config} target:${join(dir, 'payload.bin')} scp-quiet.bin`, /\[exit status \d+\]/);
    assert.match(quiet, /\[exit status 0\]/);
    assert.doesNotMatch(quiet, /100%/);
  });
});
