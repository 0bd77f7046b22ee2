#!/usr/bin/env node
// Entry point: `tether <command> [args]`. The compiled CLI lives in dist/ (npm run build); with
// TETHER_SOURCE=1 the TypeScript sources run directly (Node ≥ 23 strips the types), for development.
const entry = process.env.TETHER_SOURCE ? '../src/cli/main.ts' : '../dist/src/cli/main.js';
const { runAsProgram } = await import(entry);

runAsProgram(process.argv.slice(2));
