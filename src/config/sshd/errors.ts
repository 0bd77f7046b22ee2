// Errors raised while reading an sshd_config. Their text mirrors what OpenSSH 9.2's sshd prints on stderr
// for the same file, so an operator sees the messages they already know (and tests can compare them).

/** One problem in a configuration: the file and line it came from, and sshd's wording. */
export class SshdConfigError extends Error {
  /** The file the problem was found in ("command-line" for -o options, as sshd names them). */
  readonly file: string;
  /** 1-based line number; 0 for command-line options and whole-file problems. */
  readonly line: number;
  /** Every line sshd would print for this problem, in order (the last one is the fatal one). */
  readonly sshdLines: readonly string[];

  constructor(file: string, line: number, sshdLines: readonly string[]) {
    super(sshdLines.join('\n'));
    this.name = 'SshdConfigError';
    this.file = file;
    this.line = line;
    this.sshdLines = sshdLines;
  }
}

/**
 * Several non-fatal errors in one file ("Bad configuration option", "extra arguments at end of line", ...):
 * sshd reports each, then stops with "<file>: terminating, N bad configuration options".
 */
export class SshdConfigErrors extends SshdConfigError {
  readonly errors: readonly SshdConfigError[];

  constructor(file: string, errors: readonly SshdConfigError[]) {
    const lines = errors.flatMap((e) => e.sshdLines);
    lines.push(`${file}: terminating, ${errors.length} bad configuration options`);
    super(file, errors[0]?.line ?? 0, lines);
    this.name = 'SshdConfigErrors';
    this.errors = errors;
  }
}

/** A connection test specification (`sshd -C`) that sshd would refuse. */
export class ConnectionSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionSpecError';
  }
}
