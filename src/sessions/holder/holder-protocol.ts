/**
 * The private protocol on a session holder's Unix socket (holder.sock), between `tether server` and the
 * holder (docs/PROTOCOL.sessions §1). Nothing outside this machine speaks it, but a server may die mid-frame
 * and any process of the user may connect, so every frame is bounded and a malformed one closes that socket
 * only. A frame is
 *
 *   uint32  length of what follows (type and payload), at most MAX_FRAME_LENGTH
 *   byte    type
 *   ...     payload
 *
 * Control messages are JSON objects (small, rare); data is binary, output with its absolute offset so the
 * server can tell a gap (output lost) from a continuation.
 */
import type { Socket } from 'node:net';
import type { ProcessExit } from '../session-process.ts';
import type { AttachmentEnd, HeldSessionSummary } from '../holder-api.ts';

export const FRAME_CONTROL = 1;
/** Holder → server: byte stream (0 stdout / terminal, 1 stderr), uint64 offset of the first byte, the bytes. */
export const FRAME_OUTPUT = 2;
/** Server → holder: bytes for the program's input, in order. */
export const FRAME_INPUT = 3;
/** Holder → server: a piece of a terminal redraw, sent before the "attached" message. */
export const FRAME_REDRAW = 4;

/** Largest data carried in one frame; a frame is at most this plus its header. */
export const MAX_DATA_CHUNK = 64 * 1024;
export const MAX_FRAME_LENGTH = 256 * 1024;
/** A redraw is the screen plus scrollback; more than this is refused rather than buffered. */
export const MAX_REDRAW_LENGTH = 16 * 1024 * 1024;

export const STREAM_OUTPUT = 0;
export const STREAM_ERROR = 1;

/**
 * Most bytes of control messages that may wait unread in a socket's queue: a peer that asks (or types)
 * without reading the answers is cut off rather than have the holder queue for it without bound. Output
 * never counts against it; it is sent only as the socket drains.
 */
export const MAX_UNREAD_CONTROL = 4 * 1024 * 1024;

/** Writes a control message, or destroys a socket whose peer has stopped reading. */
export function sendControl(socket: Socket, message: ServerMessage | HolderMessage): void {
  if (socket.destroyed) return;
  if (socket.writableLength > MAX_UNREAD_CONTROL + MAX_FRAME_LENGTH) {
    socket.destroy();
    return;
  }
  socket.write(encodeControl(message));
}

/** The peer broke the framing or sent a message we do not accept; its socket is closed. */
export class HolderProtocolError extends Error {
  override readonly name = 'HolderProtocolError';
}

export type WireSummary = HeldSessionSummary;

/** What the server sends as control messages. */
export type ServerMessage =
  | { op: 'create'; name?: string; program: unknown; greeting?: string; command: string; logSize: number; idleTimeoutSeconds: number }
  | { op: 'attach'; id?: string; name?: string; replay: 'offsets' | 'screen'; outputFrom?: number; errorFrom?: number; reason?: string }
  | { op: 'list'; seq: number }
  | { op: 'spend'; seq: number; id: string; proof: string; connectionSessionId: string; user: string }
  | { op: 'eof' }
  | { op: 'resize'; columns: number; rows: number }
  | { op: 'signal'; name: string }
  | { op: 'ack'; output: number; error: number }
  | { op: 'hangup' }
  | { op: 'detach'; collected: boolean };

/** What the holder sends as control messages. Tokens travel base64 on this private socket, never logged. */
export type HolderMessage =
  | {
      op: 'attached';
      summary: WireSummary;
      token: string;
      pid: number;
      ttyName?: string;
      inputOffset: number;
      inputClosed: boolean;
      outputOffset: number;
      errorOffset: number;
      reattached: boolean;
    }
  | { op: 'none' }
  | { op: 'failed'; message: string; code?: string }
  | { op: 'input-ack'; inputOffset: number }
  | { op: 'exit'; exit: ProcessExit }
  | { op: 'ended'; end: AttachmentEnd }
  | { op: 'lost'; stream: number; from: number; to: number }
  | { op: 'list'; seq: number; sessions: WireSummary[] }
  | { op: 'spent'; seq: number; ok: boolean };

export type Frame =
  | { type: typeof FRAME_CONTROL; message: Record<string, unknown> }
  | { type: typeof FRAME_OUTPUT; stream: number; offset: number; data: Buffer }
  | { type: typeof FRAME_INPUT; data: Buffer }
  | { type: typeof FRAME_REDRAW; data: Buffer };

function header(length: number, type: number): Buffer {
  const head = Buffer.allocUnsafe(5);
  head.writeUInt32BE(length + 1, 0);
  head.writeUInt8(type, 4);
  return head;
}

