#!/usr/bin/env node
// Bundles the compiled CLI (dist/src/cli/main.js) into dist/bundle/: one chunk per command and per shared
// part, so `tether ssh` loads a few files instead of ~180 modules (start-up is most of a short command's
// time; issue 17). Native addons and packages with their own loading logic stay external.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/src/cli/main.js'],
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  packages: 'external',
  // The addon loader finds native/fdpass relative to its own file (src/client/mux/fdpass.ts), which works
  // from dist/bundle as from dist/src/client/mux.
  logLevel: 'warning',
});
