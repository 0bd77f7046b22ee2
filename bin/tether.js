#!/usr/bin/env node
// Entry point: `tether <command> [args]`. The compiled CLI lives in dist/ (npm run build).
import { runAsProgram } from '../dist/src/cli/main.js';

runAsProgram(process.argv.slice(2));
