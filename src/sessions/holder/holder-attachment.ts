/**
 * The holder's side of one attachment: a socket connection from a server, bound to one held session.
 * It is a pair of cursors on the session's logs; output goes out from the cursors only as fast as the
 * socket takes it (its backpressure), so a slow or dead server never makes the holder buffer more than the
 * logs themselves. A cursor the log has overtaken skips to the oldest byte held and says so ("lost").
 */
import type { Socket } from 'node:net';
import { DELIVERABLE_SIGNALS } from '../session-process.ts';
import type { AttachmentEnd } from '../holder-api.ts';
import type { HeldSession, SessionObserver } from './held-session.ts';
import type { OutputLog } from './output-log.ts';
import {
  encodeOutputHeader,
  sendControl,
  field,
  FRAME_CONTROL,
  FRAME_INPUT,
  HolderProtocolError,
  MAX_DATA_CHUNK,
  STREAM_ERROR,
  STREAM_OUTPUT,
  type Frame,
  type HolderMessage,
} from './holder-protocol.ts';

export class HolderAttachment implements SessionObserver {
  private outputCursor: number;
  private errorCursor: number;
  private exitSent = false;
  private ended = false;
  private lastAck: number;
  private ackScheduled = false;
  private waitingForDrain = false;
  private pumpScheduled = false;
  private hangingUp = false;
  private acked: { output: number; error: number } | undefined;
  /**
   * Per stream, where each output write still in flight starts (oldest first): those bytes are views of the
   * log (no copy), so the log must keep them until the socket has taken them.
   */
  private readonly inFlight: { output: number[]; error: number[] } = { output: [], error: [] };

  private readonly socket: Socket;
  private readonly session: HeldSession;

  constructor(socket: Socket, session: HeldSession, from: { output: number; error: number }) {
    this.socket = socket;
    this.session = session;
    this.outputCursor = from.output;
    this.errorCursor = from.error;
    this.lastAck = session.inputOffset;
    socket.once('close', () => this.socketClosed());
  }

  needed(stream: 'output' | 'error'): number {
    const cursor = this.inFlight[stream][0] ?? (stream === 'output' ? this.outputCursor : this.errorCursor);
    return this.acked ? Math.min(cursor, this.acked[stream]) : cursor;
  }

  acknowledged(): { output: number; error: number } | undefined {
    return this.acked;
  }

  send(message: HolderMessage): void {
    sendControl(this.socket, message);
  }

  /** Starts streaming from the cursors (after the "attached" message has gone out). */
  start(): void {
    this.pump();
  }

  /**
   * Pumps once the program's reads of this turn of the event loop are all in the log: libuv reads a pipe
   * up to 32 times in one go (64 KiB each), and they leave together in one writev, waking the server once.
   */
  changed(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  inputWritten(inputOffset: number): void {
    if (inputOffset <= this.lastAck) return;
    this.lastAck = inputOffset;
    // One acknowledgement per turn of the event loop, however many writes completed in it.
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => {
      this.ackScheduled = false;
      if (!this.ended) this.send({ op: 'input-ack', inputOffset: this.lastAck });
    });
  }

  removed(reason: 'expired' | 'removed'): void {
    if (reason === 'removed' && !this.ended) {
      // What is left of the logs (bounded by their size) and the exit go out before the socket closes.
      this.waitingForDrain = false;
      while (this.sendFrom(this.session.output, STREAM_OUTPUT) || (this.session.error !== null && this.sendFrom(this.session.error, STREAM_ERROR)));
      this.sendExit();
    }
    this.end(reason === 'expired' ? { kind: 'expired' } : undefined);
  }

  private sendExit(): void {
    const exit = this.session.exitStatus;
    if (exit && !this.exitSent) {
      this.exitSent = true;
      this.send({ op: 'exit', exit });
    }
  }

  /** Another attachment took the session. */
  displaced(reason: string): void {
    this.end({ kind: 'displaced', reason });
  }

  /** Says why (when there is something to say) and closes the socket once what was queued has gone out. */
  end(why: AttachmentEnd | undefined): void {
    if (this.ended) return;
    this.ended = true;
    if (why) this.send({ op: 'ended', end: why });
    this.socket.end();
    // A peer that stops reading must not keep the socket (and its queue) forever.
    setTimeout(() => this.socket.destroy(), 10_000).unref();
  }

