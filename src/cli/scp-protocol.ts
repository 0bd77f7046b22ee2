/**
 * The legacy scp protocol (scp -O), the client's half of OpenSSH's scp.c source() and sink(): the remote
 * runs `scp -t TARGET` to receive or `scp -f SOURCE` to send, and the two ends exchange lines over the
 * session's stdin and stdout: `C<mode> <size> <name>` then the bytes and a NUL for a file, `D<mode> 0
 * <name>` … `E` around a directory, `T<mtime> 0 <atime> 0` before either with -p. Each step is answered
 * with one byte: 0 for yes, 1 followed by a message line for an error, 2 for a fatal one.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, opendir, stat, utimes } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { localErrorText } from '../sftp/client/local-errors.ts';
import { RateLimiter } from '../sftp/client/rate-limiter.ts';

/** The longest protocol line we accept from the peer (scp.c reads into a PATH_MAX + 128 buffer). */
const MAX_LINE = 4096 + 128;

/** The remote end said a fatal error (2), or the stream ended mid-protocol. */
export class ScpProtocolError extends Error {
  override readonly name = 'ScpProtocolError';
}

export interface ScpHooks {
  /** Where run_err's local copy goes: stderr, the message and a newline, no prefix (scp.c run_err). */
  localError(text: string): void;
  /** A remote message line (1 or 2 followed by text) as it arrived. */
  remoteMessage(text: string): void;
  progress?: (name: string, size: number, position: () => number) => { stop(): void } | undefined;
  limitBytesPerSecond?: number;
}

/** Bytes from the remote end, read as scp's sink reads them: a byte, a line, or a counted run. */
export class ByteReader {
  private readonly stream: Readable;
  private buffered: Buffer = Buffer.alloc(0);
  private ended = false;
  private waiting: (() => void) | undefined;

  constructor(stream: Readable) {
    this.stream = stream;
    stream.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      // Hold the sender back while we have unread data (the channel's window does the rest).
      if (this.buffered.length > 1 << 20) stream.pause();
      this.wake();
    });
    stream.on('end', () => {
      this.ended = true;
      this.wake();
    });
    stream.on('close', () => {
      this.ended = true;
      this.wake();
    });
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }

  private async fill(): Promise<boolean> {
    if (this.buffered.length > 0) return true;
    if (this.ended) return false;
    this.stream.resume();
    await new Promise<void>((resolve) => (this.waiting = resolve));
    return this.buffered.length > 0;
  }

  /** One byte, or undefined at end of stream. */
  async byte(): Promise<number | undefined> {
    if (!(await this.fill())) return undefined;
    const value = this.buffered[0]!;
    this.buffered = this.buffered.subarray(1);
    return value;
  }

  /** Text up to a newline (not included); throws at end of stream or beyond MAX_LINE. */
  async line(): Promise<string> {
    const parts: Buffer[] = [];
    let length = 0;
    for (;;) {
      if (!(await this.fill())) throw new ScpProtocolError('lost connection');
      const newline = this.buffered.indexOf(0x0a);
      const take = newline < 0 ? this.buffered : this.buffered.subarray(0, newline);
      parts.push(take);
      length += take.length;
      if (length > MAX_LINE) throw new ScpProtocolError('protocol error: line too long');
      this.buffered = newline < 0 ? Buffer.alloc(0) : this.buffered.subarray(newline + 1);
      if (newline >= 0) return Buffer.concat(parts).toString('utf8');
    }
  }

  /** Exactly `count` bytes, handed to `sink` in chunks. */
  async copy(count: number, sink: (chunk: Buffer) => Promise<void>): Promise<void> {
    let left = count;
    while (left > 0) {
      if (!(await this.fill())) throw new ScpProtocolError('lost connection');
      const chunk = this.buffered.subarray(0, Math.min(left, this.buffered.length));
      this.buffered = this.buffered.subarray(chunk.length);
      left -= chunk.length;
      await sink(chunk);
    }
  }
}

function writeAll(stream: Writable, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(data, (error) => (error ? reject(error) : resolve()));
  });
}

