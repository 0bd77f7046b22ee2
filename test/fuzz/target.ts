/**
 * What a fuzz target is, where its seed corpus lives, and the oracle every target applies: a decoder may
 * refuse input only with one of its typed errors — never a TypeError, RangeError or a bare Error from deep
 * inside, never by taking seconds over a small input.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type fc from 'fast-check';

export interface FuzzTarget<T = Buffer> {
  readonly name: string;
  /** The inputs, usually mutations of the corpus in test/fuzz/corpus/<name>/. */
  readonly input: fc.Arbitrary<T>;
  /** Runs one input; throws FuzzFinding (or anything else) when the code under test misbehaves. */
  run(input: T): void | Promise<void>;
  /** Writes an input to a reproducer file (default: the bytes of a Buffer, JSON otherwise). */
  serialize?(input: T): Buffer;
  /** Releases what the target set up (servers, temp dirs) after a run of many inputs. */
  teardown?(): void | Promise<void>;
}

/** The code under test did something a decoder must never do; `cause` is what it threw, if anything. */
export class FuzzFinding extends Error {
  override readonly name = 'FuzzFinding';
}

/** Any input this size must be decided in well under this (a decoder that takes longer is looping or quadratic). */
export const SLOW_INPUT_MS = 2000;

type ErrorClass = abstract new (...args: never[]) => Error;

/** Runs `decode`; any error not an instance of `allowed` (or a slow decision) becomes a FuzzFinding. */
export function expectTyped<R>(what: string, allowed: readonly ErrorClass[], decode: () => R): R | undefined {
  const started = performance.now();
  const checkTime = () => {
    const elapsed = performance.now() - started;
    if (elapsed > SLOW_INPUT_MS) throw new FuzzFinding(`${what} took ${Math.round(elapsed)} ms`);
  };
  let result: R;
  try {
    result = decode();
  } catch (error) {
    checkTime();
    if (allowed.some((type) => error instanceof type)) return undefined;
    const found = error as Error;
    throw new FuzzFinding(`${what} threw ${found?.name ?? typeof error}: ${found?.message ?? String(error)}\n${found?.stack ?? ''}`);
  }
  checkTime();
  return result;
}

/** The repository's test/fuzz/corpus directory, found from the sources or from the compiled copy in dist/. */
function corpusRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'test', 'fuzz', 'corpus');
    if (existsSync(candidate) && !dir.endsWith('/dist')) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const fromCwd = join(process.cwd(), 'test', 'fuzz', 'corpus');
  if (existsSync(fromCwd)) return fromCwd;
  throw new Error('test/fuzz/corpus not found');
}

export const CORPUS_ROOT = corpusRoot();

/** The seed files of one target, sorted by name (an empty list when the target has none). */
export function loadCorpus(target: string): Buffer[] {
  const dir = join(CORPUS_ROOT, target);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().map((name) => readFileSync(join(dir, name)));
}
