/**
 * The input side of a held session (docs/PROTOCOL.sessions §1, §3, §7): a writable stream whose bytes are
 * kept (input-log.ts) until the server acknowledges them, so that each channel the session runs on is given
 * exactly the bytes after the program's input offset. The writer waits while the log is full.
 */
import { Writable } from 'node:stream';
import type { Channel } from '../connection/channel.ts';
import type { BorrowedReads } from '../transport/socket-reads.ts';
import { InputLog } from './input-log.ts';

export class SessionInput {
  /** Write the session's input here. */
  readonly writable: Writable;
  private readonly log: InputLog;
  /** The writer has ended: EOF follows the last byte on the live channel. */
  private ended = false;
  private closed = false;
  private pendingWrite: (() => void) | undefined;
  private readonly kick: () => void;

  /** `kick` asks the owner to send what is new (it calls sendTo on the live channel, if any). */
  constructor(limit: number, kick: () => void) {
    this.kick = kick;
    this.log = new InputLog(limit);
    this.writable = new Writable({
      highWaterMark: 16 * 1024,
      write: (chunk: Buffer, _encoding, callback) => {
        if (this.closed) return callback();
        this.log.append(chunk);
        kick();
        if (this.log.full) this.pendingWrite = callback;
        else callback();
      },
      final: (callback) => {
        this.ended = true;
        kick();
        callback();
      },
    });
  }

  /**
   * Takes the input from `source` instead of the writable: each read is copied into the log before the
   * buffer is reused (a pipe on stdin, cli/borrowed-stdin.ts), and reading waits while the log is full.
   */
  readFrom(source: BorrowedReads): void {
    source.start(
      (bytes) => {
        if (this.closed) return true;
        this.log.append(bytes);
        this.kick();
        if (!this.log.full) return true;
        this.pendingWrite = () => source.resume();
        return false;
      },
      () => {
        this.ended = true;
        this.kick();
      },
    );
  }

  /**
   * A "session@" (§3): the program has had `inputOffset` bytes. On the first one our log starts there; later,
   * what it had is dropped. Returns the offset from which the channel must be given our input.
   */
  sync(inputOffset: number, first: boolean): number {
    if (first) this.log.rebase(inputOffset);
    if (inputOffset > this.log.end) {
      // Someone else's input reached the program meanwhile (a takeover we were not told of): ours went first.
      this.log.trimTo(this.log.end);
      this.log.rebase(inputOffset - this.log.end);
    }
    this.log.trimTo(inputOffset);
    this.releaseWriter();
    return Math.max(inputOffset, this.log.start);
  }

  /** §7 "ack@": the program has had everything up to `offset`. */
  acknowledged(offset: number): void {
    this.log.trimTo(offset);
    this.releaseWriter();
  }

  /** Writes to `channel` what it has not had after `sent`; returns the new offset and whether EOF is due. */
  sendTo(channel: Channel, sent: number): { sent: number; eof: boolean } {
    for (const slice of this.log.from(sent)) channel.write(slice);
    return { sent: this.log.end, eof: this.ended };
  }

  /** The session ended: a waiting writer goes on, and what is written from now on is dropped. */
  close(): void {
    this.closed = true;
    this.pendingWrite?.();
    this.pendingWrite = undefined;
  }

  private releaseWriter(): void {
    if (!this.pendingWrite || this.log.full) return;
    const callback = this.pendingWrite;
    this.pendingWrite = undefined;
    callback();
  }
}