/** scp.c run_err: the error to the other end (so it knows) and to our stderr. */
export async function runErr(output: Writable, hooks: ScpHooks, message: string): Promise<void> {
  await writeAll(output, `\x01scp: ${message}\n`);
  hooks.localError(`${message}\n`);
}

/** scp.c response(): 0 for OK, -1 after printing the remote's error; a fatal one throws. */
async function response(reader: ByteReader, hooks: ScpHooks): Promise<number> {
  const code = await reader.byte();
  if (code === undefined) throw new ScpProtocolError('lost connection');
  if (code === 0) return 0;
  const text = code === 1 || code === 2 ? await reader.line() : String.fromCharCode(code) + (await reader.line());
  hooks.remoteMessage(`${text}\n`);
  if (code === 2) throw new ScpProtocolError(text);
  return -1;
}

export interface SourceOptions {
  recursive: boolean;
  preserve: boolean;
}

/** scp.c source(): sends local files and (with -r) trees to a remote `scp -t`. Returns the error count. */
export async function sendFiles(paths: string[], input: ByteReader, output: Writable, options: SourceOptions, hooks: ScpHooks): Promise<number> {
  let errors = 0;
  const runError = (message: string) => runErr(output, hooks, message);
  // The remote's first byte says it is ready.
  if ((await response(input, hooks)) < 0) return 1;
  const sendTimes = async (mtimeMs: number, atimeMs: number) => {
    await writeAll(output, `T${Math.max(0, Math.floor(mtimeMs / 1000))} 0 ${Math.max(0, Math.floor(atimeMs / 1000))} 0\n`);
    return response(input, hooks);
  };
  const sendOne = async (path: string): Promise<void> => {
    const name = path.length > 1 ? path.replace(/\/+$/, '') : path;
    let info;
    try {
      info = await stat(name);
    } catch (error) {
      await runError(`${name}: ${localErrorText(error)}`);
      errors++;
      return;
    }
    const last = name.slice(name.lastIndexOf('/') + 1);
    if (info.isDirectory()) {
      if (!options.recursive) {
        await runError(`${name}: not a regular file`);
        errors++;
        return;
      }
      if (options.preserve && (await sendTimes(info.mtimeMs, info.atimeMs)) < 0) return;
      await writeAll(output, `D${(info.mode & 0o7777).toString(8).padStart(4, '0')} 0 ${last}\n`);
      if ((await response(input, hooks)) < 0) return;
      const directory = await opendir(name).catch(async (error: unknown) => {
        await runError(`${name}: ${localErrorText(error)}`);
        errors++;
        return undefined;
      });
      if (directory === undefined) return;
      for await (const entry of directory) await sendOne(`${name}/${entry.name}`);
      await writeAll(output, 'E\n');
      await response(input, hooks);
      return;
    }
    if (!info.isFile()) {
      await runError(`${name}: not a regular file`);
      errors++;
      return;
    }
    if (options.preserve && (await sendTimes(info.mtimeMs, info.atimeMs)) < 0) return;
    await writeAll(output, `C${(info.mode & 0o6777).toString(8).padStart(4, '0')} ${info.size} ${last}\n`);
    if ((await response(input, hooks)) < 0) return;
    let position = 0;
    const meter = hooks.progress?.(last, info.size, () => position);
    const limiter = hooks.limitBytesPerSecond ? new RateLimiter(hooks.limitBytesPerSecond) : undefined;
    let failed: unknown;
    try {
      for await (const chunk of createReadStream(name, { end: info.size > 0 ? info.size - 1 : 0, highWaterMark: 32768 })) {
        if (info.size === 0) break;
        await writeAll(output, chunk as Buffer);
        position += (chunk as Buffer).length;
        await limiter?.consume((chunk as Buffer).length);
      }
    } catch (error) {
      failed = error;
    }
    // A file that shrank is padded so the stream stays in step (scp.c does the same).
    if (position < info.size) await writeAll(output, Buffer.alloc(info.size - position));
    meter?.stop();
    if (failed !== undefined) {
      await writeAll(output, `\x01scp: ${name}: ${localErrorText(failed)}\n`);
      errors++;
    } else {
      await writeAll(output, Buffer.alloc(1));
    }
    if ((await response(input, hooks)) < 0) errors++;
  };
  for (const path of paths) await sendOne(path);
  return errors;
}

