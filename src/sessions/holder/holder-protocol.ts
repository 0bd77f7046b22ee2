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
import type { AttachmentEnd, HeldSessionFiles, HeldSessionSummary } from '../holder-api.ts';
import { sharedReadBuffer } from '../../transport/socket-reads.ts';
import type { DataFraming } from '../../connection/descriptor-writes.ts';
import { descriptorOf, widenSendBuffer } from '../../crypto/fdpass.ts';

export const FRAME_CONTROL = 1;
/** Holder → server: byte stream (0 stdout / terminal, 1 stderr), uint64 offset of the first byte, the bytes. */
export const FRAME_OUTPUT = 2;
/** Server → holder: bytes for the program's input, in order. */
export const FRAME_INPUT = 3;
/** Holder → server: a piece of a terminal redraw, sent before the "attached" message. */
export const FRAME_REDRAW = 4;

export const MAX_FRAME_LENGTH = 256 * 1024;
/**
 * Largest data carried in one frame: a frame (with its largest header, an output frame's 14 bytes) stays
 * within MAX_FRAME_LENGTH, which holders and servers of every version enforce (a holder outlives the server
 * that started it). Large frames mean few writes and events per byte on both sides (issue 17).
 */
export const MAX_DATA_CHUNK = MAX_FRAME_LENGTH - 64;
/** Bytes before an output frame's data: uint32 length, byte type, byte stream, uint64 offset. */
export const OUTPUT_HEADER_LENGTH = 14;
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

/**
 * SO_SNDBUF asked for on both ends of an attachment (the kernel caps it at net.core.wmem_max): room for a
 * channel window of data, so that bulk output and input wait in the kernel rather than in copies in either
 * process, and each side wakes the other once per large write rather than once per frame (issue 17).
 */
const DATA_SEND_BUFFER = 4 * 1024 * 1024;

/** Gives `socket` DATA_SEND_BUFFER where the addon is built; otherwise, or if refused, it keeps the default. */
export function enlargeSendBuffer(socket: Socket): void {
  const fd = descriptorOf(socket);
  if (fd !== undefined) widenSendBuffer(fd, DATA_SEND_BUFFER);
}

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
  | { op: 'create'; name?: string; program: unknown; greeting?: string; command: string; logSize: number; idleTimeoutSeconds: number; files?: HeldSessionFiles }
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
      /** The session's output log capacity: the server asks the client to acknowledge within it. */
      logSize: number;
    }
  | { op: 'none' }
  | { op: 'failed'; message: string; code?: string }
  | { op: 'input-ack'; inputOffset: number }
  | { op: 'exit'; exit: ProcessExit }
  | { op: 'ended'; end: AttachmentEnd }
  | { op: 'lost'; stream: number; from: number; to: number }
  | { op: 'list'; seq: number; sessions: WireSummary[] }
  | { op: 'spent'; seq: number; ok: boolean };

/**
 * A decoded frame; a data frame (output, input, redraw) may come as several pieces of consecutive bytes
 * (FrameDecoder), an output piece with the offset of its own first byte.
 */
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

/**
 * The header of an output frame carrying `length` bytes from `offset`: written just before the data (one
 * writev with the socket corked), so the data is never copied to be framed.
 */
export function encodeOutputHeader(stream: number, offset: number, length: number): Buffer {
  const head = Buffer.allocUnsafe(OUTPUT_HEADER_LENGTH);
  head.writeUInt32BE(OUTPUT_HEADER_LENGTH - 4 + length, 0);
  head[4] = FRAME_OUTPUT;
  head[5] = stream;
  // Offsets are safe integers (< 2^53): two uint32 halves avoid a BigInt per frame.
  head.writeUInt32BE(Math.floor(offset / 0x1_0000_0000), 6);
  head.writeUInt32BE(offset >>> 0, 10);
  return head;
}

export function encodeOutput(stream: number, offset: number, data: Buffer): Buffer {
  return Buffer.concat([encodeOutputHeader(stream, offset, data.length), data]);
}

/** The header of an input or redraw frame of `length` bytes, for a corked write just before the data. */
export function encodeBytesHeader(type: typeof FRAME_INPUT | typeof FRAME_REDRAW, length: number): Buffer {
  return header(length, type);
}

export function encodeBytes(type: typeof FRAME_INPUT | typeof FRAME_REDRAW, data: Buffer): Buffer {
  return Buffer.concat([header(data.length, type), data]);
}

/** Channel data written to the holder's socket straight from its packet (descriptor-writes.ts), as input frames. */
export const INPUT_FRAMING: DataFraming = { maxData: MAX_DATA_CHUNK, header: (length) => header(length, FRAME_INPUT) };

/** Splits `data` into frames of at most MAX_DATA_CHUNK bytes each. */
export function* chunked(data: Buffer): Generator<Buffer> {
  for (let at = 0; at < data.length; at += MAX_DATA_CHUNK) yield data.subarray(at, at + MAX_DATA_CHUNK);
}

function decodeControl(payload: Buffer): Frame {
  let message: unknown;
  try {
    message = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new HolderProtocolError('control message is not JSON');
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message) || typeof (message as { op?: unknown }).op !== 'string') {
    throw new HolderProtocolError('control message without op');
  }
  return { type: FRAME_CONTROL, message: message as Record<string, unknown> };
}

