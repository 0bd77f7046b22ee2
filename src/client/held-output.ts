/**
 * Where a held session's output goes on the client (docs/PROTOCOL.sessions): its stdout and stderr streams,
 * which span reconnects, or a consumer that takes stdout as it arrives (the CLI's own stdout, issue 17). A
 * slow reader holds the current channel's window until it drains: for stdout by deliver()'s false (the
 * channel is consumed, Channel.consume), for stderr by pausing the channel's stderr stream.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { ChannelDataConsumer } from '../connection/channel.ts';
import type { OutputStream } from './output-counter.ts';

export class HeldOutput {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  private consumer: ChannelDataConsumer | undefined;
  private awaitingStdoutDrain = false;
  /** Runs when stdout can take more after deliver() said it could not. */
  private readonly onStdoutDrained: () => void;

  constructor(onStdoutDrained: () => void) {
    this.onStdoutDrained = onStdoutDrained;
  }

  /**
   * Delivers a chunk (`borrowed`: valid only during the call) of `stream`; false when the reader is slow.
   * `stderrSource` is the channel's stderr stream, paused here while our stderr's reader lags.
   */
  deliver(stream: OutputStream, chunk: Buffer, borrowed: boolean, stderrSource: Readable): boolean {
    if (stream === 'output' && this.consumer) return this.consumer.take(chunk, borrowed);
    const target = stream === 'output' ? this.stdout : this.stderr;
    if (target.write(borrowed ? Buffer.from(chunk) : chunk)) return true;
    // Chunks already on their way still arrive meanwhile.
    if (stream === 'error' && !stderrSource.isPaused()) {
      stderrSource.pause();
      target.once('drain', () => stderrSource.resume());
    } else if (stream === 'output' && !this.awaitingStdoutDrain) {
      this.awaitingStdoutDrain = true;
      target.once('drain', () => {
        this.awaitingStdoutDrain = false;
        this.onStdoutDrained();
      });
    }
    return false;
  }

  /** Stdout goes to `consumer` from now on; the stdout stream still ends when the session does. */
  consume(consumer: ChannelDataConsumer): void {
    for (let chunk: Buffer | null; (chunk = this.stdout.read() as Buffer | null) !== null; ) consumer.take(chunk, false);
    this.consumer = consumer;
    this.stdout.resume();
  }

  end(): void {
    this.stdout.end();
    this.stderr.end();
  }
}
