/**
 * session.c do_login() for a session on a terminal: lastlog, utmp and wtmp record it (and its end), and an
 * interactive login is greeted with PrintLastLog's "Last login" line, then /etc/motd (PrintMotd). A held
 * session's greeting is read before its program exists, so the holder keeps it as the session's first
 * output (docs/PROTOCOL.sessions §3: it is counted).
 */
import { readFileSync } from 'node:fs';
import { lastLoginMessage, readLastLogin } from './lastlog.ts';
import { recordLogin } from './login-records.ts';
import type { SessionContext } from './session-environment.ts';
import type { SessionProcess } from '../sessions/session-process.ts';
import type { SystemPaths } from './system-paths.ts';

/** /etc/motd with terminal line ends, or "" (PrintMotd no, or no such file: sshd's do_motd shows nothing). */
function motd(context: SessionContext, paths: SystemPaths): string {
  try {
    return context.settings.printMotd ? readFileSync(paths.motd, 'utf8').replace(/\r?\n/g, '\r\n') : '';
  } catch {
    return '';
  }
}

/** Records the login of `process` on its terminal (and its logout when it exits); the "Last login" line when asked. */
export function recordTerminalLogin(context: SessionContext, paths: SystemPaths, process: SessionProcess, printLastLog: boolean): string {
  if (!process.terminal || process.ttyName === undefined) return '';
  const { account, peer } = context;
  const record = recordLogin(paths, {
    uid: account.uid, user: account.name, pid: process.pid, tty: process.ttyName,
    host: peer.address, address: peer.address, printLastLog,
  });
  void process.exit.then(() => record.logout());
  return record.lastLogin;
}

/** An unheld session: record it, and the greeting to write before its output ("" when quiet). */
export function loginGreeting(context: SessionContext, paths: SystemPaths, process: SessionProcess, quiet: boolean): string {
  if (!process.terminal) return '';
  const lastLogin = recordTerminalLogin(context, paths, process, context.settings.printLastLog && !quiet);
  return quiet ? '' : lastLogin + motd(context, paths);
}

/** A held session's greeting, read before the holder starts it; recordTerminalLogin follows without the line. */
export function heldGreeting(context: SessionContext, paths: SystemPaths): string {
  const { settings, account } = context;
  const lastLogin = settings.printLastLog ? lastLoginMessage(readLastLogin(paths.lastlog, account.uid, account.name)) : '';
  return lastLogin + motd(context, paths);
}
