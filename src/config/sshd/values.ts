// Value syntaxes of sshd_config alone: log level names (log.c), tilde expansion and derelativised paths.
// Times, ports, integers, sizes, IPQoS and facilities are shared with ssh_config (../values.ts).
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { isAbsolute } from 'node:path';

export type { SyslogFacility } from '../values.ts';

/** LogLevel names; DEBUG and DEBUG1 are the same level, which sshd prints as DEBUG1's first name, "DEBUG". */
const LOG_LEVELS = ['QUIET', 'FATAL', 'ERROR', 'INFO', 'VERBOSE', 'DEBUG', 'DEBUG1', 'DEBUG2', 'DEBUG3'] as const;
export type LogLevel = 'QUIET' | 'FATAL' | 'ERROR' | 'INFO' | 'VERBOSE' | 'DEBUG' | 'DEBUG2' | 'DEBUG3';

export function parseLogLevel(s: string | undefined): LogLevel | null {
  const upper = s?.toUpperCase();
  const found = LOG_LEVELS.find((l) => l === upper);
  if (!found) return null;
  return found === 'DEBUG1' ? 'DEBUG' : found;
}

/** Home directory of a local user from /etc/passwd, for "~user/..." paths. */
function homeOf(user: string): string | null {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === user && f[5] !== undefined) return f[5];
    }
  } catch {
    return null;
  }
  return null;
}

/** tilde_expand_filename: "~/x" is the running user's home, "~user/x" that user's; others unchanged. */
export function expandTilde(path: string): string {
  if (!path.startsWith('~')) return path;
  const slash = path.indexOf('/');
  const name = slash < 0 ? path.slice(1) : path.slice(1, slash);
  const home = name === '' ? userInfo().homedir : homeOf(name);
  if (home === null) return path;
  const rest = slash < 0 ? '' : path.slice(slash + 1);
  // OpenSSH joins with exactly one '/' (and keeps "/" for root's home as "/x").
  return home.endsWith('/') ? `${home}${rest}` : `${home}/${rest}`;
}

/** derelativise_path: "none" stays, "~" is expanded, relative paths are made absolute from the cwd. */
export function absolutePath(path: string, cwd: string): string {
  if (path.toLowerCase() === 'none') return 'none';
  const expanded = expandTilde(path);
  if (isAbsolute(expanded)) return expanded;
  return `${cwd}/${expanded}`;
}
