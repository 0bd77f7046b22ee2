// Tether's persistent-session keywords (docs/PROTOCOL.sessions): PersistentSessions, PersistentSessionTimeout
// and PersistentSessionLogSize (allowed in Match) and PersistentSessionDirectory (global). No OpenSSH
// keyword: `sshd -T` prints them only when the configuration names one, so a plain OpenSSH configuration's
// output stays sshd 9.2's line for line.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DirectiveContext, DirectiveHandler } from './directive-kit.ts';
import { flag, timeValue } from './directive-kit.ts';
import { absolutePath } from './values.ts';
import { parseScaled } from '../values.ts';

export interface PersistentSessionSettings {
  /** Hold sessions with a terminal for every client, and others when the client asks (hold@tether-ssh.org). */
  persistentSessions: boolean;
  /** Seconds a detached session is kept. */
  persistentSessionTimeout: number;
  /** Bytes of recent output kept per stream of a held session. */
  persistentSessionLogSize: number;
  /** Where the holders' sockets live; null: defaultSessionDirectory() for the server's account. */
  persistentSessionDirectory: string | null;
  /** A persistent-session keyword appears anywhere in the configuration (Match blocks included). */
  persistentSessionsConfigured: boolean;
}

export const PERSISTENT_SESSION_DEFAULTS: Omit<PersistentSessionSettings, 'persistentSessionsConfigured'> = {
  persistentSessions: true,
  persistentSessionTimeout: 3 * 60 * 60,
  // The log is also the window of a held session's output: the holder reads no further ahead of the client's
  // acknowledgements (PROTOCOL.sessions §7). 1 MiB held tether -> tether downloads to 0.75 of OpenSSH's rate;
  // 4 MiB covers the channel's 2 MiB window and what the sockets between hold (issue 17).
  persistentSessionLogSize: 4 * 1024 * 1024,
  persistentSessionDirectory: null,
};

/** PersistentSessionDirectory's default: /run/tether/sessions as root, else a private one in the runtime directory. */
export function defaultSessionDirectory(uid = process.getuid?.() ?? 0, env: NodeJS.ProcessEnv = process.env): string {
  if (uid === 0) return '/run/tether/sessions';
  return join(env.XDG_RUNTIME_DIR || tmpdir(), `tether-sessions-${uid}`);
}

/** Below this a log would not hold one screen's redraw of output. */
const MIN_LOG_SIZE = 4 * 1024;
/** The holder keeps the log in memory, per stream and per session. */
const MAX_LOG_SIZE = 1024 * 1024 * 1024;

/** Noted even in a Match block that does not apply, so `sshd -T` shows the lines for such a configuration. */
function noted(handler: DirectiveHandler): DirectiveHandler {
  return (ctx) => {
    ctx.opts.persistentSessionsConfigured = true;
    handler(ctx);
  };
}

function logSize(ctx: DirectiveContext): void {
  const arg = ctx.requireArg(`${ctx.keyword} missing argument.`);
  const scaled = parseScaled(arg);
  if ('error' in scaled) throw ctx.fatal(`Bad ${ctx.keyword} number '${arg}': ${scaled.error}`);
  if (scaled.value < MIN_LOG_SIZE || scaled.value > MAX_LOG_SIZE) throw ctx.fatal(`${ctx.keyword} must be between 4K and 1G`);
  ctx.setFirst(ctx.option, scaled.value);
}

export const PERSISTENT_SESSION_HANDLERS = {
  persistentSessions: noted(flag),
  persistentSessionTimeout: noted((ctx) => ctx.setFirst(ctx.option, timeValue(ctx, ctx.requireArg('missing time value.')))),
  persistentSessionLogSize: noted(logSize),
  persistentSessionDirectory: noted((ctx) => ctx.setFirst(ctx.option, absolutePath(ctx.requireArg('missing file name.'), ctx.state.cwd))),
} satisfies Record<string, DirectiveHandler>;

/** The settings' defaults (fill_default_server_options' counterpart). */
export function fillPersistentSessionDefaults(set: Partial<PersistentSessionSettings>): PersistentSessionSettings {
  return {
    persistentSessions: set.persistentSessions ?? PERSISTENT_SESSION_DEFAULTS.persistentSessions,
    persistentSessionTimeout: set.persistentSessionTimeout ?? PERSISTENT_SESSION_DEFAULTS.persistentSessionTimeout,
    persistentSessionLogSize: set.persistentSessionLogSize ?? PERSISTENT_SESSION_DEFAULTS.persistentSessionLogSize,
    persistentSessionDirectory: set.persistentSessionDirectory ?? null,
    persistentSessionsConfigured: set.persistentSessionsConfigured ?? false,
  };
}

/** The keywords a Match block may set (PersistentSessionDirectory is global). */
export const PERSISTENT_SESSION_MATCH_SCALARS = ['persistentSessions', 'persistentSessionTimeout', 'persistentSessionLogSize'] as const;

/** The `sshd -T` lines, in lower case like sshd's own; none when the configuration never names the keywords. */
export function persistentSessionDashT(s: PersistentSessionSettings): string[] {
  if (!s.persistentSessionsConfigured) return [];
  return [
    `persistentsessions ${s.persistentSessions ? 'yes' : 'no'}`,
    `persistentsessiontimeout ${s.persistentSessionTimeout}`,
    `persistentsessionlogsize ${s.persistentSessionLogSize}`,
    `persistentsessiondirectory ${s.persistentSessionDirectory ?? defaultSessionDirectory()}`,
  ];
}
