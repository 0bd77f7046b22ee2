/**
 * ssh's escape sequences on an interactive session (ssh(1) "ESCAPE CHARACTERS"): recognised only right after
 * a newline; `~.` disconnects, `~?` lists the escapes, `~~` sends one `~`. Everything else passes through.
 */
import { Transform, type TransformCallback } from 'node:stream';

export interface EscapeActions {
  disconnect(): void;
  help(text: string): void;
}

export class EscapeFilter extends Transform {
  private readonly escape: number;
  private readonly actions: EscapeActions;
  private atLineStart = true;
  private pendingEscape = false;

  constructor(escapeChar: string, actions: EscapeActions) {
    super();
    this.escape = escapeChar.charCodeAt(0);
    this.actions = actions;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const out: number[] = [];
    for (const byte of chunk) {
      if (this.pendingEscape) {
        this.pendingEscape = false;
        if (byte === 0x2e /* . */) {
          this.actions.disconnect();
          continue;
        }
        if (byte === 0x3f /* ? */) {
          const e = String.fromCharCode(this.escape);
          this.actions.help(
            `Supported escape sequences:\r\n ${e}.   - terminate connection\r\n ${e}?   - this message\r\n ${e}${e}   - send the escape character by typing it twice\r\n(Note that escapes are only recognized immediately after newline.)\r\n`,
          );
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
}
