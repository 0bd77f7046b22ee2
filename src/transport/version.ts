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

/** OpenSSH's SSH_MAX_BANNER_LEN: the longest identification line a server reads from a client. */
const MAX_CLIENT_LINE = 8192;

/**
 * The client's identification was unusable. A server writes `reply` to the client before closing, as
 * sshd's kex_exchange_identification (kex.c send_error) does: "Invalid SSH identification string." or
 * "Protocol major versions differ.".
 */
export class IdentificationError extends ProtocolError {
  readonly reply: string;
  constructor(message: string, reply: string) {
    super(message, 8);
    this.reply = reply;
  }
}

const INVALID_IDENTIFICATION = 'Invalid SSH identification string.';

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
    if (!this.allowPreamble) return this.pushFromClient();
    for (;;) {
      const newline = this.pending.indexOf(0x0a);
      if (newline < 0) {
        if (this.pending.length > MAX_PRE_BANNER_LINE_LENGTH) throw new ProtocolError('identification line too long', 8);
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
      if (line.includes('\0')) throw new ProtocolError('banner line contains invalid characters', 8);
      this.preamble.push(line);
      if (this.preamble.length > MAX_PRE_BANNER_LINES) throw new ProtocolError('banner exceeds line limit', 8);
    }
  }

  /**
   * The server's reading of a client's identification, as sshd's kex_exchange_identification: one line of
   * at most 8192 bytes, no NUL and no CR but before LF, "SSH-<major>.<minor>-<software>", protocol 2.0 or
   * 1.99. No other line may come first (RFC 4253 §4.2 lets only the server send those).
   */
  private pushFromClient(): IdentificationResult | undefined {
    const newline = this.pending.indexOf(0x0a);
    const line = newline < 0 ? this.pending : this.pending.subarray(0, newline);
    // sshd reads byte by byte and drops CRs, but after a CR only another CR or the LF may come; NUL never.
    let end = line.length;
    while (end > 0 && line[end - 1] === 0x0d) end--;
    const body = line.subarray(0, end);
    if (body.includes(0) || body.includes(0x0d)) {
      throw new IdentificationError('kex_exchange_identification: banner line contains invalid characters', INVALID_IDENTIFICATION);
    }
    if (body.length > MAX_CLIENT_LINE) throw new IdentificationError('kex_exchange_identification: banner line too long', INVALID_IDENTIFICATION);
    if (newline < 0) return undefined;
    const text = body.toString('latin1');
    const rest = this.pending.subarray(newline + 1);
    if (!(text.length > 4 && text.startsWith('SSH-'))) {
      throw new IdentificationError(
        `kex_exchange_identification: client sent invalid protocol identifier "${printable(text, 256)}"`,
        INVALID_IDENTIFICATION,
      );
    }
    const parsed = /^SSH-(\d+)\.(\d+)-(.+)$/.exec(text);
    if (!parsed) throw new IdentificationError(`Bad remote protocol version identification: '${printable(text, 100)}'`, INVALID_IDENTIFICATION);
    const major = Number(parsed[1]);
    const minor = Number(parsed[2]);
    if (!(major === 2 || (major === 1 && minor === 99))) {
      throw new IdentificationError(`Protocol major versions differ: 2 vs. ${major}`, 'Protocol major versions differ.');
    }
    return { version: text, preamble: [], rest };
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
