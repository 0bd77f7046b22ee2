/**
 * Creating a held session (docs/PROTOCOL.sessions §2): on a session channel the caller has prepared (the CLI,
 * with its PTY and environment), or from nothing for the library (openPersistentSession).
 */
import type { SshClient } from './client.ts';
import type { Session } from './session.ts';
import { PersistentSession } from './persistent-session.ts';
import { HoldRefusedError, type HoldOptions, type OpenPersistentSessionOptions, type PersistentSessionOptions } from './persistent-session-options.ts';

/**
 * Asks to hold `session` (opened, with its pty and environment requested) and starts `command` or the shell
 * in it. Resolves undefined when the server will not hold it: the caller then runs it as an ordinary session.
 */
export async function holdSession(client: SshClient, session: Session, options: PersistentSessionOptions & HoldOptions): Promise<PersistentSession | undefined> {
  const persistent = new PersistentSession(client, session, options);
  if (!(await persistent.requestHold(options.name ?? ''))) {
    persistent.removeAllListeners();
    return undefined;
  }
  await persistent.start(options.command);
  return persistent;
}

/**
 * holdSession() in one round trip, for a caller that runs the command either way (the CLI, as ssh pipelines
 * its session requests): hold@ and the shell / exec go out together. Resolves undefined when the session is
 * not held — the server refused hold@ (any server without the extension), or accepted it and could not hold
 * it (§3) — and `command` then runs on `session` as an ordinary session whose output is all still to be read
 * there. Rejects with RequestRefusedError when the shell / exec was refused.
 */
export async function holdOrStart(client: SshClient, session: Session, options: PersistentSessionOptions & HoldOptions): Promise<PersistentSession | undefined> {
  const persistent = new PersistentSession(client, session, options);
  if (!(await persistent.holdAndStart(options.name ?? '', options.command))) {
    persistent.removeAllListeners();
    return undefined;
  }
  return persistent;
}

/**
 * The library's entry: connects with `options.connect`, opens a session that the server holds, and keeps it
 * across drops. Rejects with HoldRefusedError when the server does not hold sessions; the hold is asked for
 * before the command is sent, so a server without the extension never runs it. One that accepts the hold and
 * then cannot honour it (§3) runs it unheld: `held` is false, and a drop ends it.
 */
export async function openPersistentSession(options: OpenPersistentSessionOptions): Promise<PersistentSession> {
  const client = await options.connect(undefined);
  try {
    const session = await client.session();
    for (const [name, value] of Object.entries(options.env ?? {})) await session.setEnv(name, value);
    if (options.pty) await session.requestPty(options.pty === true ? {} : options.pty);
    const persistent = await holdSession(client, session, options);
    if (!persistent) throw new HoldRefusedError('the server does not hold this session (hold@tether-ssh.org refused)');
    return persistent;
  } catch (error) {
    client.end();
    throw error;
  }
}
