/**
 * The agent's Unix socket, made private the way ssh-agent makes it: a fresh 0700 directory
 * `$TMPDIR/ssh-XXXXXXXXXX/` holding `agent.<pid>`, and the socket itself created 0600 (umask 0177 around
 * bind). ssh-agent also checks each client's uid with getpeereid(); Node offers no SO_PEERCRED, so we rely
 * on these permissions alone: only the owner (and root) can reach the socket through the 0700 directory.
 * With `-a path` the caller chose the place, and its directory's permissions are the caller's business.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AgentServer } from './agent-server.ts';

/** Where ssh-agent would put its socket: a new private directory under $TMPDIR (or /tmp). */
export function makePrivateSocketPath(pid = process.pid): { directory: string; path: string } {
  const base = process.env.TMPDIR || tmpdir() || '/tmp';
  for (let attempt = 0; ; attempt++) {
    // Twelve random letters like ssh-agent's mkdtemp("ssh-XXXXXXXXXXXX"); mkdir fails if it exists.
    const directory = join(base, `ssh-${randomName(12)}`);
    try {
      mkdirSync(directory, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 100) continue;
      throw error;
    }
    chmodSync(directory, 0o700);
    return { directory, path: join(directory, `agent.${pid}`) };
  }
}

const NAME_CHARACTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomName(length: number): string {
  return [...randomBytes(length)].map((byte) => NAME_CHARACTERS[byte % NAME_CHARACTERS.length]).join('');
}

export interface AgentListener {
  readonly path: string;
  readonly server: Server;
  /** Stops listening and removes the socket (and the private directory we made for it, if any). */
  close(): Promise<void>;
}

/**
 * Listens on the Unix socket `path` and serves each connection with `agent`. `ownedDirectory` is removed
 * on close (pass the directory from makePrivateSocketPath). Rejects with the bind error (EADDRINUSE, …).
 */
export function listenAgentSocket(agent: AgentServer, path: string, ownedDirectory?: string): Promise<AgentListener> {
  return new Promise((resolve, reject) => {
    const server = createServer({ allowHalfOpen: false }, (socket) => agent.serve(socket));
    const previousUmask = process.umask(0o177);
    const restoreUmask = () => process.umask(previousUmask);
    server.once('error', (error) => {
      restoreUmask();
      reject(error);
    });
    server.listen(path, () => {
      restoreUmask();
      server.removeAllListeners('error');
      server.on('error', () => {});
      // Belt and braces: bind honoured the umask, but make the mode explicit.
      chmodSync(path, 0o600);
      let closed = false;
      resolve({
        path,
        server,
        close: () =>
          new Promise<void>((done) => {
            if (closed) return done();
            closed = true;
            agent.shutdown();
            server.close(() => done());
            removeSocketFiles(path, ownedDirectory);
          }),
      });
    });
  });
}

/** Removes the socket and its private directory; safe to call from an exit handler, never throws. */
export function removeSocketFiles(path: string, ownedDirectory?: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
  if (ownedDirectory && dirname(path) === ownedDirectory) {
    try {
      rmdirSync(ownedDirectory);
    } catch {
      // Not empty or already gone: leave it.
    }
  }
}
