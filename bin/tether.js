#!/usr/bin/env node
// Entry point: `tether <command> [args]`. The compiled CLI lives in dist/ (npm run build).
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    // Like ssh, exit as soon as the command is done rather than waiting for idle handles (stdin, agent
    // sockets) to go away. Writes to pipes and terminals are synchronous on Linux, so no output is lost.
    process.exit(typeof code === 'number' ? code : 0);
  },
  (error) => {
    process.stderr.write(`tether: ${error?.message ?? error}\n`);
    process.exitCode = 255;
  },
);
