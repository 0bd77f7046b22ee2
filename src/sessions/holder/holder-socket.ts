/**
 * Claiming `holder.sock` so that exactly one holder serves a directory. The socket is bound under a
 * private temporary name and then hard-linked to holder.sock: link(2) fails when the name exists, so two
 * holders starting at once cannot both win. An existing socket that answers belongs to a living holder
 * (we leave); one that refuses is stale (its holder died) and is removed, but only if it is still the very
 * file we found dead, so a holder that has just won is not unlinked by a slower one.
 */
import { linkSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { dirname, join } from 'node:path';

export interface BoundSocket {
  path: string;
  /** Inode of our socket file, to remove holder.sock on the way out only while it is still ours. */
  inode: number;
}

/** True when something accepts connections on `path` (within a second). */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    const timer = setTimeout(() => done(false), 1_000);
    function done(answered: boolean): void {
      clearTimeout(timer);
      probe.destroy();
      resolve(answered);
    }
    probe.once('connect', () => done(true));
    probe.once('error', () => done(false));
  });
}

function inodeOf(path: string): number | undefined {
  try {
    return lstatSync(path).ino;
  } catch {
    return undefined;
  }
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Binds `server` to `path`; undefined (and the server closed) when a living holder already has it. */
export async function bindExclusively(server: Server, path: string): Promise<BoundSocket | undefined> {
  const temporary = join(dirname(path), `.holder.${process.pid}.sock`);
  try {
    unlinkSync(temporary);
  } catch {
    // Not there: the usual case.
  }
  await listen(server, temporary);
  const inode = inodeOf(temporary)!;
  try {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      try {
        linkSync(temporary, path);
        return { path, inode };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const found = inodeOf(path);
      if (await socketAnswers(path)) {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        return undefined;
      }
      // Stale: remove it only if it is still the file that did not answer.
      if (found !== undefined && inodeOf(path) === found) {
        try {
          unlinkSync(path);
        } catch {
          // Someone else removed it first; the next link decides.
        }
      }
    }
    throw new Error(`cannot claim ${path}`);
  } finally {
    try {
      unlinkSync(temporary);
    } catch {
      // Already gone.
    }
  }
}

/** On the way out: holder.sock is removed only while it is still our socket. */
export function releaseSocket(bound: BoundSocket): void {
  if (inodeOf(bound.path) !== bound.inode) return;
  try {
    unlinkSync(bound.path);
  } catch {
    // Gone already.
  }
}
