/** The `~C` escape: an `ssh>` prompt with line editing, only after a newline, and "commandline disabled". */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EscapeFilter } from '../../../src/cli/escape-filter.ts';

function run(input: string, commandLine?: (line: string) => Promise<string>) {
  const shown: string[] = [];
  const lines: string[] = [];
  const filter = new EscapeFilter('~', {
    disconnect: () => shown.push('<disconnect>'),
    help: (text) => shown.push(text),
    commandLine: commandLine && (async (line) => {
      lines.push(line);
      return commandLine(line);
    }),
  });
  const passed: Buffer[] = [];
  filter.on('data', (chunk: Buffer) => passed.push(chunk));
  filter.end(Buffer.from(input, 'latin1'));
  return new Promise<{ shown: string; lines: string[]; passed: string }>((resolve) =>
    filter.once('end', () => setImmediate(() => resolve({ shown: shown.join(''), lines, passed: Buffer.concat(passed).toString('latin1') }))),
  );
}

test('~C opens the ssh> prompt; the line goes to the command handler, not to the server', async () => {
  const result = await run('ls\r~C-L 8080:web:80\rpwd\r', async () => 'Forwarding port.\r\n');
  assert.deepEqual(result.lines, ['-L 8080:web:80']);
  assert.equal(result.passed, 'ls\rpwd\r');
  assert.match(result.shown, /\r\nssh> -L 8080:web:80\r\nForwarding port\.\r\n/);
});

test('backspace and ^U edit the line; ^C abandons it; ~C mid-line is ordinary input', async () => {
  const result = await run('~C-KX\x7fR 9000\r~C-L junk\x15-D 1080\r~Cabc\x03x~C\r', async (line) => `ran ${line}\r\n`);
  assert.deepEqual(result.lines, ['-KR 9000', '-D 1080']);
  assert.equal(result.passed, 'x~C\r');
});

test('without EnableEscapeCommandline ~C answers "commandline disabled" like ssh 9.2', async () => {
  const result = await run('~Cuptime\r');
  assert.match(result.shown, /commandline disabled\r\n/);
  assert.equal(result.passed, 'uptime\r');
});
