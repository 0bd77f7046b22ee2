/**
 * Carries a session's program over its channel (RFC 4254 §6): input from the channel to the program, its
 * stdout as data and stderr as extended data with backpressure both ways, then exit-status or exit-signal,
 * EOF and CLOSE once the program has exited and its output has been sent (§6.10, §5.3).
 */
import { Writable } from 'node:stream';
import type { Channel } from '../connection/channel.ts';
import { encodeExitSignal, encodeExitStatus } from '../connection/session-requests.ts';
import { sendBorrowedReads } from '../connection/borrowed-reads.ts';
import { consumeInto } from '../connection/descriptor-writes.ts';
import type { ProcessExit, SessionProcess } from '../sessions/session-process.ts';
import { sanitizeForLog } from './logger.ts';

const OUTPUT_HIGH_WATER = 64 * 1024;
/** A log line from a program longer than this is cut: the log is for people, and it bounds what we hold. */
const MAX_LOG_LINE = 4096;

/** A Writable that sends into the channel as data (stdout) or extended data (stderr), with backpressure. */
function channelWriter(channel: Channel, extended: boolean): Writable {
  return new Writable({
    highWaterMark: OUTPUT_HIGH_WATER,
    write(chunk: Buffer, _encoding, callback) {
      if (channel.isClosing) return callback();
      if (extended) channel.writeExtended(chunk, 1, () => callback());
      else channel.write(chunk, () => callback());
    },
  });
}

/** A Writable that hands each line written into it to `log`, without its line ending. */
function lineLogger(log: (line: string) => void): Writable {
  let partial = '';
  const emit = (line: string) => {
    const text = line.replace(/\r$/, '');
    if (text !== '') log(sanitizeForLog(text, MAX_LOG_LINE));
  };
  return new Writable({
    decodeStrings: true,
    write(chunk: Buffer, _encoding, callback) {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop()!.slice(0, MAX_LOG_LINE);
      for (const line of lines) emit(line);
      callback();
    },
    final(callback) {
      emit(partial);
      callback();
    },
  });
}

function finished(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableFinished) return resolve();
    stream.once('finish', () => resolve());
    stream.once('close', () => resolve());
    stream.once('error', () => resolve());
  });
}

export interface PumpOptions {
  /**
   * Held sessions: the channel's end closes the program's stdin only when the client sent EOF or CLOSE, not
   * when the connection dropped, so a resumed session's program still reads its input.
   */
  connectionGone?: () => boolean;
  /** The program's stderr is its log (internal-sftp): each line goes here instead of to the client. */
  errorsToLog?: (line: string) => void;
  /** Called once exit-status (or exit-signal), EOF and CLOSE have been sent. */
  finished?: () => void;
}

export function pumpSession(channel: Channel, process: SessionProcess, options: PumpOptions = {}): void {
  const { connectionGone, errorsToLog, finished: onFinished } = options;
  process.input.on('error', () => {});
  // Client → program. On a terminal the client's EOF means nothing to the program (a pty cannot be
  // half-closed, sshd ignores it too); on pipes it closes the program's stdin.
  if (!connectionGone) {
    // Pipes take the data as it arrives, written from the packet it came in (descriptor-writes.ts).
    if (!process.terminal && consumeInto(channel, process.input)) channel.once('end', () => process.input.end());
    else channel.pipe(process.input, { end: !process.terminal });
  } else {
    if (!process.consumeInput?.(channel)) channel.pipe(process.input, { end: false });
    if (!process.terminal) channel.once('end', () => connectionGone() || process.input.end());
  }

  const outputs = [process.borrowedOutput ? sendBorrowedReads(channel, process.borrowedOutput) : pipeOutput(channel, process)];
  if (process.errorOutput) {
    const stderr = errorsToLog ? lineLogger(errorsToLog) : channelWriter(channel, true);
    process.errorOutput.on('error', () => {});
    process.errorOutput.pipe(stderr);
    outputs.push(finished(stderr));
  }
  void process.exit.then(async (exit) => {
    await Promise.all(outputs);
    finishSession(channel, exit);
    onFinished?.();
  });
}

function pipeOutput(channel: Channel, process: SessionProcess): Promise<void> {
  const stdout = channelWriter(channel, false);
  process.output.on('error', () => {});
  process.output.pipe(stdout);
  return finished(stdout);
}

/** RFC 4254 §6.10 exit-status / exit-signal, then EOF and CLOSE (§5.3). */
function finishSession(channel: Channel, exit: ProcessExit): void {
  if (channel.isClosing) return;
  if (exit.signal !== null) {
    void channel.request('exit-signal', encodeExitSignal(exit.signal, exit.coreDumped), false);
  } else {
    void channel.request('exit-status', encodeExitStatus(exit.code ?? 0), false);
  }
  channel.sendEof();
  channel.end();
  channel.close();
}
