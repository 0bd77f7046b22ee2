/**
 * The held terminal's screen (src/sessions/holder/screen.ts) as a reattach shows it: a program draws at
 * known positions on a pty; a 'screen' attach's redraw, fed to a fresh @xterm/headless terminal of the same
 * size, reproduces the text at those positions, the scrollback, and the cursor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import xtermHeadless from '@xterm/headless';
import { inProcessHolder, readUntil, shellSession, waitFor, within } from './holder-fixture.ts';

const { Terminal } = xtermHeadless;

function replay(redraw: Buffer, columns: number, rows: number): Promise<InstanceType<typeof Terminal>> {
  const terminal = new Terminal({ cols: columns, rows, scrollback: 1000, allowProposedApi: true });
  return new Promise((resolve) => terminal.write(new Uint8Array(redraw), () => resolve(terminal)));
}

test('a screen attach redraws what a full-screen program drew, its scrollback and the cursor, then goes live', async () => {
  const fixture = await inProcessHolder();
  try {
    const terminal = { term: 'xterm', columns: 40, rows: 10, modes: Buffer.from([0]) };
    // 15 numbered lines scroll 6 into the scrollback; then text at row 5 column 10 and the cursor to row 2 column 3.
    const script = "i=1; while [ $i -le 15 ]; do echo line$i; i=$((i+1)); done; printf '\\033[5;10Hhello\\033[2;3H'; read x; echo; echo live$x; read y; stty size; sleep 30";
    const first = await fixture.client.create(shellSession(script, { name: 'screen', program: { ...shellSession(script).program, terminal } }));
    assert.equal(first.terminal, true);
    assert.match(first.ttyName ?? '', /^\/dev\/pts\/\d+$/);
    await readUntil(first.output, (text) => text.includes('hello\x1b[2;3H'));
    first.detach();
    await waitFor(async () => !(await fixture.client.list())[0]!.attached);

    const again = (await fixture.client.attach({ name: 'screen', replay: 'screen' }))!;
    assert.ok(again.redraw.length > 0);
    const screen = await replay(again.redraw, 40, 10);
    const buffer = screen.buffer.active;
    const line = (row: number): string => buffer.getLine(buffer.baseY + row)!.translateToString(true);
    assert.equal(line(4).indexOf('hello'), 9, 'text drawn at row 5, column 10');
    assert.equal(line(0), 'line7');
    assert.equal(line(8), 'line15');
    assert.equal(buffer.baseY, 6, 'six lines in the scrollback');
    assert.equal(buffer.getLine(0)!.translateToString(true), 'line1');
    assert.deepEqual([buffer.cursorY, buffer.cursorX], [1, 2], 'cursor back at row 2, column 3');
    screen.dispose();

    // Live output follows the redraw; the offset is where the redraw left off.
    assert.ok(again.outputOffset > 0);
    again.input.write('ok\r');
    await readUntil(again.output, (text) => text.includes('liveok'));
    again.resize(100, 30);
    again.input.write('\r'); // after the resize on the same socket, so the program sees the new size
    await readUntil(again.output, (text) => text.includes('30 100'));
    again.hangUp();
    assert.deepEqual(await within(again.exit), { code: null, signal: 'HUP', coreDumped: false });
    await waitFor(async () => (await fixture.client.list()).length === 0);
  } finally {
    await fixture.close();
  }
});
