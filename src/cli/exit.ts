/**
 * Leaving the process with a status, on a path that cannot block.
 *
 * process.exit() tears Node down before the process ends: it drains and joins V8's platform worker threads
 * (NodePlatform::DrainTasks / Shutdown) and, from the C library's exit handlers, libuv's thread pool. A V8
 * background job (a concurrent Maglev/Sparkplug compile waiting for a main-thread GC) can wait for the
 * exiting main thread while the main thread waits for it: the process hangs in exit for ever, now and then
 * (nodejs/node#54918). A client like ssh must always end, so after the 'exit' listeners have run as
 * process.exit() would run them, the process ends with _exit(2), which stops every thread at once and runs
 * no exit handlers. Nothing is lost by skipping them: our writes to stdout, stderr and log files are
 * synchronous (files, pipes and terminals on Linux), and no handler of ours needs the teardown.
 *
 * _exit is called through node:ffi (Node 26). Where that is missing or refused (older Node, a permission
 * model without --allow-ffi), process.exit() is the fallback.
 */
import { createRequire } from 'node:module';

interface FfiModule {
  dlopen(path: string, definitions: Record<string, { arguments: string[]; result: string }>): {
    functions: Record<string, (...args: number[]) => void>;
  };
}

/** libc's _exit, or undefined when it cannot be reached. Loaded in the tick that calls it (see exitNow). */
function loadRawExit(): ((status: number) => void) | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const ffi = createRequire(import.meta.url)('node:ffi') as FfiModule;
    return ffi.dlopen('libc.so.6', { _exit: { arguments: ['int32'], result: 'void' } }).functions._exit;
  } catch {
    return undefined;
  }
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
  // Loading node:ffi queues an ExperimentalWarning for the next tick; _exit in this tick means it never
  // prints.
  const rawExit = loadRawExit();
  if (rawExit !== undefined) rawExit(status & 0xff);
  process.exit(status);
}
