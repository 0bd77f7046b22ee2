/**
 * The tether program run from this tree's sources or compiled tests (whichever this file is), for tests
 * that start `tether agent`, `tether add` or `tether copy-id` as real processes. Same entry as bin/tether.js.
 */
import { runAsProgram } from '../../../src/cli/main.ts';

runAsProgram(process.argv.slice(2));
