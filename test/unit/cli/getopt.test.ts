import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getopt, GetoptError } from '../../../src/cli/getopt.ts';

const OPTSTRING = 't:b:N:P:C:f:qlvE:ypR:F:H';

describe('getopt', () => {
  it('reads flags, attached and separate values, and clusters', () => {
    assert.deepEqual(getopt(['-qv', '-b4096', '-t', 'rsa', '-lf', 'file', '-N', ''], OPTSTRING), {
      options: [['q', undefined], ['v', undefined], ['b', '4096'], ['t', 'rsa'], ['l', undefined], ['f', 'file'], ['N', '']],
      operands: [],
    });
  });

  it('stops at the first operand and at --, keeping what follows as operands', () => {
    assert.deepEqual(getopt(['-q', 'host', '-v'], OPTSTRING), { options: [['q', undefined]], operands: ['host', '-v'] });
    assert.deepEqual(getopt(['-q', '--', '-v'], OPTSTRING), { options: [['q', undefined]], operands: ['-v'] });
    assert.deepEqual(getopt(['-', '-q'], OPTSTRING), { options: [], operands: ['-', '-q'] });
    assert.deepEqual(getopt(['-f', '-q'], OPTSTRING), { options: [['f', '-q']], operands: [] });
  });

  it('throws typed errors for unknown options and missing values', () => {
    assert.throws(() => getopt(['-qj'], OPTSTRING), (error: unknown) => {
      assert.ok(error instanceof GetoptError);
      assert.equal(error.message, 'unknown option -- j');
      assert.equal(error.option, 'j');
      return true;
    });
    assert.throws(() => getopt(['-b'], OPTSTRING), { message: 'option requires an argument -- b' });
    assert.throws(() => getopt(['--long'], OPTSTRING), GetoptError);
  });
});
