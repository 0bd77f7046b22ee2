/**
 * The server's side of one attachment: a socket to the holder, shown to a session channel as a
 * SessionProcess (HeldAttachment). Output is read from the socket only as fast as `output` is consumed,
 * so the holder's cursor, not this process, absorbs a slow client.
 */
import type { Socket } from 'node:net';
import { Readable, Writable } from 'node:stream';
import type { BorrowedReads } from '../../transport/socket-reads.ts';
import type { ConsumableSource } from '../../connection/channel.ts';
import { consumeInto } from '../../connection/descriptor-writes.ts';
import { DELIVERABLE_SIGNALS, SessionSpawnError, type ProcessExit } from '../session-process.ts';
import type { AttachmentEnd, HeldAttachment, HeldSessionSummary, OutputGap } from '../holder-api.ts';
import {
  chunked,
  encodeBytesHeader,
  encodeControl,
  enlargeSendBuffer,
  field,
  INPUT_FRAMING,
  FRAME_CONTROL,
  FRAME_INPUT,
  FRAME_OUTPUT,
  FRAME_REDRAW,
  HolderProtocolError,
  MAX_REDRAW_LENGTH,
  STREAM_ERROR,
  type Frame,
  type FrameReader,
  type ServerMessage,
} from './holder-protocol.ts';
import { decodeSummary } from './holder-requests.ts';
import { RESUME_TOKEN_LENGTH } from '../../auth/resume-credential.ts';
import { OUTPUT_ACK_SPACING, outputAckSpacing, quarterOfLog } from '../../connection/persistent-session-requests.ts';

/** An output acknowledgement that has advanced this far goes to the holder at once; a smaller one waits. */
const ACK_FORWARD_BYTES = 256 * 1024;
/** How long a smaller advance waits, at most: bounded, so a small log holds its program up only briefly. */
const ACK_FORWARD_MS = 20;

/** The holder has no such session (attach), or refused to create one. */
export type AttachOutcome = { attachment: HeldAttachment } | { none: true };


export class RemoteAttachment implements HeldAttachment {
  summary!: HeldSessionSummary;
  token!: Buffer;
  pid = 0;
  ttyName: string | undefined;
  terminal = false;
  inputOffset = 0;
  inputClosed = false;
  outputOffset = 0;
  errorOffset = 0;
  reattached = false;
  /** What the client is asked to acknowledge within (session@, §3): a quarter of the holder's log, at most 1 MiB. */
  outputAckSpacing = OUTPUT_ACK_SPACING;
  /** An acknowledgement this far ahead goes to the holder at once: a quarter of its log, at most 256 KiB. */
  private ackForwardBytes = ACK_FORWARD_BYTES;
  readonly output: Readable;
  readonly errorOutput: Readable | null = null;
  private readonly errorStream: Readable;
  readonly input: Writable;
  readonly exit: Promise<ProcessExit>;
  readonly ended: Promise<AttachmentEnd>;
  private resolveExit!: (exit: ProcessExit) => void;
  private resolveEnded!: (end: AttachmentEnd) => void;
  private readonly redrawPieces: Buffer[] = [];
  private redrawLength = 0;
  private redrawBuffer = Buffer.alloc(0);
  private readonly ackListeners: Array<(inputOffset: number) => void> = [];
  private readonly gapListeners: Array<(gap: OutputGap) => void> = [];
  private finished = false;
  private exitReceived = false;
  private corked = false;
  /** The client's latest output acknowledgement, not yet passed on (see acknowledgeOutput). */
  private pendingAck: { output: number; error: number } | undefined;
  /** The last acknowledgement passed on, and the timer that passes on a smaller advance. */
  private passedAck = { output: 0, error: 0 };
  private ackTimer: NodeJS.Timeout | undefined;

  private readonly socket: Socket;
  private takeOutput: ((bytes: Buffer) => boolean) | undefined;
  private outputEnded: (() => void) | undefined;

  /** The program's stdout as it arrives from the holder, for the session pump to send straight on. */
  readonly borrowedOutput: BorrowedReads = {
    start: (take, end) => {
      // Output that came before the pump started waits in the stream: it goes first.
      let keepReading = true;
      for (let chunk: Buffer | null; (chunk = this.output.read() as Buffer | null) !== null; ) keepReading = take(chunk) && keepReading;
      if (!keepReading) this.socket.pause();
      this.takeOutput = take;
      this.outputEnded = end;
      if (this.finished) end();
    },
    pause: () => this.socket.pause(),
    resume: () => this.socket.resume(),
  };

