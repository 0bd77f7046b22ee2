/**
 * The system files a session touches outside the user's home: /etc/ssh/sshrc, /etc/motd and the login
 * records (lastlog, wtmp, utmp). sshd compiles these in; Tether takes them from the server's options so
 * tests (and embedding applications) can point them at their own files. `tether server` reads overrides
 * from the environment (TETHER_SSHRC, TETHER_MOTD, TETHER_LASTLOG, TETHER_WTMP, TETHER_UTMP); the daemon's
 * environment is set by whoever starts it as root, so this gives no one anything they did not have.
 */

export interface SystemPaths {
  /** _PATH_SSH_SYSTEM_RC: run with /bin/sh before the session's program when ~/.ssh/rc is not. */
  systemRc: string;
  /** Shown at interactive logins when PrintMotd is set. */
  motd: string;
  /** struct lastlog records indexed by uid (PrintLastLog reads it; logins on a terminal write it). */
  lastlog: string;
  /** struct utmp records appended at each terminal login and logout. */
  wtmp: string;
  /** struct utmp records of who is logged in now, one slot per terminal. */
  utmp: string;
}

export const DEFAULT_SYSTEM_PATHS: Readonly<SystemPaths> = Object.freeze({
  systemRc: '/etc/ssh/sshrc',
  motd: '/etc/motd',
  lastlog: '/var/log/lastlog',
  wtmp: '/var/log/wtmp',
  utmp: '/run/utmp',
});

const ENVIRONMENT_NAMES: Record<keyof SystemPaths, string> = {
  systemRc: 'TETHER_SSHRC',
  motd: 'TETHER_MOTD',
  lastlog: 'TETHER_LASTLOG',
  wtmp: 'TETHER_WTMP',
  utmp: 'TETHER_UTMP',
};

/** The defaults with any TETHER_* override from `env` (empty values are ignored). */
export function systemPathsFromEnvironment(env: NodeJS.ProcessEnv = process.env): SystemPaths {
  const paths: SystemPaths = { ...DEFAULT_SYSTEM_PATHS };
  for (const [key, name] of Object.entries(ENVIRONMENT_NAMES) as Array<[keyof SystemPaths, string]>) {
    const value = env[name];
    if (value) paths[key] = value;
  }
  return paths;
}