/**
 * Reassembles frames from a byte stream, holding at most one control message's worth (copied). Data frames
 * (output, input, redraw) are not reassembled: their bytes are handed on as they arrive, as pieces of the
 * frame (an output piece with its own offset), each a view of the chunk it came in, so a frame that spans
 * reads costs no copy and no buffer of its size. A chunk read into a reused buffer (frameReader) makes those
 * views good only until the next read: the consumer sends or copies them at once.
 */
export class FrameDecoder {
  /** The current frame's header as far as it has come: length, type, and an output frame's stream and offset. */
  private readonly head = Buffer.alloc(OUTPUT_HEADER_LENGTH);
  private headLength = 0;
  private inBody = false;
  /** Bytes of the current frame's body still to come. */
  private remaining = 0;
  private type = 0;
  private stream = 0;
  /** Output: the offset of the next byte of the frame. */
  private offset = 0;
  private deliveredPiece = false;
  private readonly control: Buffer[] = [];

  /** The frames (and pieces of data frames) in `chunk`; throws HolderProtocolError on a frame that breaks the rules. */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let at = 0;
    for (;;) {
      if (this.inBody) {
        const n = Math.min(this.remaining, chunk.length - at);
        if (n > 0) this.piece(chunk.subarray(at, at + n), frames);
        at += n;
        this.remaining -= n;
        if (this.remaining > 0) return frames;
        this.endFrame(frames);
        continue;
      }
      if (at >= chunk.length) return frames;
      const want = this.headLength < 5 ? 5 : OUTPUT_HEADER_LENGTH;
      const n = Math.min(want - this.headLength, chunk.length - at);
      chunk.copy(this.head, this.headLength, at, at + n);
      const before = this.headLength;
      this.headLength += n;
      at += n;
      if (before < 4 && this.headLength >= 4) {
        // Refused from the length alone, before any of the body is taken.
        const length = this.head.readUInt32BE(0);
        if (length < 1 || length > MAX_FRAME_LENGTH) throw new HolderProtocolError(`bad frame length ${length}`);
      }
      if (this.headLength === 5) this.startFrame();
      else if (this.headLength === OUTPUT_HEADER_LENGTH) this.startOutputBody();
    }
  }

  private startFrame(): void {
    const length = this.head.readUInt32BE(0);
    this.type = this.head[4]!;
    this.deliveredPiece = false;
    switch (this.type) {
      case FRAME_OUTPUT:
        if (length < 10) throw new HolderProtocolError('short output frame');
        return; // the stream and offset come first
      case FRAME_CONTROL:
      case FRAME_INPUT:
      case FRAME_REDRAW:
        this.inBody = true;
        this.remaining = length - 1;
        return;
      default:
        throw new HolderProtocolError(`unknown frame type ${this.type}`);
    }
  }

  private startOutputBody(): void {
    this.stream = this.head[5]!;
    const high = this.head.readUInt32BE(6);
    // 2^53 - 1 is the largest offset: the high half below 2^21.
    if (this.stream > STREAM_ERROR || high >= 0x20_0000) throw new HolderProtocolError('bad output frame');
    this.offset = high * 0x1_0000_0000 + this.head.readUInt32BE(10);
    this.inBody = true;
    this.remaining = this.head.readUInt32BE(0) - (OUTPUT_HEADER_LENGTH - 4);
  }

  private piece(data: Buffer, frames: Frame[]): void {
    this.deliveredPiece = true;
    switch (this.type) {
      case FRAME_CONTROL:
        this.control.push(Buffer.from(data));
        return;
      case FRAME_OUTPUT:
        frames.push({ type: FRAME_OUTPUT, stream: this.stream, offset: this.offset, data });
        this.offset += data.length;
        return;
      default:
        frames.push({ type: this.type as typeof FRAME_INPUT | typeof FRAME_REDRAW, data });
    }
  }

  private endFrame(frames: Frame[]): void {
    if (this.type === FRAME_CONTROL) {
      const payload = this.control.length === 1 ? this.control[0]! : Buffer.concat(this.control);
      this.control.length = 0;
      frames.push(decodeControl(payload));
    } else if (!this.deliveredPiece) {
      // A data frame without data still arrives once.
      this.piece(Buffer.alloc(0), frames);
    }
    this.inBody = false;
    this.headLength = 0;
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

/** A socket's onread option (net.connect) that decodes frames from one reused buffer (see FrameDecoder). */
export interface FrameReader {
  readonly onread: { buffer: Buffer; callback: (length: number, buffer: Buffer) => boolean };
  /** Frames go to `onFrame` from now on; a protocol violation or an exception in it destroys `socket`. */
  start(socket: Socket, onFrame: (frame: Frame) => void): void;
}

export function frameReader(): FrameReader {
  const decoder = new FrameDecoder();
  let reading: { socket: Socket; onFrame: (frame: Frame) => void } | undefined;
  return {
    onread: {
      buffer: sharedReadBuffer(),
      callback: (length, buffer) => {
        // Nothing is due before start(): the holder only answers.
        if (!reading) return false;
        const { socket, onFrame } = reading;
        if (socket.destroyed) return false;
        try {
          for (const frame of decoder.push(buffer.subarray(0, length))) {
            if (socket.destroyed) return false;
            onFrame(frame);
          }
        } catch {
          socket.destroy();
          return false;
        }
        return true;
      },
    },
    start(socket, onFrame) {
      reading = { socket, onFrame };
    },
  };
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
