/**
 * What a held session keeps of the connections it runs on (docs/PROTOCOL.sessions §9): a connection's
 * delegated Kerberos credential (gssapi-credentials.ts) and forwarded agent (agent-forwarding.ts) live and die
 * with the connection, while the session outlives it. So a held session gets files of its own, named in its
 * environment from the start:
 *
 *   KRB5CCNAME     FILE:/tmp/krb5cc_<uid>_<random>, a copy of the connection's ccache, replaced by the
 *                  ccache of each connection that attaches later with delegated credentials;
 *   SSH_AUTH_SOCK  /tmp/ssh-held-<random>, the socket of a listener on the attached connection that reaches
 *                  its forwarded agent; each connection that attaches with agent forwarding puts its own
 *                  there, and while none does the socket left behind refuses connections.
 *
 * The holder removes both when the session ends (holder-api.ts HeldSessionFiles). Everything here is done by
 * the server, root when it switches users, to names directly in /tmp, where the user owns the entries but
 * not the directory: files are made with O_EXCL and moved into place with rename(2), which replaces the name
 * itself (a link planted there, not what it points to), so the user cannot steer a write elsewhere.
 */
import { chownSync, closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { HeldSessionFiles } from '../sessions/holder-api.ts';
import type { ForwardedAgentSocket } from './agent-forwarding.ts';
import { randomSuffix, type StoredCredentials } from './gssapi-credentials.ts';
import type { ServerLogger } from './logger.ts';
import { sanitizeForLog } from './logger.ts';

/** What the connection a held session runs on has to offer it. */
export interface ConnectionCredentials {
  /** The ccache of the connection's delegated credential, if the client delegated one. */
  ccache(): StoredCredentials | undefined;
  /** This connection's forwarded agent socket, once auth-agent-req@openssh.com set it up. */
  agent(): ForwardedAgentSocket | undefined;
  /** A further listener reaching this connection's forwarded agent (its own private directory and socket). */
  newAgentListener(): ForwardedAgentSocket;
}

export interface FileOwner {
  uid: number;
  gid: number;
  /** The server switches users (runs as root): what it makes is chowned to the user. */
  switchUser: boolean;
}

/** A ccache is a few KiB; a file bigger than this is not copied. */
const MAX_CCACHE_BYTES = 1024 * 1024;
/** The uid that owns what the server makes for the user. */
function ownerUid(owner: FileOwner): number | undefined {
  return owner.switchUser ? owner.uid : process.getuid?.();
}

/** randomSuffix()'s length: mkstemp's ten characters. */
const NAME_LENGTH = 10;

/**
 * Whether `path`, as a session's summary names it, is one this module made for this user. The names come
 * back from the user's holder, which runs as the user and so is not to be trusted: only the shape prepare()
 * gives them, and only an entry that is absent or the user's own of the right type, so that no other user's
 * file (their ccache, their held agent socket) can be replaced.
 */
function isSessionFile(path: string, kind: keyof HeldSessionFiles, owner: FileOwner): boolean {
  const shape = kind === 'ccache' ? new RegExp(`^/tmp/krb5cc_${owner.uid}_[A-Za-z0-9]{${NAME_LENGTH}}$`) : new RegExp(`^/tmp/ssh-held-[A-Za-z0-9]{${NAME_LENGTH}}$`);
  if (!shape.test(path)) return false;
  try {
    const stat = lstatSync(path);
    return stat.uid === ownerUid(owner) && (kind === 'ccache' ? stat.isFile() : stat.isSocket());
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** The connection's ccache: only a regular file of the user's, never read through a link they planted. */
function readCcache(path: string, owner: FileOwner): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.uid !== ownerUid(owner) || stat.size > MAX_CCACHE_BYTES) throw new Error(`${path} is not the connection's credential cache`);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Puts a copy of `source` at `target` in one step: a fresh file (O_EXCL, 0600, the user's), then rename(2). */
function installCcache(source: string, target: string, owner: FileOwner): void {
  const data = readCcache(source, owner);
  const fresh = `/tmp/krb5cc_${owner.uid}_${randomSuffix()}`;
  writeFileSync(fresh, data, { flag: 'wx', mode: 0o600 });
  try {
    if (owner.switchUser) chownSync(fresh, owner.uid, owner.gid);
    renameSync(fresh, target);
  } catch (error) {
    rmSync(fresh, { force: true });
    throw error;
  }
}

/**
 * One channel's share in its held session's files: it makes them for a new session, points them at this
 * connection when it attaches to an existing one, and lets go of its agent listener when the attachment ends.
 */
export class HeldSessionCredentials {
  private readonly credentials: ConnectionCredentials;
  private readonly owner: FileOwner;
  private readonly log: ServerLogger;
  private listener: ForwardedAgentSocket | undefined;

  constructor(credentials: ConnectionCredentials, owner: FileOwner, log: ServerLogger) {
    this.credentials = credentials;
    this.owner = owner;
    this.log = log;
  }

  /**
   * For a session about to be created with `env`: the connection's ccache and agent that `env` names get
   * stand-ins of the session's own, and `env` names those instead. Returns the files (none: nothing to keep).
   */
  prepare(env: Record<string, string>): HeldSessionFiles {
    const files: HeldSessionFiles = {};
    const ccache = this.credentials.ccache();
    if (ccache && env.KRB5CCNAME === ccache.ccacheName) {
      const path = `/tmp/krb5cc_${this.owner.uid}_${randomSuffix()}`;
      if (this.attempt('credential cache', () => installCcache(ccache.path, path, this.owner))) {
        files.ccache = path;
        env.KRB5CCNAME = `FILE:${path}`;
      }
    }
    const agent = this.credentials.agent();
    if (agent && env.SSH_AUTH_SOCK === agent.path) {
      const path = `/tmp/ssh-held-${randomSuffix()}`;
      if (this.publishAgent(path)) {
        files.agentSocket = path;
        env.SSH_AUTH_SOCK = path;
      }
    }
    return files;
  }

  /** An existing session this connection attaches to (resume or reattach): its files now lead to this connection. */
  attach(files: HeldSessionFiles | undefined): void {
    if (!files) return;
    for (const kind of ['ccache', 'agentSocket'] as const) {
      const path = files[kind];
      if (path === undefined || isSessionFile(path, kind, this.owner)) continue;
      this.log.error(`error: held session names ${sanitizeForLog(path, 128)} as its ${kind === 'ccache' ? 'credential cache' : 'agent socket'}, which is not one made for it; left alone`);
      return;
    }
    const ccache = this.credentials.ccache();
    if (files.ccache && ccache) this.attempt('credential cache', () => installCcache(ccache.path, files.ccache!, this.owner));
    if (files.agentSocket && this.credentials.agent()) this.publishAgent(files.agentSocket);
  }

  /** The session was not held after all (the holder refused it): the files made for it go. */
  discard(files: HeldSessionFiles): void {
    this.release();
    for (const path of Object.values(files)) rmSync(path, { force: true });
  }

  /**
   * The attachment is over on this connection: the listener closes. Its socket stays at the session's path and
   * refuses connections until another connection puts its own there (closing removes only the name it was
   * bound under, which it no longer has).
   */
  release(): void {
    this.listener?.close();
    this.listener = undefined;
  }

  /** A listener of this connection's agent, moved to `path` in one rename(2) over whatever was there. */
  private publishAgent(path: string): boolean {
    return this.attempt('agent socket', () => {
      const listener = this.credentials.newAgentListener();
      try {
        renameSync(listener.path, path);
      } catch (error) {
        listener.close();
        throw error;
      }
      this.listener?.close();
      this.listener = listener;
    });
  }

  /** Runs `step`; a failure is logged and the session goes on without that file (as sshd goes on without a ccache). */
  private attempt(what: string, step: () => void): boolean {
    try {
      step();
      return true;
    } catch (error) {
      this.log.error(`error: held session ${what}: ${sanitizeForLog((error as Error).message, 256)}`);
      return false;
    }
  }
}
