#!/usr/bin/env node
// Entry point: `tether <command> [args]`. The built CLI is dist/bundle/ (npm run build: tsc, then
// scripts/bundle.js): main.js and one file per command, so a command loads two files instead of every
// module; dist/src/ is the unbundled fallback. With TETHER_SOURCE=1 the TypeScript sources run directly
// (Node ≥ 23 strips the types).
// Builtins come through process.getBuiltinModule: an ES import of one reads all its exports, which loads
// fs.promises and more that a command may never use (scripts/bundle.js does the same for the bundles).
const { existsSync } = process.getBuiltinModule('node:fs');
const nodeModule = process.getBuiltinModule('node:module');
const { homedir } = process.getBuiltinModule('node:os');
const { join } = process.getBuiltinModule('node:path');

if (!process.env.TETHER_SOURCE && !process.env.NODE_DISABLE_COMPILE_CACHE) {
  // V8's code cache roughly halves start-up. It lives under the user's own home, never a shared /tmp, so no
  // other account can plant compiled code that root's server would run.
  try {
    // Node 22.1 and later; an older Node only starts slower.
    nodeModule.enableCompileCache?.(process.env.NODE_COMPILE_CACHE ?? join(homedir(), '.cache', 'tether', 'compile-cache'));
  } catch {
    // An unwritable home only costs speed.
  }
}
const bundled = new URL('../dist/bundle/main.js', import.meta.url);
const entry = process.env.TETHER_SOURCE ? '../src/cli/main.ts' : existsSync(bundled) ? bundled.href : '../dist/src/cli/main.js';
const { runAsProgram } = await import(entry);

runAsProgram(process.argv.slice(2));
