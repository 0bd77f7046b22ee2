/**
 * Protocol version exchange (RFC 4253 §4.2). The server may send other lines before its identification
 * string; a client may not. Lines are bounded so a hostile peer cannot make us buffer without end.
 */
import { ProtocolError } from '../wire/errors.ts';

/** RFC 4253 §4.2: the identification line is at most 255 characters including CR LF. */
const MAX_VERSION_LINE = 255;
/** OpenSSH accepts this many pre-banner lines before giving up; so do we. */
const MAX_PRE_BANNER_LINES = 1024;
const MAX_PRE_BANNER_LINE_LENGTH = 8192;

export const SOFTWARE_VERSION = 'Tether_0.1';

export interface IdentificationResult {
  /** The peer's identification string without CR LF, e.g. "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3". */
  version: string;
  /** Lines the server sent before its identification (shown to the user by some clients). */
  preamble: string[];
  /** Bytes that followed the identification line: the start of the binary packet stream. */
  rest: Buffer;
}

/**
 * Incrementally reads the peer's identification. `push` returns a result once the identification line has
 * arrived, or undefined while more bytes are needed; it throws ProtocolError on anything invalid.
 */
export class IdentificationReader {
  private pending: Buffer = Buffer.alloc(0);
  private readonly preamble: string[] = [];
  private readonly allowPreamble: boolean;

  constructor(allowPreamble: boolean) {
    this.allowPreamble = allowPreamble;
  }

  push(chunk: Buffer): IdentificationResult | undefined {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      const newline = this.pending.indexOf(0x0a);
      if (newline < 0) {
        const limit = this.allowPreamble ? MAX_PRE_BANNER_LINE_LENGTH : MAX_VERSION_LINE;
        if (this.pending.length > limit) throw new ProtocolError('identification line too long', 8);
        return undefined;
      }
      let line = this.pending.subarray(0, newline).toString('latin1');
      this.pending = this.pending.subarray(newline + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line.startsWith('SSH-')) {
        if (line.length + 2 > MAX_VERSION_LINE) throw new ProtocolError('identification line too long', 8);
        if (!/^SSH-(2\.0|1\.99)-[\x21-\x7e]+( .*)?$/.test(line)) {
          throw new ProtocolError(`Protocol major versions differ or invalid identification: ${printable(line)}`, 8);
        }
        return { version: line, preamble: this.preamble, rest: this.pending };
      }
      if (!this.allowPreamble) throw new ProtocolError(`invalid SSH identification string: ${printable(line)}`, 8);
      if (line.includes('\0')) throw new ProtocolError('banner line contains invalid characters', 8);
      this.preamble.push(line);
      if (this.preamble.length > MAX_PRE_BANNER_LINES) throw new ProtocolError('banner exceeds line limit', 8);
    }
  }
}

/** Keeps peer-supplied text safe to print: control characters become `?`, length is capped. */
export function printable(text: string, max = 120): string {
  const cleaned = text.replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
  return cleaned.length > max ? cleaned.slice(0, max) + '…' : cleaned;
}

/** Compatibility quirks keyed on the peer's software version, as OpenSSH's compat.c does for old peers. */
export function peerSoftware(version: string): string {
  return version.split('-').slice(2).join('-');
}
