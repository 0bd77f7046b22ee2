/**
 * sftp-server's log (-l LEVEL, -e, -f FACILITY), worded as OpenSSH's sftp-server words it ("open \"/x\" flags
 * READ mode 0666", "sent status No such file") so that log watchers read it the same way. With -e lines go
 * to stderr ending in "\r\n" as log.c writes them; otherwise to syslog through logger(1) where a syslog
 * socket exists, and nowhere when none does (Node has no datagram Unix sockets). Paths are the client's
 * and are escaped so that a line stays one line; nothing secret is ever logged here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

/** log.c's levels in order; DEBUG is DEBUG1. */
export const SFTP_LOG_LEVELS = ['QUIET', 'FATAL', 'ERROR', 'INFO', 'VERBOSE', 'DEBUG1', 'DEBUG2', 'DEBUG3'] as const;
export type SftpLogLevel = (typeof SFTP_LOG_LEVELS)[number];

export const SFTP_LOG_FACILITIES = ['DAEMON', 'USER', 'AUTH', 'AUTHPRIV', 'LOCAL0', 'LOCAL1', 'LOCAL2', 'LOCAL3', 'LOCAL4', 'LOCAL5', 'LOCAL6', 'LOCAL7'] as const;

/** log_level_number(): undefined for a name log.c does not know. */
export function parseLogLevel(name: string): SftpLogLevel | undefined {
  const upper = name.toUpperCase();
  if (upper === 'DEBUG') return 'DEBUG1';
  return (SFTP_LOG_LEVELS as readonly string[]).includes(upper) ? (upper as SftpLogLevel) : undefined;
}

export function isLogFacility(name: string): boolean {
  return (SFTP_LOG_FACILITIES as readonly string[]).includes(name.toUpperCase());
}

export interface SftpLog {
  readonly level: SftpLogLevel;
  error(message: string): void;
  /** logit(): INFO. */
  info(message: string): void;
  verbose(message: string): void;
  debug(message: string): void;
  debug2(message: string): void;
  debug3(message: string): void;
  /** Whether a line at `level` would be written (to skip building it). */
  enabled(level: SftpLogLevel): boolean;
}

export type SftpLogDestination = 'stderr' | 'syslog' | ((line: string) => void);

/** strnvis-like: control characters and backslashes from the peer become octal escapes. */
export function visible(text: string, max = 1024): string {
  let out = '';
  for (const ch of text.slice(0, max)) {
    const code = ch.codePointAt(0)!;
    out += code < 0x20 || code === 0x7f || ch === '\\' ? `\\${code.toString(8).padStart(3, '0')}` : ch;
  }
  return out;
}

const SYSLOG_SOCKET = '/dev/log';

function syslogWriter(facility: string): (line: string, priority: string) => void {
  let logger: ChildProcess | undefined;
  let unavailable = !existsSync(SYSLOG_SOCKET);
  return (line, priority) => {
    if (unavailable) return;
    if (!logger) {
      logger = spawn('logger', ['--id=' + process.pid, '-t', 'sftp-server', '-p', `${facility.toLowerCase()}.${priority}`], { stdio: ['pipe', 'ignore', 'ignore'] });
      logger.on('error', () => (unavailable = true));
      logger.stdin!.on('error', () => (unavailable = true));
      logger.unref();
      (logger.stdin as unknown as { unref?: () => void }).unref?.();
    }
    logger.stdin!.write(`${line}\n`);
  };
}

export function createSftpLog(level: SftpLogLevel, destination: SftpLogDestination, facility = 'AUTH'): SftpLog {
  const threshold = SFTP_LOG_LEVELS.indexOf(level);
  const syslog = destination === 'syslog' ? syslogWriter(facility) : undefined;
  const write = (lineLevel: SftpLogLevel, message: string): void => {
    if (SFTP_LOG_LEVELS.indexOf(lineLevel) > threshold) return;
    const prefix = lineLevel.startsWith('DEBUG') ? `${lineLevel.toLowerCase()}: ` : lineLevel === 'ERROR' && destination !== 'stderr' ? 'error: ' : '';
    try {
      if (destination === 'stderr') process.stderr.write(`${prefix}${message}\r\n`);
      else if (syslog) syslog(prefix + message, lineLevel === 'ERROR' ? 'err' : lineLevel.startsWith('DEBUG') ? 'debug' : 'info');
      else if (typeof destination === 'function') destination(prefix + message);
    } catch {
      // A log that cannot be written never ends the session.
    }
  };
  return {
    level,
    error: (message) => write('ERROR', message),
    info: (message) => write('INFO', message),
    verbose: (message) => write('VERBOSE', message),
    debug: (message) => write('DEBUG1', message),
    debug2: (message) => write('DEBUG2', message),
    debug3: (message) => write('DEBUG3', message),
    enabled: (lineLevel) => SFTP_LOG_LEVELS.indexOf(lineLevel) <= threshold,
  };
}
