/**
 * A "session" channel (RFC 4254 §6) seen from the client: pty, environment, exec/shell/subsystem, window
 * changes and signals, and the exit status as a promise.
 */
import { finished } from 'node:stream/promises';
import type { Channel, ExitStatus } from '../connection/channel.ts';
import {
  DEFAULT_TERMINAL_MODES,
  encodeEnv,
  encodePtyRequest,
  encodeString,
  encodeTerminalModes,
  encodeWindowChange,
  type WindowSize,
} from '../connection/session-requests.ts';
import { HOLD_REQUEST, encodeHold } from '../connection/persistent-session-requests.ts';

/** A session request the server refused (RFC 4254 §5.4 CHANNEL_FAILURE). */
export class RequestRefusedError extends Error {
  override readonly name = 'RequestRefusedError';
}

export interface PtyOptions {
  term?: string;
  columns?: number;
  rows?: number;
  modes?: ReadonlyArray<readonly [number, number]>;
}

export class Session {
  readonly channel: Channel;
  /** Resolves when the server reports how the command ended, or with {} when the channel closes without it. */
  readonly exit: Promise<ExitStatus>;

  constructor(channel: Channel) {
    this.channel = channel;
    // Settles once the channel is closed (RFC 4254 §5.3: nothing more can arrive) and, for output someone is
    // reading, once that reader has had it all: awaiting `exit` then never races the last bytes of output.
    // A reader is one that took the stream, flowing or paused by its own backpressure (readableFlowing false).
    this.exit = new Promise((resolve) => {
      // Readers are counted one turn of the event loop after the close: the reply, the output and the close
      // can arrive in one read, before a caller that awaited exec() has attached its reader.
      channel.once('channel-closed', () => setImmediate(() => {
        const consumed = [channel, channel.stderr].filter((stream) => stream.readableFlowing !== null && !stream.readableEnded);
        void Promise.all(consumed.map((stream) => finished(stream).catch(() => {}))).then(() => resolve(channel.exitStatus ?? {}));
      }));
    });
  }

  get stdout(): Channel {
    return this.channel;
  }

  get stderr() {
    return this.channel.stderr;
  }

  async requestPty(options: PtyOptions = {}): Promise<void> {
    const ok = await this.channel.request(
      'pty-req',
      encodePtyRequest({
        term: options.term ?? 'xterm-256color',
        columns: options.columns ?? 80,
        rows: options.rows ?? 24,
        widthPixels: 0,
        heightPixels: 0,
        modes: encodeTerminalModes(options.modes ?? DEFAULT_TERMINAL_MODES),
      }),
    );
    if (!ok) throw new RequestRefusedError('PTY allocation request failed');
  }

  /**
   * Asks a Tether server to hold the session under `name` ("" lets it choose), so that it outlives the
   * connection (docs/PROTOCOL.sessions §2); resolves false when the server will not. To resume it after a
   * drop, use holdSession() or openPersistentSession() (persistent-session.ts) instead.
   */
  async hold(name = ''): Promise<boolean> {
    this.held = await this.channel.request(HOLD_REQUEST, encodeHold(name));
    return this.held;
  }

  /** Whether the server agreed to hold this session. */
  held = false;

  /** RFC 4254 §6.4; servers commonly refuse names outside their AcceptEnv, which is not an error. */
  setEnv(name: string, value: string): Promise<boolean> {
    return this.channel.request('env', encodeEnv(name, value));
  }

  async exec(command: string): Promise<void> {
    if (!(await this.channel.request('exec', encodeString(command)))) throw new RequestRefusedError(`exec request failed`);
  }

  async shell(): Promise<void> {
    if (!(await this.channel.request('shell'))) throw new RequestRefusedError('shell request failed');
  }

  async subsystem(name: string): Promise<void> {
    if (!(await this.channel.request('subsystem', encodeString(name)))) {
      throw new RequestRefusedError(`subsystem request for ${name} failed`);
    }
  }

  windowChange(size: Pick<WindowSize, 'columns' | 'rows'> & Partial<WindowSize>): void {
    void this.channel.request(
      'window-change',
      encodeWindowChange({ widthPixels: 0, heightPixels: 0, ...size }),
      false,
    );
  }

  /** RFC 4254 §6.9: signal name without the "SIG" prefix, e.g. "TERM". */
  signal(name: string): void {
    void this.channel.request('signal', encodeString(name.replace(/^SIG/, '')), false);
  }
}
