/**
 * `internal-sftp` for the server (sshd's in-process sftp-server, session.c): which session requests run it,
 * the program that does (`tether sftp-server` as the user, not through the user's shell, so sftp-only
 * accounts need no shell), and ChrootDirectory: its tokens and sshd's safely_chroot() checks. Node cannot
 * chroot(2), so the root is handed to the SFTP session, which confines every path to it (paths.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const INTERNAL_SFTP = 'internal-sftp';

/** IS_INTERNAL_SFTP(): the command is internal-sftp, with or without arguments. */
export function isInternalSftp(command: string | undefined): boolean {
  return command !== undefined && (command === INTERNAL_SFTP || command.startsWith(`${INTERNAL_SFTP} `));
}

/** The arguments written after internal-sftp, split on spaces as sshd's strtok() splits them. */
export function internalSftpArguments(command: string): string[] {
  return command.split(' ').filter(Boolean).slice(1);
}

/**
 * bin/tether.js, found by walking up from this module: it sits at the same depth neither in src/ nor in the
 * bundle (dist/bundle/), so its place is looked for rather than assumed.
 */
export function tetherEntry(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(directory, 'bin', 'tether.js');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(directory);
    if (parent === directory) throw new Error('internal-sftp: bin/tether.js not found above the server modules');
    directory = parent;
  }
}

/** Whether this code runs from the TypeScript sources (the child must then too: TETHER_SOURCE). */
export function runningFromSources(): boolean {
  return import.meta.url.endsWith('.ts');
}

/**
 * The command line that serves SFTP: node, bin/tether.js, sftp-server, the root (if any), -e, the
 * arguments. With -e its log (at the level of internal-sftp's own -l, ERROR by default) goes to stderr,
 * which the server writes to its log: sshd's in-process sftp-server logs through sshd, not to the client.
 */
export function sftpServerCommand(args: string[], root: string | null): { file: string; args: string[] } {
  return { file: process.execPath, args: [tetherEntry(), 'sftp-server', ...(root === null ? [] : [`--chroot=${root}`]), '-e', ...args] };
}

/** What a ForceCommand internal-sftp session that is not an SFTP subsystem runs: sshd's refusal. */
export function sftpOnlyRefusal(): { file: string; args: string[] } {
  return { file: process.execPath, args: ['-e', 'process.stdout.write("This service allows sftp connections only.\\n"); process.exitCode = 1'] };
}

/** The ChrootDirectory could not be used: sshd's fatal() in safely_chroot(), which ends the session. */
export class ChrootDirectoryError extends Error {
  override readonly name = 'ChrootDirectoryError';
}

/** ChrootDirectory's ~, %h (home), %u (user), %U (uid) and %%. */
export function expandChrootDirectory(value: string, account: { name: string; uid: number; home: string }): string {
  const tilde = value === '~' ? account.home : value.startsWith('~/') ? `${account.home}${value.slice(1)}` : value;
  return tilde.replace(/%([%huU])/g, (_, token: string) => (token === 'h' ? account.home : token === 'u' ? account.name : token === 'U' ? String(account.uid) : '%'));
}

/**
 * safely_chroot(): every component from "/" down must be a directory owned by root and writable by nobody
 * else, so that the user cannot rearrange the tree the root is taken from.
 */
export function checkChrootDirectory(path: string): void {
  if (!path.startsWith('/')) throw new ChrootDirectoryError('chroot path does not begin at root');
  if (path.length >= 4096) throw new ChrootDirectoryError('chroot path too long');
  for (let at = 0; at !== -1;) {
    const slash = path.indexOf('/', at);
    const component = slash === -1 ? path : path.slice(0, slash + 1);
    at = slash === -1 ? -1 : slash + 1;
    const which = slash === -1 ? '' : 'component ';
    let stats;
    try {
      stats = statSync(component);
    } catch (error) {
      throw new ChrootDirectoryError(`safely_chroot: stat("${component}"): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (stats.uid !== 0 || (stats.mode & 0o022) !== 0) throw new ChrootDirectoryError(`bad ownership or modes for chroot directory ${which}"${component}"`);
    if (!stats.isDirectory()) throw new ChrootDirectoryError(`chroot path ${which}"${component}" is not a directory`);
    if (at >= path.length) break;
  }
}
