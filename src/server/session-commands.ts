/**
 * The commands a server with persistent sessions recognises in an exec request or as ForceCommand
 * (docs/PROTOCOL.sessions §5): `attach NAME`, which reattaches a stock client to a held session (its screen
 * redrawn, then live output), and `sessions`, which lists the user's held sessions.
 */
import type { Channel } from '../connection/channel.ts';
import { encodeExitStatus } from '../connection/session-requests.ts';
import type { HeldSessionSummary } from '../sessions/holder-api.ts';
import type { PersistentSession } from './persistent-session.ts';

export type SessionCommand = { kind: 'attach'; name: string } | { kind: 'list' };

/** `attach NAME` or `sessions`, with surrounding blanks; anything else is an ordinary command. */
export function parseSessionCommand(command: string): SessionCommand | undefined {
  const words = command.trim().split(/[ \t]+/);
  if (words.length === 1 && words[0] === 'sessions') return { kind: 'list' };
  if (words.length === 2 && words[0] === 'attach' && /^[\x21-\x7e]{1,64}$/.test(words[1]!)) return { kind: 'attach', name: words[1]! };
  return undefined;
}

/** "45s", "12m", "3h05m", "2d04h": coarse, as a listing wants it. */
export function formatDuration(milliseconds: number): string {
  const seconds = Math.max(0, Math.floor(milliseconds / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d${String(hours % 24).padStart(2, '0')}h`;
}

/** Printable text only: a command line is the user's, but the listing goes to a terminal. */
function printable(text: string, max: number): string {
  const clean = text.replace(/[\x00-\x1f\x7f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/** The `sessions` table: NAME COMMAND AGE IDLE ATTACHED, oldest first, columns aligned. */
export function formatSessionTable(sessions: readonly HeldSessionSummary[], now = Date.now()): string {
  const rows = [['NAME', 'COMMAND', 'AGE', 'IDLE', 'ATTACHED']];
  for (const session of [...sessions].sort((a, b) => a.createdAt - b.createdAt)) {
    rows.push([
      printable(session.name, 64),
      printable(session.command, 40) + (session.exited ? ' (exited)' : ''),
      formatDuration(now - session.createdAt),
      formatDuration(now - session.lastActivityAt),
      session.attached ? 'yes' : 'no',
    ]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n') + '\n';
}

/** What `attach NAME` says for a name the user has no session under (on stderr; the exit status is 1). */
export function noSessionMessage(name: string): string {
  return `no session ${printable(name, 64)}\n`;
}

/** Writes `text` (stdout, or stderr) then exit-status, EOF and CLOSE (RFC 4254 §6.10, §5.3). */
export function finishWithText(channel: Channel, text: string, status: number, stream: 'stdout' | 'stderr', terminal: boolean): void {
  if (channel.isClosing) return;
  const bytes = Buffer.from(terminal ? text.replace(/\n/g, '\r\n') : text);
  // The status and CLOSE follow once the text has left (it may wait for window space).
  const end = (): void => {
    if (channel.isClosing) return;
    void channel.request('exit-status', encodeExitStatus(status), false);
    channel.sendEof();
    channel.end();
    channel.close();
  };
  if (stream === 'stdout') channel.write(bytes, () => end());
  else channel.writeExtended(bytes, 1, end);
}

/** `sessions`: the table on stdout and status 0, or why not on stderr and status 1. */
export async function listSessions(channel: Channel, persistent: PersistentSession, terminal: boolean): Promise<boolean> {
  const list = await persistent.withHolder('list', (holder) => holder.list());
  if (list === undefined) finishWithText(channel, 'sessions: the session holder is not available\n', 1, 'stderr', terminal);
  else finishWithText(channel, formatSessionTable(list), 0, 'stdout', terminal);
  return true;
}
