/**
 * Finding the project's Node-API addons (native/<name>/build/Release/<file>.node, built by `npm install`):
 * from the sources, from dist/src/ and from the bundle in dist/bundle/ alike, by walking up from the module
 * that asks to the package root.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The addon's path, looked for from `start` upwards, or undefined when it is not built. */
export function findNativeAddon(directoryName: string, fileName: string, start: string): string | undefined {
  let directory = start;
  for (let i = 0; i < 7; i++) {
    const candidate = join(directory, 'native', directoryName, 'build', 'Release', fileName);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(directory);
    if (parent === directory) break;
    directory = parent;
  }
  return undefined;
}

/** Loads an addon found by findNativeAddon (its exports typed by the caller). */
export function requireNativeAddon<T>(path: string): T {
  return createRequire(import.meta.url)(path) as T;
}
