#!/usr/bin/env node
// Bundles the compiled CLI (dist/src/cli/main.js) into dist/bundle/: main.js, and one self-contained file per
// command (ssh.js, server.js, ...) that main.js imports when that command runs. `tether ssh` then loads two
// files instead of ~180 modules, or a dozen shared chunks: start-up is most of a short command's time, and
// every extra ES module costs a resolution (a stat and a package.json lookup) and a compile-cache entry
// (issue 17; measured 13 ms less CPU for `tether ssh host true` than esbuild's splitting into shared chunks).
// A dynamic import() inside a command's own graph makes esbuild wrap the whole graph in lazy initialisers
// (__esm), which cost `tether ssh` 8 ms more CPU at every start (measured): commands import statically,
// and what only some invocations need is loaded inside the function that needs it (a builtin through
// process.getBuiltinModule, a package through createRequire). The check at the end flags such an import().
// Code shared by commands is repeated in each file; no module state is shared between commands (main.js
// only carries exit.ts, whose state lives on `process`). Native addons and packages with their own loading
// logic stay external.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const MAIN = 'dist/src/cli/main.js';
const OUT = 'dist/bundle';
// The commands main.js loads: `import("./ssh.js")` and so on (src/cli/main.ts COMMANDS).
const commands = [...readFileSync(MAIN, 'utf8').matchAll(/import\("\.\/([\w-]+)\.js"\)/g)].map((match) => match[1]);
if (commands.length === 0) throw new Error(`bundle: no command imports found in ${MAIN}`);

// A builtin imported as an ES module gets a facade that reads all its exports once, getters included:
// `node:fs` then loads fs.promises (and readline), `node:crypto` webcrypto, `node:net` the BlockList, used or
// not (issue 17: about 3 ms of every start, measured). The bundles take each builtin from
// process.getBuiltinModule instead, and read only the exports that are imported: a read marked pure is
// dropped when unused. (esbuild's CommonJS interop would copy every property into an object of getters at
// each importing module instead: 5 ms, measured.)
const builtinsWithoutFacade = {
  name: 'builtins-without-facade',
  setup(builder) {
    builder.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'builtin' }));
    builder.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => {
      // Local names of their own, so that no export ("read", say) collides with the helpers.
      const names = Object.keys(process.getBuiltinModule(args.path)).filter((name) => name !== 'default');
      const lines = [
        `const builtin = process.getBuiltinModule(${JSON.stringify(args.path)});`,
        'const read = (name) => builtin[name];',
        'export default builtin;',
        ...names.map((name, i) => `const e${i} = /* @__PURE__ */ read(${JSON.stringify(name)});`),
        `export { ${names.map((name, i) => `e${i} as ${JSON.stringify(name)}`).join(', ')} };`,
      ];
      return { contents: lines.join('\n'), loader: 'js' };
    });
  },
};

const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  packages: 'external',
  outdir: OUT,
  // The addon loaders find native/fdpass and native/gssapi by walking up from their own file
  // (src/crypto/fdpass.ts, src/auth/gssapi/gssapi-addon.ts), which works from dist/bundle as from dist/src.
  logLevel: 'warning',
  plugins: [builtinsWithoutFacade],
};

// main.js with each command left as an import of its own bundle.
const commandImports = {
  name: 'commands-as-separate-bundles',
  setup(builder) {
    builder.onResolve({ filter: /^\.\/[\w-]+\.js$/ }, (args) =>
      args.importer.endsWith(MAIN) && commands.includes(args.path.slice(2, -3)) ? { path: args.path, external: true } : undefined);
  },
};
await build({ ...common, entryPoints: [MAIN], plugins: [...common.plugins, commandImports] });
await build({ ...common, entryPoints: commands.map((command) => `dist/src/cli/${command}.js`) });
for (const command of commands) {
  if (readFileSync(join(OUT, `${command}.js`), 'utf8').includes('__esm(')) {
    console.warn(`bundle: ${OUT}/${command}.js wraps its modules in lazy initialisers: an import() in its graph slows every start (scripts/bundle.js)`);
  }
}
