/**
 * Encoders and decoders for the "session" channel requests of RFC 4254 §6, shared by client and server so
 * each request's layout is written down once.
 */
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { DecodeError } from '../wire/errors.ts';

export interface PtyRequest {
  term: string;
  columns: number;
  rows: number;
  widthPixels: number;
  heightPixels: number;
  /** Encoded terminal modes (RFC 4254 §8): opcode, uint32 value pairs ending in TTY_OP_END. */
  modes: Buffer;
}

export interface WindowSize {
  columns: number;
  rows: number;
  widthPixels: number;
  heightPixels: number;
}

/** RFC 4254 §6.2 pty-req. */
export function encodePtyRequest(request: PtyRequest): Buffer {
  return Buffer.from(
    new Writer(128)
      .string(request.term)
      .uint32(request.columns)
      .uint32(request.rows)
      .uint32(request.widthPixels)
      .uint32(request.heightPixels)
      .string(request.modes)
      .finish(),
  );
}

export function decodePtyRequest(data: Buffer): PtyRequest {
  const reader = new Reader(data);
  return {
    term: reader.text(256),
    columns: reader.uint32(),
    rows: reader.uint32(),
    widthPixels: reader.uint32(),
    heightPixels: reader.uint32(),
    modes: reader.string(4096),
  };
}

/** RFC 4254 §6.7 window-change (want reply is always false). */
export function encodeWindowChange(size: WindowSize): Buffer {
  return Buffer.from(new Writer(16).uint32(size.columns).uint32(size.rows).uint32(size.widthPixels).uint32(size.heightPixels).finish());
}

export function decodeWindowChange(data: Buffer): WindowSize {
  const reader = new Reader(data);
  return { columns: reader.uint32(), rows: reader.uint32(), widthPixels: reader.uint32(), heightPixels: reader.uint32() };
}

/** A single `string` argument: exec's command, subsystem's name, signal's name (without "SIG"). */
export function encodeString(value: string): Buffer {
  return Buffer.from(new Writer(value.length + 4).string(value).finish());
}

export function decodeString(data: Buffer, maxLength = 256 * 1024): string {
  const reader = new Reader(data);
  const value = reader.text(maxLength);
  reader.end();
  return value;
}

/** RFC 4254 §6.4 env. */
export function encodeEnv(name: string, value: string): Buffer {
  return Buffer.from(new Writer(name.length + value.length + 8).string(name).string(value).finish());
}

export function decodeEnv(data: Buffer): { name: string; value: string } {
  const reader = new Reader(data);
  return { name: reader.text(1024), value: reader.text(64 * 1024) };
}

/** RFC 4254 §6.10 exit-status. */
export function encodeExitStatus(code: number): Buffer {
  return Buffer.from(new Writer(4).uint32(code).finish());
}

/** RFC 4254 §6.10 exit-signal: signal name without "SIG", core dumped, message, language. */
export function encodeExitSignal(signal: string, coreDumped: boolean, message = ''): Buffer {
  return Buffer.from(new Writer(64).string(signal).boolean(coreDumped).string(message).string('').finish());
}

/** Terminal mode opcodes (RFC 4254 §8) that we send and understand. */
export const TTY_OP = {
  END: 0,
  VINTR: 1,
  VQUIT: 2,
  VERASE: 3,
  VKILL: 4,
  VEOF: 5,
  VEOL: 6,
  VEOL2: 7,
  VSTART: 8,
  VSTOP: 9,
  VSUSP: 10,
  VREPRINT: 12,
  VWERASE: 13,
  VLNEXT: 14,
  IGNPAR: 30,
  ICRNL: 36,
  IXON: 38,
  IXANY: 39,
  IXOFF: 40,
  IMAXBEL: 41,
  IUTF8: 42,
  ISIG: 50,
  ICANON: 51,
  ECHO: 53,
  ECHOE: 54,
  ECHOK: 55,
  ECHONL: 56,
  NOFLSH: 57,
  TOSTOP: 58,
  // RFC 4254 §8 (and OpenSSH's ttymodes.h): 59, 60, 61, 62.
  IEXTEN: 59,
  ECHOCTL: 60,
  ECHOKE: 61,
  PENDIN: 62,
  OPOST: 70,
  ONLCR: 72,
  CS7: 90,
  CS8: 91,
  PARENB: 92,
  ISPEED: 128,
  OSPEED: 129,
} as const;

/** A conventional interactive terminal's settings, used when the local terminal's cannot be read. */
export const DEFAULT_TERMINAL_MODES: ReadonlyArray<readonly [number, number]> = [
  [TTY_OP.VINTR, 3],
  [TTY_OP.VQUIT, 28],
  [TTY_OP.VERASE, 127],
  [TTY_OP.VKILL, 21],
  [TTY_OP.VEOF, 4],
  [TTY_OP.VSTART, 17],
  [TTY_OP.VSTOP, 19],
  [TTY_OP.VSUSP, 26],
  [TTY_OP.VREPRINT, 18],
  [TTY_OP.VWERASE, 23],
  [TTY_OP.VLNEXT, 22],
  [TTY_OP.ICRNL, 1],
  [TTY_OP.IXON, 1],
  [TTY_OP.IUTF8, 1],
  [TTY_OP.ISIG, 1],
  [TTY_OP.ICANON, 1],
  [TTY_OP.ECHO, 1],
  [TTY_OP.ECHOE, 1],
  [TTY_OP.ECHOK, 1],
  [TTY_OP.IEXTEN, 1],
  [TTY_OP.ECHOCTL, 1],
  [TTY_OP.ECHOKE, 1],
  [TTY_OP.OPOST, 1],
  [TTY_OP.ONLCR, 1],
  [TTY_OP.CS8, 1],
  [TTY_OP.ISPEED, 38400],
  [TTY_OP.OSPEED, 38400],
];

export function encodeTerminalModes(modes: ReadonlyArray<readonly [number, number]>): Buffer {
  const writer = new Writer(modes.length * 5 + 1);
  for (const [opcode, value] of modes) writer.byte(opcode).uint32(value);
  return Buffer.from(writer.byte(TTY_OP.END).finish());
}

export function decodeTerminalModes(encoded: Buffer): Map<number, number> {
  const modes = new Map<number, number>();
  const reader = new Reader(encoded);
  while (reader.remaining > 0) {
    const opcode = reader.byte();
    // RFC 4254 §8: opcodes 160–255 have undefined argument layouts; parsing must stop there.
    if (opcode === TTY_OP.END || opcode >= 160) break;
    modes.set(opcode, reader.uint32());
    if (modes.size > 256) throw new DecodeError('too many terminal modes');
  }
  return modes;
}
