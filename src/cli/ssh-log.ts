/**
 * ssh's log (log.c) for `tether ssh`: messages print when their level is at or below LogLevel (QUIET 0,
 * FATAL 1, ERROR 2, INFO 3, VERBOSE 4, DEBUG1..3 5..7), each line ending in CR LF so it stays aligned when
 * the terminal is in raw mode. With `-E log_file` (log_redirect_stderr_to) they are appended to that file,
 * created mode 0600, instead of going to stderr.
 */
import { openSync, writeSync } from 'node:fs';
import { systemErrorText } from '../server/forwarding/error-text.ts';

export const LOG = { quiet: 0, fatal: 1, error: 2, info: 3, verbose: 4, debug1: 5, debug2: 6, debug3: 7 } as const;

/** -E could not be opened; ssh's message, exit status 1. */
export class LogFileError extends Error {
  override readonly name = 'LogFileError';
}

export interface SshLog {
  /** The current LogLevel as a number; change it once the configuration is read. */
  level: number;
  /** Prints `message` (may span lines) when `level` is at or below the LogLevel. */
  log(level: number, message: string): void;
  /** debug1 lines, or undefined below DEBUG1 (so callers can skip building them). */
  readonly debug: ((message: string) => void) | undefined;
}

/** Opens the log: stderr, or the -E file (appended; it stays open until exit). Throws LogFileError. */
export function openSshLog(level: number, file?: string): SshLog {
  let fd: number | undefined;
  if (file !== undefined) {
    try {
      fd = openSync(file, 'a', 0o600);
    } catch (error) {
      throw new LogFileError(`Couldn't open logfile ${file}: ${systemErrorText(error as Error)}`);
    }
  }
  const write = (text: string) => {
    if (fd === undefined) process.stderr.write(text);
    else writeSync(fd, text);
  };
  const log: SshLog = {
    level,
    log(messageLevel, message) {
      if (messageLevel <= log.level) write(`${message.replace(/\r?\n/g, '\r\n')}\r\n`);
    },
    get debug() {
      return log.level >= LOG.debug1 ? (message: string) => log.log(LOG.debug1, `debug1: ${message}`) : undefined;
    },
  };
  return log;
}

/**
 * Text from the server made safe for a terminal as ssh's fmprintf() does (utf8.c): printable characters,
 * tab, CR and LF pass; every other control character (C0, DEL, C1) is written as `\ooo` octal per byte, so
 * a banner cannot send escape sequences to the user's terminal.
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, (c) =>
    [...Buffer.from(c, 'utf8')].map((byte) => `\\${byte.toString(8).padStart(3, '0')}`).join(''));
}
