/**
 * Leaving the process with a status, on a path that cannot block.
 *
 * process.exit() tears Node down before the process ends: it drains and joins V8's platform worker threads
 * (NodePlatform::DrainTasks / Shutdown) and, from the C library's exit handlers, libuv's thread pool. A V8
 * background job (a concurrent Maglev/Sparkplug compile waiting for a main-thread GC) can wait for the
 * exiting main thread while the main thread waits for it: the process hangs in exit for ever, now and then
 * (nodejs/node#54918). A client like ssh must always end, so after the 'exit' listeners have run as
 * process.exit() would run them, the process ends with _exit(2), which stops every thread at once and runs
 * no exit handlers. Two things those handlers did are done here instead. Writes to stdout and stderr are
 * synchronous for files and terminals, but a pipe is non-blocking under libuv and what it cannot take yet
 * waits in the process: runAsProgram waits for stdioFlushed() before exiting (with _exit it would be lost
 * past the pipe's 64 KiB). And Node's exit handler (ResetStdio) puts the descriptors back as it found them:
 * a pipe's file description is shared with the shell and the rest of a pipeline, and one left non-blocking
 * makes the next program that writes it fail with EAGAIN, so exitNow makes them blocking again. The same
 * handlers write V8's compile cache to disk (module.enableCompileCache() in bin/tether.js): without an
 * explicit flush no command would ever start from a warm cache.
 *
 * _exit is called through node:ffi (Node 26). Where that is missing or refused (older Node, a permission
 * model without --allow-ffi), process.exit() is the fallback.
 */
import nodeModule, { createRequire } from 'node:module';

interface FfiModule {
  dlopen(path: string, definitions: Record<string, { arguments: string[]; result: string }>): {
    functions: Record<string, (...args: number[]) => void>;
  };
}

/** libc's _exit, or undefined when it cannot be reached. */
function loadRawExit(): ((status: number) => void) | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const ffi = createRequire(import.meta.url)('node:ffi') as FfiModule;
    return ffi.dlopen('libc.so.6', { _exit: { arguments: ['int32'], result: 'void' } }).functions._exit;
  } catch {
    return undefined;
  }
}

/**
 * Where prepareExit() leaves _exit: on `process`, not in this module, because the bundle holds this module
 * twice (in main.js, which exits, and in the command's file, which prepares: scripts/bundle.js).
 */
const PREPARED_EXIT = Symbol.for('tether.preparedExit');
type PreparedProcess = NodeJS.Process & { [PREPARED_EXIT]?: (status: number) => void };

/**
 * Loads _exit ahead of time (a few milliseconds: node:ffi and dlopen), for a command to call while it waits
 * on the network rather than when it is done (issue 17: `tether ssh host true` is timed to its exit). Loading
 * node:ffi emits an ExperimentalWarning, which is not ours to print: it is muted for that one call.
 */
export function prepareExit(): void {
  const prepared = process as PreparedProcess;
  if (prepared[PREPARED_EXIT] !== undefined) return;
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  try {
    prepared[PREPARED_EXIT] = loadRawExit();
  } finally {
    process.emitWarning = emitWarning;
  }
}

interface StdioHandle {
  setBlocking?(blocking: boolean): number;
}

/** Resolves once what was written to `stream` has left the process (or the stream has failed). */
export function drained(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.writableLength === 0 || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('error', done);
    stream.once('close', done);
    // The callback of an empty write runs once every write before it has completed.
    stream.write('', () => done());
  });
}

/** Resolves once stdout and stderr have no writes waiting in the process (a pipe that is slow to read). */
export async function stdioFlushed(): Promise<void> {
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
}

function profiling(): boolean {
  return process.execArgv.some((flag) => flag.startsWith('--cpu-prof') || flag.startsWith('--heap-prof'));
}

/** Runs the 'exit' listeners once, as process.exit() does, then ends the process with `status`. */
export function exitNow(status: number): never {
  process.exitCode = status;
  const exiting = process as NodeJS.Process & { _exiting?: boolean };
  if (!exiting._exiting) {
    exiting._exiting = true;
    try {
      process.emit('exit', status);
    } catch {
      // A failing listener must not keep us alive.
    }
  }
  // Node writes V8's compile cache (bin/tether.js enables it) from its exit handler, which _exit skips.
  nodeModule.flushCompileCache?.();
  for (const stream of [process.stdout, process.stderr]) {
    // Pipes and sockets only: files have no handle, and Node keeps terminals blocking already.
    (stream as unknown as { _handle?: StdioHandle })._handle?.setBlocking?.(true);
  }
  // Loading node:ffi queues an ExperimentalWarning for the next tick; _exit in this tick means it never
  // prints.
  const rawExit = (process as PreparedProcess)[PREPARED_EXIT] ?? loadRawExit();
  // --cpu-prof writes its profile from Node's exit path, which _exit would skip (profiling, issue 17).
  if (rawExit !== undefined && !profiling()) rawExit(status & 0xff);
  process.exit(status);
}
