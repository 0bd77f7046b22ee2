/**
 * Errors raised while reading ssh_config. Messages use OpenSSH 9.2's wording (readconf.c) so that scripts
 * and users who know `ssh` recognise them: `<file> line <N>: <message>` for a bad value,
 * `<file>: line <N>: Bad configuration option: <kw>` for an unknown keyword, and a closing
 * `<file>: terminating, <n> bad configuration options`.
 */

/** One problem OpenSSH would print while parsing a file; `text` is the complete line ssh prints. */
export interface ConfigDiagnostic {
  readonly file: string;
  /** 1-based line number; 0 for command-line `-o` options, as OpenSSH reports them. */
  readonly line: number;
  readonly text: string;
}

/**
 * A configuration that ssh would refuse. `message` is the first line OpenSSH prints for the failure;
 * `report` is everything it would print to stderr, including the `terminating` line when it applies.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly file: string;
  readonly line: number | undefined;
  readonly diagnostics: readonly ConfigDiagnostic[];
  readonly report: string;

  constructor(message: string, file: string, line: number | undefined, diagnostics: readonly ConfigDiagnostic[] = [], report?: string) {
    super(message);
    this.file = file;
    this.line = line;
    this.diagnostics = diagnostics;
    this.report = report ?? message;
  }
}

/** A non-fatal message OpenSSH logs (e.g. `Unsupported option "rsaauthentication"`) while carrying on. */
export interface ConfigWarning {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  /** ssh logs unsupported options with error() and deprecated ones with debug() (shown from -v on). */
  readonly level?: 'error' | 'debug1';
}

/**
 * Thrown inside a keyword handler for a bad argument. The reader catches it, records a diagnostic with the
 * text as given (already in OpenSSH wording), counts the line as bad and keeps reading, exactly as ssh does.
 */
export class LineProblem extends Error {
  override readonly name = 'LineProblem';
}

/** A fatal condition (ssh calls fatal()): parsing stops at once. */
export class FatalProblem extends Error {
  override readonly name = 'FatalProblem';
}
