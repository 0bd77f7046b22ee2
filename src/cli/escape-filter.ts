/**
 * ssh's escape sequences on an interactive session (ssh(1) "ESCAPE CHARACTERS"): recognised only right after
 * a newline; `~.` disconnects, `~?` lists the escapes, `~~` sends one `~`, and `~C` opens the `ssh>` command
 * line (when EnableEscapeCommandline allows it) to add or cancel forwards. Everything else passes through.
 */
import { Transform, type TransformCallback } from 'node:stream';

export interface EscapeActions {
  disconnect(): void;
  /** Writes text to the user's terminal (the help, and the `ssh>` prompt with its echo and answers). */
  help(text: string): void;
  /**
   * Runs one `~C` command line (`-L spec`, `-KR port`, ...) and resolves with what to print. Absent when
   * EnableEscapeCommandline is off: ssh 9.2 then answers "commandline disabled".
   */
  commandLine?: (line: string) => Promise<string>;
}

/** Longest `ssh>` line kept; ssh reads at most a few hundred bytes there too. */
const MAX_COMMAND_LINE = 1024;

export class EscapeFilter extends Transform {
  private readonly escape: number;
  private readonly actions: EscapeActions;
  private atLineStart = true;
  private pendingEscape = false;
  /** The `ssh>` line being typed, or undefined when not at the prompt. */
  private commandLine: string | undefined;

  constructor(escapeChar: string, actions: EscapeActions) {
    super();
    this.escape = escapeChar.charCodeAt(0);
    this.actions = actions;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const out: number[] = [];
    for (const byte of chunk) {
      if (this.commandLine !== undefined) {
        this.editCommandLine(byte);
        continue;
      }
      if (this.pendingEscape) {
        this.pendingEscape = false;
        if (byte === 0x2e /* . */) {
          this.actions.disconnect();
          continue;
        }
        if (byte === 0x3f /* ? */) {
          this.actions.help(this.helpText());
          continue;
        }
        if (byte === 0x43 /* C */) {
          if (this.actions.commandLine) {
            this.commandLine = '';
            this.actions.help('\r\nssh> ');
          } else {
            this.actions.help('commandline disabled\r\n');
          }
          continue;
        }
        if (byte !== this.escape) out.push(this.escape);
        out.push(byte);
        this.atLineStart = byte === 0x0d || byte === 0x0a;
        continue;
      }
      if (this.atLineStart && byte === this.escape) {
        this.pendingEscape = true;
        continue;
      }
      out.push(byte);
      this.atLineStart = byte === 0x0d || byte === 0x0a;
    }
    callback(null, out.length > 0 ? Buffer.from(out) : undefined);
  }

  /** Line editing at the `ssh>` prompt (the terminal is raw, so echo and erase are ours to do). */
  private editCommandLine(byte: number): void {
    const line = this.commandLine!;
    if (byte === 0x0d || byte === 0x0a) {
      this.commandLine = undefined;
      this.atLineStart = true;
      this.actions.help('\r\n');
      if (line.trim() === '') return;
      void this.actions.commandLine!(line).then(
        (answer) => answer && this.actions.help(answer),
        (error: Error) => this.actions.help(`${error.message}\r\n`),
      );
      return;
    }
    if (byte === 0x03 /* ^C */ || byte === 0x1b /* ESC */) {
      this.commandLine = undefined;
      this.atLineStart = true;
      this.actions.help('\r\n');
      return;
    }
    if (byte === 0x7f || byte === 0x08) {
      if (line.length > 0) {
        this.commandLine = line.slice(0, -1);
        this.actions.help('\b \b');
      }
      return;
    }
    if (byte === 0x15 /* ^U */) {
      this.actions.help('\b \b'.repeat(line.length));
      this.commandLine = '';
      return;
    }
    if (byte >= 0x20 && byte < 0x7f && line.length < MAX_COMMAND_LINE) {
      this.commandLine = line + String.fromCharCode(byte);
      this.actions.help(String.fromCharCode(byte));
    }
  }

  private helpText(): string {
    const e = String.fromCharCode(this.escape);
    return (
      `Supported escape sequences:\r\n ${e}.   - terminate connection\r\n` +
      (this.actions.commandLine ? ` ${e}C   - open a command line\r\n` : '') +
      ` ${e}?   - this message\r\n ${e}${e}   - send the escape character by typing it twice\r\n` +
      `(Note that escapes are only recognized immediately after newline.)\r\n`
    );
  }
}
