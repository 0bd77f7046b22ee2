import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { readLine, readSecret } from '../../../src/cli/prompt.ts';

describe('prompts on a non-terminal stdin', () => {
  it('reads one line per prompt, writing prompts to the given output', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let written = '';
    output.on('data', (chunk: Buffer) => (written += chunk.toString()));
    input.write('first secret\r\nsec');
    setTimeout(() => input.end('ond\nyes\n'), 10);
    assert.equal(await readSecret('Passphrase: ', { input, output }), 'first secret');
    assert.equal(await readSecret('Again: ', { input, output }), 'second');
    assert.equal(await readLine('Overwrite (y/n)? ', { input, output }), 'yes');
    assert.equal(await readLine('More? ', { input, output }), undefined);
    assert.equal(await readSecret('Empty: ', { input, output }), '');
    assert.equal(written, 'Passphrase: Again: Overwrite (y/n)? More? Empty: ');
  });

  it('returns an unterminated last line', async () => {
    const input = new PassThrough();
    input.end('no newline');
    assert.equal(await readLine('', { input, output: new PassThrough() }), 'no newline');
  });
});
