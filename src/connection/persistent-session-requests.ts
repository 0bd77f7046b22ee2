/**
 * The channel requests of Tether's persistent sessions (docs/PROTOCOL.sessions), encoded once for both roles.
 * Offsets are uint64 on the wire and plain numbers here: a session would need to move 8 PiB to exceed 2^53.
 */
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { DecodeError } from '../wire/errors.ts';
import { MAX_SESSION_ID_LENGTH, RESUME_TOKEN_LENGTH } from '../auth/resume-credential.ts';

export const HOLD_REQUEST = 'hold@tether-ssh.org';
export const SESSION_INFO_REQUEST = 'session@tether-ssh.org';
export const RESUME_REQUEST = 'resume@tether-ssh.org';
export const ACK_REQUEST = 'ack@tether-ssh.org';
export const DETACHED_REQUEST = 'detached@tether-ssh.org';

/** Longest session name either side accepts. */
export const MAX_SESSION_NAME_LENGTH = 256;

function offset(reader: Reader): number {
  const value = reader.uint64();
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError('session offset out of range');
  return Number(value);
}

/** §2 hold@tether-ssh.org: the name asked for ("" lets the server choose). */
export function encodeHold(name: string): Buffer {
  return new Writer(64).string(name).finish();
}

export function decodeHold(data: Buffer): string {
  const reader = new Reader(data);
  const name = reader.text(MAX_SESSION_NAME_LENGTH);
  reader.end('hold request');
  return name;
}

/**
 * §7: output is acknowledged at least every this many bytes when session@ names no spacing (a server of
 * before the field, or one whose log's quarter is exactly this).
 */
export const OUTPUT_ACK_SPACING = 64 * 1024;
/**
 * The spacing a server may ask for is kept within [MIN_OUTPUT_ACK_SPACING, MAX_OUTPUT_ACK_SPACING]: below,
 * a hostile server would have an acknowledgement sent per byte; above, a lost acknowledgement would hold
 * back too much of the log. Earlier Tether clients clamp to OUTPUT_ACK_SPACING instead: they only
 * acknowledge more often.
 */
export const MIN_OUTPUT_ACK_SPACING = 1024;
export const MAX_OUTPUT_ACK_SPACING = 1024 * 1024;

/**
 * A quarter of a holder log of `logSize` bytes, at least MIN_OUTPUT_ACK_SPACING: acknowledged that often,
 * an acknowledgement is on its way while three quarters of the log still stream. For the default 4 MiB log
 * that is 1 MiB, an acknowledgement per 32 packets of bulk output rather than per 2 (issue 17).
 */
export function quarterOfLog(logSize: number): number {
  return Math.max(MIN_OUTPUT_ACK_SPACING, Math.floor(logSize / 4));
}

function clampedSpacing(bytes: number): number {
  return Math.max(MIN_OUTPUT_ACK_SPACING, Math.min(MAX_OUTPUT_ACK_SPACING, bytes));
}

/** The output acknowledgement spacing session@ asks for with a holder log of `logSize` bytes. */
export function outputAckSpacing(logSize: number): number {
  return clampedSpacing(quarterOfLog(logSize));
}

/** §3 session@tether-ssh.org. */
export interface SessionInfo {
  id: string;
  name: string;
  token: Buffer;
  inputOffset: number;
  outputOffset: number;
  errorOffset: number;
  inputClosed: boolean;
  reattached: boolean;
  /** §3's optional last field: acknowledge output at least every this many bytes (OUTPUT_ACK_SPACING without it). */
  outputAckSpacing?: number;
}

export function encodeSessionInfo(info: SessionInfo): Buffer {
  const writer = new Writer(164)
    .string(info.id)
    .string(info.name)
    .string(info.token)
    .uint64(BigInt(info.inputOffset))
    .uint64(BigInt(info.outputOffset))
    .uint64(BigInt(info.errorOffset))
    .boolean(info.inputClosed)
    .boolean(info.reattached);
  if (info.outputAckSpacing !== undefined) writer.uint32(info.outputAckSpacing);
  return writer.finish();
}

export function decodeSessionInfo(data: Buffer): SessionInfo {
  const reader = new Reader(data);
  const info: SessionInfo = {
    id: reader.text(MAX_SESSION_ID_LENGTH),
    name: reader.text(MAX_SESSION_NAME_LENGTH),
    token: Buffer.from(reader.string(RESUME_TOKEN_LENGTH)),
    inputOffset: offset(reader),
    outputOffset: offset(reader),
    errorOffset: offset(reader),
    inputClosed: reader.boolean(),
    reattached: reader.boolean(),
  };
  // Absent from servers that do not send it; a value out of range is brought into it, not trusted.
  if (reader.remaining > 0) info.outputAckSpacing = clampedSpacing(reader.uint32());
  reader.end('session info');
  return info;
}

/** §4 resume@tether-ssh.org: which session, and how much of its output the client already has. */
export interface ResumeRequest {
  id: string;
  outputReceived: number;
  errorReceived: number;
}

export function encodeResume(request: ResumeRequest): Buffer {
  return new Writer(96).string(request.id).uint64(BigInt(request.outputReceived)).uint64(BigInt(request.errorReceived)).finish();
}

export function decodeResume(data: Buffer): ResumeRequest {
  const reader = new Reader(data);
  const request = { id: reader.text(MAX_SESSION_ID_LENGTH), outputReceived: offset(reader), errorReceived: offset(reader) };
  reader.end('resume request');
  return request;
}

/** §7 ack@tether-ssh.org from the server: the program's input offset. */
export function encodeInputAck(inputOffset: number): Buffer {
  return new Writer(8).uint64(BigInt(inputOffset)).finish();
}

export function decodeInputAck(data: Buffer): number {
  const reader = new Reader(data);
  const value = offset(reader);
  reader.end('input acknowledgement');
  return value;
}

/** §7 ack@tether-ssh.org from the client: stdout and stderr bytes received. */
export function encodeOutputAck(outputReceived: number, errorReceived: number): Buffer {
  return new Writer(16).uint64(BigInt(outputReceived)).uint64(BigInt(errorReceived)).finish();
}

export function decodeOutputAck(data: Buffer): { outputReceived: number; errorReceived: number } {
  const reader = new Reader(data);
  const value = { outputReceived: offset(reader), errorReceived: offset(reader) };
  reader.end('output acknowledgement');
  return value;
}

/** §7 detached@tether-ssh.org: why another channel took the session. */
export function encodeDetached(reason: string): Buffer {
  return new Writer(64).string(reason).finish();
}

export function decodeDetached(data: Buffer): string {
  const reader = new Reader(data);
  const reason = reader.text(1024);
  reader.end('detached notice');
  return reason;
}
