/**
 * Runs the tether CLI from this tree (source or compiled, whichever this file is), for tests that start
 * `tether agent`, `tether add` or `tether copy-id` as real processes. Mirrors bin/tether.js.
 */
import { main } from '../../../src/cli/main.ts';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`tether: ${(error as Error)?.message ?? String(error)}\n`);
    process.exitCode = 255;
  },
);
