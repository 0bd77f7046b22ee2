#!/usr/bin/env node
// Entry point: `tether <command> [args]`. The compiled CLI lives in dist/ (npm run build).
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`tether: ${error?.message ?? error}\n`);
    process.exitCode = 255;
  },
);