  private socketClosed(): void {
    if (!this.ended) {
      this.ended = true;
      this.session.detach(this, false);
    }
  }

  private pump(): void {
    if (this.ended || this.waitingForDrain || this.socket.destroyed) return;
    // The frames of one pump leave in one writev (headers beside views of the log: no copies).
    this.socket.cork();
    let sent = false;
    for (;;) {
      // A chunk of each stream in turn, so a flood on one does not starve the other.
      const sentOutput = this.sendFrom(this.session.output, STREAM_OUTPUT);
      const sentError = this.session.error !== null && this.sendFrom(this.session.error, STREAM_ERROR);
      if (!sentOutput && !sentError) break;
      sent = true;
      if (this.socket.writableLength >= MAX_DATA_CHUNK) {
        this.waitingForDrain = true;
        this.socket.once('drain', () => {
          this.waitingForDrain = false;
          this.pump();
        });
        break;
      }
    }
    this.socket.uncork();
    if (sent) this.session.updateFlow();
    if (!this.waitingForDrain) this.sendExit();
  }

  /** One chunk from `log` at its cursor, if there is any; true when it sent one. */
  private sendFrom(log: OutputLog, stream: number): boolean {
    const cursor = stream === STREAM_OUTPUT ? this.outputCursor : this.errorCursor;
    if (cursor >= log.end) return false;
    const read = log.view(cursor, MAX_DATA_CHUNK);
    if (read.offset > cursor) this.send({ op: 'lost', stream, from: cursor, to: read.offset });
    const next = read.offset + read.data.length;
    const inFlight = this.inFlight[stream === STREAM_OUTPUT ? 'output' : 'error'];
    inFlight.push(read.offset);
    const release = log.pin(read.offset);
    this.socket.write(encodeOutputHeader(stream, read.offset, read.data.length));
    this.socket.write(read.data, () => {
      release();
      inFlight.shift();
      // Pinned bytes count as needed: the program may have been paused for them.
      if (!this.ended) this.session.updateFlow();
    });
    if (stream === STREAM_OUTPUT) this.outputCursor = next;
    else this.errorCursor = next;
    return true;
  }

  /** A frame from the server on this attachment's socket. */
  handle(frame: Frame): void {
    if (this.ended) return;
    if (frame.type === FRAME_INPUT) {
      if (this.hangingUp) return;
      const more = this.session.writeInput(frame.data, () => this.socket.resume());
      // The program's stdin is backed up: stop reading the server until it drains.
      if (!more) this.socket.pause();
      return;
    }
    if (frame.type !== FRAME_CONTROL) throw new HolderProtocolError('unexpected frame on an attachment');
    const message = frame.message;
    switch (message.op) {
      case 'eof':
        this.session.closeInput();
        return;
      case 'resize':
        this.session.resize(field(message, 'columns', 'number')!, field(message, 'rows', 'number')!);
        return;
      case 'signal': {
        const name = field(message, 'name', 'string')!;
        if (DELIVERABLE_SIGNALS.has(name)) this.session.process.signal(name);
        return;
      }
      case 'ack': {
        // How far the client got (docs/PROTOCOL.sessions §7): never beyond what was sent, never backwards.
        const output = Math.min(field(message, 'output', 'number')!, this.outputCursor);
        const error = Math.min(field(message, 'error', 'number')!, this.errorCursor);
        this.acked = { output: Math.max(output, this.acked?.output ?? 0), error: Math.max(error, this.acked?.error ?? 0) };
        this.session.updateFlow();
        return;
      }
      case 'detach':
        this.ended = true;
        // Collected only if the server got the exit; a queued one it never read does not count.
        this.session.detach(this, this.exitSent && field(message, 'collected', 'boolean') === true);
        this.socket.end();
        return;
      case 'hangup':
        // The attachment stays to deliver the exit; the session leaves once the program has gone.
        this.hangingUp = true;
        this.session.hangUp();
        return;
      default:
        throw new HolderProtocolError(`unexpected ${String(message.op)} on an attachment`);
    }
  }
}
