/**
 * One end of a control-socket connection, read and written with recvmsg/sendmsg so that file descriptors can
 * travel with the bytes (PROTOCOL.mux §2, §3). Packets are `uint32 length` + payload, bounded by
 * MUX_MAX_PACKET; descriptors are sent as OpenSSH's mm_send_fd() sends them, one per single-byte message,
 * and arrive attached to that byte, so they are taken in byte order.
 */
import { closeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { DecodeError } from '../../wire/errors.ts';
import { MUX_MAX_PACKET } from './protocol.ts';
import { adoptDescriptor, fdPass, POLL_READABLE, POLL_WRITABLE, type PollHandle } from '../../crypto/fdpass.ts';

/** Stop reading while this much unread input is waiting. */
const INPUT_HIGH_WATER = 1024 * 1024;

/** A control-socket system call failed; `code` is the errno name (ENOENT, ECONNREFUSED …). */
export class MuxSocketError extends Error {
  override readonly name = 'MuxSocketError';
  readonly code: string;
  /** strerror() text, for messages worded like ssh's ("No such file or directory"). */
  readonly reason: string;
  constructor(error: Error & { code?: string }) {
    super(error.message);
    this.code = error.code ?? 'EIO';
    this.reason = error.message.replace(/^\w+: /, '');
  }
}

export class MuxSocket {
  readonly fd: number;
  private readonly poll: PollHandle;
  private readonly buffer = Buffer.allocUnsafe(64 * 1024);
  private pending: Buffer = Buffer.alloc(0);
  /** Descriptors received and not yet claimed, in arrival order. */
  private readonly fds: number[] = [];
  private readonly output: Array<{ data: Buffer; fds: number[] }> = [];
  private readonly drainWaiters: Array<() => void> = [];
  private wake: (() => void) | undefined;
  private ended = false;
  private isClosed = false;
  private events = 0;
  /** The error that ended the connection, if it did not end cleanly. */
  error: MuxSocketError | undefined;

  constructor(fd: number) {
    this.fd = fd;
    this.poll = fdPass().pollOpen(fd, (status, events) => this.onPoll(status, events));
    this.update();
  }

  /** Connects to a control socket. Throws MuxSocketError (ENOENT, ECONNREFUSED, ENAMETOOLONG …). */
  static connect(path: string): MuxSocket {
    let fd: number;
    try {
      fd = fdPass().connectUnix(path);
    } catch (error) {
      throw new MuxSocketError(error as Error);
    }
    return new MuxSocket(fd);
  }

  /** Takes over an accepted connection from a net.Server created with pauseOnConnect. */
  static adopt(socket: Socket): MuxSocket {
    try {
      return new MuxSocket(adoptDescriptor(socket));
    } catch (error) {
      throw new MuxSocketError(error as Error);
    }
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Bytes queued and not yet taken by the kernel. */
  get pendingOutput(): number {
    let total = 0;
    for (const chunk of this.output) total += chunk.data.length;
    return total;
  }

  /** The next packet's payload, or null at end of stream. Throws DecodeError for an oversized length. */
  async readPacket(): Promise<Buffer | null> {
    for (;;) {
      if (this.pending.length >= 4) {
        const length = this.pending.readUInt32BE(0);
        if (length > MUX_MAX_PACKET) throw new DecodeError(`mux packet too big ${length} > ${MUX_MAX_PACKET}`);
        if (this.pending.length >= 4 + length) {
          const payload = Buffer.from(this.pending.subarray(4, 4 + length));
          this.consume(4 + length);
          return payload;
        }
      }
      if (this.ended) return null;
      await this.waitForInput();
    }
  }

  /**
   * Claims `count` descriptors sent after a request (mm_receive_fd): one byte each. Resolves with fewer
   * when the stream ends or a byte came without a descriptor; the caller refuses the request then.
   */
  async readFds(count: number): Promise<number[]> {
    const received: number[] = [];
    while (received.length < count) {
      if (this.pending.length === 0) {
        if (this.ended) break;
        await this.waitForInput();
        continue;
      }
      this.consume(1);
      const fd = this.fds.shift();
      if (fd === undefined) break;
      received.push(fd);
    }
    return received;
  }

  /** Queues bytes (and descriptors, which travel with the first byte). */
  write(data: Buffer, fds: number[] = []): void {
    if (this.isClosed) return;
    this.output.push({ data, fds });
    this.flush();
  }

  /** Sends descriptors the way mm_send_fd() does: each with a single zero byte. */
  sendFds(fds: number[]): void {
    for (const fd of fds) this.write(Buffer.alloc(1), [fd]);
  }

  /** Resolves once everything queued has been handed to the kernel (or the socket is gone). */
  flushed(): Promise<void> {
    if (this.output.length === 0 || this.isClosed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Closes the connection and every descriptor received but not claimed. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.ended = true;
    fdPass().pollClose(this.poll);
    closeSync(this.fd);
    for (const fd of this.fds.splice(0)) closeSync(fd);
    for (const resolve of this.drainWaiters.splice(0)) resolve();
    this.wake?.();
  }

  private consume(count: number): void {
    this.pending = this.pending.subarray(count);
    if (this.pending.length < INPUT_HIGH_WATER) this.update();
  }

  private waitForInput(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
    });
  }

  private update(): void {
    if (this.isClosed) return;
    const wanted = (!this.ended && this.pending.length < INPUT_HIGH_WATER ? POLL_READABLE : 0) | (this.output.length > 0 ? POLL_WRITABLE : 0);
    if (wanted === this.events) return;
    this.events = wanted;
    fdPass().pollStart(this.poll, wanted);
  }

  private fail(error: Error): void {
    const code = (error as { code?: string }).code;
    if (code !== 'EPIPE' && code !== 'ECONNRESET') this.error ??= new MuxSocketError(error);
    this.ended = true;
    this.output.length = 0;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
    this.wake?.();
  }

  private onPoll(status: number, events: number): void {
    if (this.isClosed) return;
    if (status < 0) this.fail(new Error('poll: I/O error'));
    if (events & POLL_WRITABLE) this.flush();
    if (events & POLL_READABLE) this.readAvailable();
    this.update();
    this.wake?.();
  }

  private readAvailable(): void {
    for (let i = 0; i < 16 && !this.ended; i++) {
      let result: number[] | null;
      try {
        result = fdPass().recvmsg(this.fd, this.buffer);
      } catch (error) {
        this.fail(error as Error);
        return;
      }
      if (result === null) return;
      const [length, ...fds] = result as [number, ...number[]];
      this.fds.push(...fds);
      if (length === 0) {
        this.ended = true;
        return;
      }
      this.pending = this.pending.length === 0 ? Buffer.from(this.buffer.subarray(0, length)) : Buffer.concat([this.pending, this.buffer.subarray(0, length)]);
      if (this.pending.length >= INPUT_HIGH_WATER) return;
    }
  }

  private flush(): void {
    while (this.output.length > 0 && !this.isClosed) {
      const head = this.output[0]!;
      let written: number;
      try {
        written = fdPass().sendmsg(this.fd, head.data, head.fds);
      } catch (error) {
        this.fail(error as Error);
        break;
      }
      if (written < 0) break;
      if (written < head.data.length) {
        this.output[0] = { data: head.data.subarray(written), fds: [] };
        continue;
      }
      this.output.shift();
    }
    if (this.output.length === 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
    this.update();
  }
}
