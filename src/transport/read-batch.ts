/**
 * The end of one socket read. Channel data the packet layer lends (decrypted in place in the reused read
 * buffer, or in its reassembly buffer) stays valid until the packet layer has handled the whole read, and
 * is overwritten only by the next one. Work deferred here runs then, so that a consumer can write all the
 * channel packets of one read in one system call, waking its reader once (connection/descriptor-writes.ts).
 * Outside the handling of a read nothing is deferred: the caller does its work at once.
 */

let depth = 0;
const deferred: (() => void)[] = [];

/** Runs `handle` (the packet layer's handling of one borrowed read), then the work deferred meanwhile. */
export function handleRead(handle: () => void): void {
  depth++;
  try {
    handle();
  } finally {
    depth--;
    if (depth === 0) runDeferred();
  }
}

/** Defers `task` to the end of the read being handled; false (nothing deferred) when none is. */
export function deferToReadEnd(task: () => void): boolean {
  if (depth === 0) return false;
  deferred.push(task);
  return true;
}

function runDeferred(): void {
  // Each task runs even if one before it threw; the first error is thrown once all have run.
  let failure: unknown;
  for (let index = 0; index < deferred.length; index++) {
    try {
      deferred[index]!();
    } catch (error) {
      failure ??= error;
    }
  }
  deferred.length = 0;
  if (failure !== undefined) throw failure;
}
