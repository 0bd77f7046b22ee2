/**
 * Feeding `tether ssh`'s stdin into a session, plain or held: on a terminal with an escape character through
 * the escape filter (ssh's `~.`, `~?`, `~C`), else straight from a reused buffer when stdin is a pipe or
 * socket (borrowed-stdin.ts), else as a stream.
 */
import { createReadStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { EscapeFilter } from './escape-filter.ts';
import { borrowedStdin, type BorrowedStdin } from './borrowed-stdin.ts';

export interface StdinOptions {
  escapeChar?: string;
  /** -n: /dev/null instead of stdin. */
  stdinNull?: boolean;
  /** As the user named it, for `~.`'s message. */
  host: string;
  escapeCommandLine?: (line: string) => Promise<string>;
}

export interface StdinTarget {
  /** Where stdin goes when it is read as a stream. */
  stream: Writable;
  /** Takes stdin read into a reused buffer instead (a pipe or socket, no escape character). */
  takeBorrowed(reads: BorrowedStdin): void;
  /** `~.`, after its message: ends the session. */
  disconnect(): void;
  /** `~.`, before its message (a status line to clear first). */
  quitting?(): void;
}

/** Starts feeding; returns what stops it once the session is over. */
export function feedStdin(tty: boolean, options: StdinOptions, target: StdinTarget): () => void {
  const escapes = tty && options.escapeChar !== undefined;
  const borrowed = !options.stdinNull && !escapes ? borrowedStdin() : undefined;
  if (borrowed) {
    target.takeBorrowed(borrowed);
    return () => borrowed.destroy();
  }
  const stdin: Readable = options.stdinNull ? createReadStream('/dev/null') : process.stdin;
  let source: Readable = stdin;
  if (escapes) {
    const filter = new EscapeFilter(options.escapeChar!, {
      disconnect: () => {
        target.quitting?.();
        process.stderr.write(`${options.escapeChar}.\r\nConnection to ${options.host} closed.\r\n`);
        target.disconnect();
      },
      help: (text) => process.stderr.write(text),
      commandLine: options.escapeCommandLine,
    });
    source = stdin.pipe(filter);
  }
  source.pipe(target.stream);
  return () => {
    source.unpipe(target.stream);
    stdin.destroy();
  };
}
