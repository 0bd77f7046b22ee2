/**
 * The server's log, worded like sshd's so that operators and log watchers (fail2ban and friends) read it
 * the same way: "Accepted publickey for alice from 10.0.0.5 port 51234 ssh2: ED25519 SHA256:…". Levels are
 * sshd's LogLevel names. Nothing secret is ever passed here: callers log user names, addresses and key
 * fingerprints, never passwords or key material.
 */
import { appendFileSync } from 'node:fs';
import type { LogLevel } from '../config/sshd/values.ts';

const LEVEL_ORDER: readonly LogLevel[] = ['QUIET', 'FATAL', 'ERROR', 'INFO', 'VERBOSE', 'DEBUG', 'DEBUG2', 'DEBUG3'];

export interface ServerLogger {
  readonly level: LogLevel;
  error(message: string): void;
  info(message: string): void;
  verbose(message: string): void;
  debug(message: string): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go: a function (tests), a file path (appended, with timestamps), or stderr by default. */
  destination?: ((line: string) => void) | { file: string };
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

export function createLogger(options: LoggerOptions = {}): ServerLogger {
  const level = options.level ?? 'INFO';
  const threshold = LEVEL_ORDER.indexOf(level);
  const destination = options.destination;
  const write = (line: string): void => {
    try {
      if (typeof destination === 'function') destination(line);
      else if (destination) appendFileSync(destination.file, `${new Date().toISOString()} tether-server[${process.pid}]: ${line}\n`);
      else process.stderr.write(`${line}\n`);
    } catch {
      // A log that cannot be written must never take the server down.
    }
  };
  const at = (lineLevel: LogLevel) => (message: string) => {
    if (LEVEL_ORDER.indexOf(lineLevel) <= threshold) write(message);
  };
  return {
    level,
    error: at('ERROR'),
    info: at('INFO'),
    verbose: at('VERBOSE'),
    debug: at('DEBUG'),
  };
}

/** A logger that drops everything (library use without logging). */
export const silentLogger: ServerLogger = createLogger({ level: 'QUIET', destination: () => {} });