  private constructor(socket: Socket) {
    this.socket = socket;
    this.output = new Readable({ read: () => socket.resume() });
    this.errorStream = new Readable({ read: () => socket.resume() });
    this.input = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        if (socket.destroyed) return callback();
        this.corkForTick();
        let last = true;
        for (const piece of chunked(chunk)) {
          // Header and data side by side in the corked socket: one writev per tick, the data not copied.
          socket.write(encodeBytesHeader(FRAME_INPUT, piece.length));
          last = socket.write(piece);
        }
        // The holder stops reading its socket while the program's input is backed up; so do we.
        if (last) callback();
        else socket.once('drain', () => callback());
      },
      final: (callback) => {
        this.sendControl({ op: 'eof' });
        callback();
      },
    });
    this.exit = new Promise((resolve) => (this.resolveExit = resolve));
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  /**
   * Sends `request` (create or attach) on a fresh socket and waits for the holder's answer. Rejects with
   * SessionSpawnError when the holder could not start the program.
   */
  static open(socket: Socket, reader: FrameReader, request: ServerMessage): Promise<AttachOutcome> {
    const attachment = new RemoteAttachment(socket);
    enlargeSendBuffer(socket);
    return new Promise((resolve, reject) => {
      let answered = false;
      socket.on('error', () => {});
      socket.once('close', () => {
        if (!answered) {
          answered = true;
          reject(new HolderProtocolError('session holder closed the connection'));
        }
        attachment.lost();
      });
      reader.start(socket, (frame) => {
        if (answered) {
          attachment.handle(frame);
          return;
        }
        if (frame.type === FRAME_REDRAW) {
          attachment.addRedraw(frame.data);
          return;
        }
        if (frame.type !== FRAME_CONTROL) throw new HolderProtocolError('data before the attach answer');
        const message = frame.message;
        answered = true;
        if (message.op === 'attached') {
          attachment.accept(message);
          resolve({ attachment });
        } else if (message.op === 'none') {
          resolve({ none: true });
          socket.destroy();
        } else if (message.op === 'failed') {
          reject(new SessionSpawnError(field(message, 'message', 'string')!, field(message, 'code', 'string', true)));
          socket.destroy();
        } else {
          throw new HolderProtocolError(`unexpected ${String(message.op)}`);
        }
      });
      socket.write(encodeControl(request));
    });
  }

  get redraw(): Buffer {
    return this.redrawBuffer;
  }

  private addRedraw(piece: Buffer): void {
    this.redrawLength += piece.length;
    if (this.redrawLength > MAX_REDRAW_LENGTH) throw new HolderProtocolError('redraw too long');
    this.redrawPieces.push(Buffer.from(piece));
  }

  private accept(message: Record<string, unknown>): void {
    this.summary = decodeSummary(message.summary);
    this.token = Buffer.from(field(message, 'token', 'string')!, 'base64');
    if (this.token.length !== RESUME_TOKEN_LENGTH) throw new HolderProtocolError('bad token');
    this.pid = field(message, 'pid', 'number')!;
    this.ttyName = field(message, 'ttyName', 'string', true);
    this.terminal = this.summary.terminal;
    this.inputOffset = field(message, 'inputOffset', 'number')!;
    this.inputClosed = field(message, 'inputClosed', 'boolean')!;
    this.outputOffset = field(message, 'outputOffset', 'number')!;
    this.errorOffset = field(message, 'errorOffset', 'number')!;
    this.reattached = field(message, 'reattached', 'boolean')!;
    // A holder started by an earlier version does not say; its log is then taken to be the default's.
    const logSize = field(message, 'logSize', 'number', true);
    if (logSize !== undefined) {
      this.outputAckSpacing = outputAckSpacing(logSize);
      this.ackForwardBytes = Math.min(ACK_FORWARD_BYTES, quarterOfLog(logSize));
    }
    this.redrawBuffer = Buffer.concat(this.redrawPieces.splice(0));
    (this as { errorOutput: Readable | null }).errorOutput = this.terminal ? null : this.errorStream;
  }

  private handle(frame: Frame): void {
    if (frame.type === FRAME_OUTPUT) {
      if (this.finished) return;
      // Backpressure: stop reading the holder while the channel cannot take more. The frame's bytes are in
      // the socket's reused buffer: sent on at once (borrowed) or copied.
      const take = this.takeOutput;
      if (take && frame.stream !== STREAM_ERROR) {
        if (!take(frame.data)) this.socket.pause();
        return;
      }
      const stream = frame.stream === STREAM_ERROR ? this.errorStream : this.output;
      if (!stream.push(Buffer.from(frame.data))) this.socket.pause();
      return;
    }
    if (frame.type !== FRAME_CONTROL) throw new HolderProtocolError('unexpected frame from the holder');
    const message = frame.message;
    switch (message.op) {
      case 'input-ack': {
        const offset = field(message, 'inputOffset', 'number')!;
        for (const listener of this.ackListeners) listener(offset);
        return;
      }
      case 'lost': {
        const gap: OutputGap = {
          stream: field(message, 'stream', 'number') === STREAM_ERROR ? 'error' : 'output',
          from: field(message, 'from', 'number')!,
          to: field(message, 'to', 'number')!,
        };
        for (const listener of this.gapListeners) listener(gap);
        return;
      }
      case 'exit': {
        const exit = field(message, 'exit', 'object')! as unknown as ProcessExit;
        this.exitReceived = true;
        this.finish();
        this.resolveExit({ code: exit.code ?? null, signal: exit.signal ?? null, coreDumped: exit.coreDumped === true });
        this.resolveEnded({ kind: 'exited' });
        return;
      }
      case 'ended': {
        const end = field(message, 'end', 'object')!;
        if (end.kind === 'displaced') this.resolveEnded({ kind: 'displaced', reason: String(end.reason ?? '') });
        else if (end.kind === 'expired') this.resolveEnded({ kind: 'expired' });
        else this.resolveEnded({ kind: 'holder-lost' });
        this.finish();
        return;
      }
      default:
        throw new HolderProtocolError(`unexpected ${String(message.op)} from the holder`);
    }
  }

  /** No more output will come on this attachment. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.output.push(null);
    this.errorStream.push(null);
    this.outputEnded?.();
  }

  private lost(): void {
    this.resolveEnded({ kind: 'holder-lost' });
    this.finish();
  }

  private sendControl(message: ServerMessage): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    // An acknowledgement still waiting goes first: control messages keep their order.
    if (this.pendingAck && message.op !== 'ack') this.flushAck();
    this.socket.write(encodeControl(message));
  }

  /** What is written to the holder in one tick leaves in one writev. */
  private corkForTick(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  private flushAck(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const ack = this.pendingAck;
    if (!ack) return;
    this.pendingAck = undefined;
    this.passedAck = ack;
    this.sendControl({ op: 'ack', ...ack });
  }

  /** Input frames written to the holder's socket from the packet the data came in (issue 17). */
  consumeInput(source: ConsumableSource): boolean {
    return !this.socket.destroyed && consumeInto(source, this.socket, INPUT_FRAMING);
  }

  onInputAck(listener: (inputOffset: number) => void): void {
    this.ackListeners.push(listener);
  }

  onOutputLost(listener: (gap: OutputGap) => void): void {
    this.gapListeners.push(listener);
  }

  /**
   * Passed on to the holder once it has advanced ACK_FORWARD_BYTES, or within ACK_FORWARD_MS: an earlier
   * client acknowledges a bulk download every 64 KiB (PROTOCOL.sessions §7), and each holder message is a
   * system call here and a wake-up there (9% of the server's CPU when each was passed on). The holder's log
   * (at least 4 KiB, 4 MiB by default) keeps what is not acknowledged, so a later acknowledgement costs
   * nothing but the wait.
   */
  acknowledgeOutput(outputReceived: number, errorReceived: number): void {
    const ack = { output: outputReceived, error: errorReceived };
    this.pendingAck = ack;
    const passed = this.passedAck;
    if (ack.output - passed.output >= this.ackForwardBytes || ack.error - passed.error >= this.ackForwardBytes) {
      this.flushAck();
      return;
    }
    if (!this.ackTimer) {
      this.ackTimer = setTimeout(() => this.flushAck(), ACK_FORWARD_MS);
      this.ackTimer.unref();
    }
  }

  resize(columns: number, rows: number): void {
    if (columns > 0 && rows > 0) this.sendControl({ op: 'resize', columns, rows });
  }

  signal(name: string): boolean {
    if (!DELIVERABLE_SIGNALS.has(name) || this.finished) return false;
    this.sendControl({ op: 'signal', name });
    return true;
  }

  /** The holder hangs the program up and closes this socket once it has exited (and `exit` has settled). */
  hangUp(): void {
    this.sendControl({ op: 'hangup' });
    setTimeout(() => this.socket.destroy(), 10_000).unref();
  }

  /** `collected`: the exit (and so all output) reached this side, so the holder may forget the session. */
  detach(): void {
    this.sendControl({ op: 'detach', collected: this.exitReceived });
    this.socket.end();
  }
}