export interface SinkOptions extends SourceOptions {
  /** The local target; files go inside it when it is a directory. */
  target: string;
}

/** scp.c sink(): receives what a remote `scp -f` sends. Returns the error count. */
export async function receiveFiles(input: ByteReader, output: Writable, options: SinkOptions, hooks: ScpHooks): Promise<number> {
  let errors = 0;
  const ok = () => writeAll(output, Buffer.alloc(1));
  const refuse = async (message: string) => {
    errors++;
    await runErr(output, hooks, message);
  };
  const targetIsDirectory = (await stat(options.target).catch(() => undefined))?.isDirectory() === true;
  // Directories being filled; their mode and times are set once they are complete (at 'E'), as sink() does.
  const directories: { path: string; mode: number; times?: { mtime: number; atime: number } }[] = [];
  let times: { mtime: number; atime: number } | undefined;
  await ok();
  for (;;) {
    const code = await input.byte();
    if (code === undefined) break;
    const line = await input.line();
    if (code === 1 || code === 2) {
      hooks.remoteMessage(`${line}\n`);
      if (code === 2) throw new ScpProtocolError(line);
      errors++;
      continue;
    }
    const kind = String.fromCharCode(code);
    if (kind === 'E') {
      const done = directories.pop();
      await ok();
      if (done && options.preserve) {
        await chmod(done.path, done.mode).catch(() => {});
        if (done.times) await utimes(done.path, done.times.atime, done.times.mtime).catch(() => {});
      }
      continue;
    }
    if (kind === 'T') {
      const match = /^(\d+) 0 (\d+) 0$/.exec(line);
      if (!match) throw new ScpProtocolError('protocol error: mtime.sec not delimited');
      times = { mtime: Number(match[1]), atime: Number(match[2]) };
      await ok();
      continue;
    }
    const match = /^([0-7]{4}) (\d+) (.+)$/.exec(line);
    if ((kind !== 'C' && kind !== 'D') || !match) throw new ScpProtocolError(`protocol error: expected control record`);
    const mode = parseInt(match[1]!, 8);
    const size = Number(match[2]);
    const name = match[3]!;
    // A name with a '/' or a dot-dot could put a file anywhere (CVE-2019-6111's lesson).
    if (name.includes('/') || name === '..' || name === '.') throw new ScpProtocolError(`error: unexpected filename: ${name}`);
    const parent = directories.at(-1)?.path;
    const path = parent !== undefined ? `${parent}/${name}` : targetIsDirectory ? `${options.target}/${name}` : options.target;
    const fileTimes = times;
    times = undefined;
    if (kind === 'D') {
      if (!options.recursive) throw new ScpProtocolError('received directory without -r');
      const existing = await lstat(path).catch(() => undefined);
      if (existing && !existing.isDirectory()) {
        await refuse(`${path}: Not a directory`);
        continue;
      }
      if (!existing) await mkdir(path, mode | 0o700).catch(() => {});
      directories.push({ path, mode, times: fileTimes });
      await ok();
      continue;
    }
    const file = createWriteStream(path, { mode: mode | 0o200, flags: 'w' });
    const opened = await new Promise<Error | undefined>((resolve) => file.once('open', () => resolve(undefined)).once('error', resolve));
    await ok();
    let position = 0;
    const meter = hooks.progress?.(name, size, () => position);
    const limiter = hooks.limitBytesPerSecond ? new RateLimiter(hooks.limitBytesPerSecond) : undefined;
    await input.copy(size, async (chunk) => {
      if (!opened) await writeAll(file, chunk);
      position += chunk.length;
      await limiter?.consume(chunk.length);
    });
    meter?.stop();
    await new Promise<void>((resolve) => (opened ? resolve() : file.end(resolve)));
    // The sender's NUL (or its error) after the data.
    if ((await response(input, hooks)) < 0) errors++;
    if (opened) {
      await refuse(`${path}: ${localErrorText(opened)}`);
      continue;
    }
    if (options.preserve) {
      await chmod(path, mode).catch(() => {});
      if (fileTimes) await utimes(path, fileTimes.atime, fileTimes.mtime).catch(() => {});
    }
    await ok();
  }
  return errors;
}
