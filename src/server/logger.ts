/**
 * The server's log, worded like sshd's so that operators and log watchers (fail2ban and friends) read it
 * the same way: "Accepted publickey for alice from 10.0.0.5 port 51234 ssh2: ED25519 SHA256:…". Levels are
 * sshd's LogLevel names, and debug lines carry sshd's "debug1: " prefix. Nothing secret is ever passed here:
 * callers log user names, addresses and key fingerprints, never passwords or key material.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { LogLevel } from '../config/sshd/values.ts';

const LEVEL_ORDER: readonly LogLevel[] = ['QUIET', 'FATAL', 'ERROR', 'INFO', 'VERBOSE', 'DEBUG', 'DEBUG2', 'DEBUG3'];

export interface ServerLogger {
  readonly level: LogLevel;
  error(message: string): void;
  info(message: string): void;
  verbose(message: string): void;
  debug(message: string): void;
  /** A line another program already filtered by its own level (internal-sftp's -l): written whatever ours. */
  line(message: string): void;
}

/**
 * Where lines go: a function (tests), a file (sshd -E: appended, created 0600), stderr (the default), or
 * nowhere ('none': a daemon or inetd server without -e or -E, where sshd would use syslog).
 */
export type LogDestination = ((line: string) => void) | { file: string } | 'stderr' | 'none';

export interface LoggerOptions {
  level?: LogLevel;
  destination?: LogDestination;
}

/** The log file named by -E could not be opened (sshd exits 1 with this message). */
export class LogFileError extends Error {
  override readonly name = 'LogFileError';
}

/** Control characters from the peer (user names, version strings) are escaped so a log line stays one line. */
export function sanitizeForLog(text: string, max = 256): string {
  let out = '';
  for (const ch of text.slice(0, max)) {
    const code = ch.codePointAt(0)!;
    out += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : ch;
  }
  return out;
}

/** Opens sshd's -E file as log.c's log_redirect_stderr_to does: O_WRONLY|O_CREAT|O_APPEND, mode 0600. */
function openLogFile(path: string): number {
  try {
    return openSync(path, 'a', 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : (error as Error).message;
    throw new LogFileError(`Couldn't open logfile ${path}: ${reason}`);
  }
}

function lineWriter(destination: LogDestination): (line: string) => void {
  if (typeof destination === 'function') return destination;
  if (destination === 'none') return () => {};
  if (destination === 'stderr') return (line) => process.stderr.write(`${line}\n`);
  const fd = openLogFile(destination.file);
  // Several processes may append to one file (sshd -i per connection): one write per line keeps lines whole.
  process.once('exit', () => {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  });
  return (line) => writeSync(fd, `${line}\n`);
}

/** Throws LogFileError when a file destination cannot be opened. */
export function createLogger(options: LoggerOptions = {}): ServerLogger {
  const level = options.level ?? 'INFO';
  const threshold = LEVEL_ORDER.indexOf(level);
  const writeLine = lineWriter(options.destination ?? 'stderr');
  const write = (line: string): void => {
    try {
      writeLine(line);
    } catch {
      // A log that cannot be written must never take the server down.
    }
  };
  const at = (lineLevel: LogLevel, prefix = '') => (message: string) => {
    if (LEVEL_ORDER.indexOf(lineLevel) <= threshold) write(prefix + message);
  };
  return {
    level,
    error: at('ERROR'),
    info: at('INFO'),
    verbose: at('VERBOSE'),
    debug: at('DEBUG', 'debug1: '),
    line: write,
  };
}

/** A logger that drops everything (library use without logging). */
export const silentLogger: ServerLogger = createLogger({ level: 'QUIET', destination: 'none' });