export function encodeControl(message: ServerMessage | HolderMessage): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  if (body.length + 1 > MAX_FRAME_LENGTH) throw new HolderProtocolError('control message too long');
  return Buffer.concat([header(body.length, FRAME_CONTROL), body]);
}

export function encodeOutput(stream: number, offset: number, data: Buffer): Buffer {
  const head = header(9 + data.length, FRAME_OUTPUT);
  const fields = Buffer.allocUnsafe(9);
  fields.writeUInt8(stream, 0);
  fields.writeBigUInt64BE(BigInt(offset), 1);
  return Buffer.concat([head, fields, data]);
}

export function encodeBytes(type: typeof FRAME_INPUT | typeof FRAME_REDRAW, data: Buffer): Buffer {
  return Buffer.concat([header(data.length, type), data]);
}

/** Splits `data` into frames of at most MAX_DATA_CHUNK bytes each. */
export function* chunked(data: Buffer): Generator<Buffer> {
  for (let at = 0; at < data.length; at += MAX_DATA_CHUNK) yield data.subarray(at, at + MAX_DATA_CHUNK);
}

function decodeFrame(type: number, payload: Buffer): Frame {
  switch (type) {
    case FRAME_CONTROL: {
      let message: unknown;
      try {
        message = JSON.parse(payload.toString('utf8'));
      } catch {
        throw new HolderProtocolError('control message is not JSON');
      }
      if (typeof message !== 'object' || message === null || Array.isArray(message) || typeof (message as { op?: unknown }).op !== 'string') {
        throw new HolderProtocolError('control message without op');
      }
      return { type, message: message as Record<string, unknown> };
    }
    case FRAME_OUTPUT: {
      if (payload.length < 9) throw new HolderProtocolError('short output frame');
      const stream = payload.readUInt8(0);
      const offset = payload.readBigUInt64BE(1);
      if (stream > STREAM_ERROR || offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new HolderProtocolError('bad output frame');
      return { type, stream, offset: Number(offset), data: Buffer.from(payload.subarray(9)) };
    }
    case FRAME_INPUT:
    case FRAME_REDRAW:
      return { type, data: Buffer.from(payload) };
    default:
      throw new HolderProtocolError(`unknown frame type ${type}`);
  }
}

/** Reassembles frames from a byte stream; never holds more than one frame's worth beyond what it yields. */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingLength = 0;

  /** The frames completed by `chunk`; throws HolderProtocolError on a frame that breaks the rules. */
  push(chunk: Buffer): Frame[] {
    this.pending.push(chunk);
    this.pendingLength += chunk.length;
    const frames: Frame[] = [];
    while (this.pendingLength >= 4) {
      const buffer = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
      this.pending = [buffer];
      const length = buffer.readUInt32BE(0);
      if (length < 1 || length > MAX_FRAME_LENGTH) throw new HolderProtocolError(`bad frame length ${length}`);
      if (buffer.length < 4 + length) break;
      frames.push(decodeFrame(buffer.readUInt8(4), buffer.subarray(5, 4 + length)));
      const rest = buffer.subarray(4 + length);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingLength = rest.length;
    }
    return frames;
  }
}

/**
 * Reads frames from `socket` into `onFrame`; a protocol violation or an exception in `onFrame` destroys
 * this socket (and nothing else).
 */
export function readFrames(socket: Socket, onFrame: (frame: Frame) => void): void {
  const decoder = new FrameDecoder();
  socket.on('data', (chunk: Buffer) => {
    if (socket.destroyed) return;
    try {
      for (const frame of decoder.push(chunk)) {
        if (socket.destroyed) return;
        onFrame(frame);
      }
    } catch {
      // Malformed (HolderProtocolError) or refused by the handler: this peer is done, the process goes on.
      socket.destroy();
    }
  });
}

/** Typed field access on a decoded control message: throws HolderProtocolError when the field is missing or wrong. */
export function field<T extends 'string' | 'number' | 'boolean' | 'object'>(
  message: Record<string, unknown>,
  name: string,
  kind: T,
  optional = false,
): (T extends 'string' ? string : T extends 'number' ? number : T extends 'boolean' ? boolean : Record<string, unknown>) | undefined {
  const value = message[name];
  if (value === undefined && optional) return undefined;
  if (typeof value !== kind || value === null) throw new HolderProtocolError(`field ${name} must be a ${kind}`);
  if (kind === 'number' && !Number.isSafeInteger(value)) throw new HolderProtocolError(`field ${name} must be an integer`);
  return value as never;
}
