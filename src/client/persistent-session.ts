/**
 * A session that survives its connection (docs/PROTOCOL.sessions): held by the server after "hold@", it
 * counts the stdout and stderr bytes it has delivered (output-counter.ts), keeps the input the server has not
 * acknowledged (session-input.ts), and when the connection drops it connects again through the caller's own
 * `connect` (jump hosts, ProxyCommand and failover all come from there), sends "resume@" with its counts, and
 * carries on (reconnect-loop.ts): each byte of output delivered once, in order, and each byte of input given
 * to the program once. holdSession() and openPersistentSession() (open-persistent-session.ts) create one.
 *
 * Its stdin/stdout/stderr are Node streams that span reconnects; `exit` settles once, when the session ends.
 */
import { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ChannelDataConsumer, ChannelRequest, ConsumableSource, ExitStatus } from '../connection/channel.ts';
import {
  ACK_REQUEST, DETACHED_REQUEST, HOLD_REQUEST, RESUME_REQUEST, SESSION_INFO_REQUEST,
  decodeDetached, decodeInputAck, decodeSessionInfo, encodeHold, encodeOutputAck, encodeResume, type SessionInfo,
} from '../connection/persistent-session-requests.ts';
import type { ResumeAuth } from '../auth/client-auth.ts';
import { ProtocolError } from '../wire/errors.ts';
import type { WindowSize } from '../connection/session-requests.ts';
import type { SshClient } from './client.ts';
import type { Session } from './session.ts';
import type { BorrowedReads } from '../transport/socket-reads.ts';
import { SessionInput } from './session-input.ts';
import { ACK_EVERY_BYTES, ACK_INTERVAL_MS, OutputCounter, type OutputStream, type StreamCounts } from './output-counter.ts';
import { beforeDeadline, fullPolicy, reconnectWithBackoff } from './reconnect-loop.ts';
import { listenToLink, openLink, releaseLink, type SessionLink } from './session-link.ts';
import { HeldOutput } from './held-output.ts';
import {
  SessionDetachedError, SessionResumeError, type PersistentSessionEvents, type PersistentSessionOptions, type ReconnectPolicy,
} from './persistent-session-options.ts';

export {
  HoldRefusedError, SessionDetachedError, SessionResumeError,
  type HoldOptions, type OpenPersistentSessionOptions, type PersistentSessionEvents, type PersistentSessionOptions, type ReconnectPolicy,
} from './persistent-session-options.ts';

const MiB = 1024 * 1024;

export class PersistentSession extends EventEmitter<PersistentSessionEvents> implements ConsumableSource {
  /** Write the session's input here; it is kept until acknowledged and sent again after a resume. */
  readonly stdin: Writable;
  private readonly delivery = new HeldOutput(() => this.consumerDrained());
  readonly stdout = this.delivery.stdout;
  readonly stderr = this.delivery.stderr;
  /** Resolves with how the program ended; rejects with SessionDetachedError or SessionResumeError. */
  readonly exit: Promise<ExitStatus>;

  private readonly options: PersistentSessionOptions;
  private readonly policy: Required<ReconnectPolicy>;
  private link: SessionLink;
  private info: SessionInfo | undefined;
  private readonly input: SessionInput;
  private readonly output = new OutputCounter();
  private windowSize: WindowSize | undefined;
  private sizeChangedOffline = false;
  private detachedReason: string | undefined;
  private closing = false;
  private done = false;
  /** Aborted when the session ends: stops a reconnect in progress. */
  private readonly ended = new AbortController();
  private readonly ackTimer: NodeJS.Timeout;
  private settle!: { resolve: (status: ExitStatus) => void; reject: (error: Error) => void };

  /** Use holdSession() or openPersistentSession(). */
  constructor(client: SshClient, session: Session, options: PersistentSessionOptions) {
    super();
    this.options = options;
    this.policy = fullPolicy(options.reconnect);
    this.input = new SessionInput(options.inputBufferBytes ?? 4 * MiB, () => this.pump());
    this.stdin = this.input.writable;
    this.exit = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    // Awaiting `exit` is optional; an unobserved rejection must not end the process.
    this.exit.catch(() => {});
    this.ackTimer = setInterval(() => this.acknowledgeOutput(true), ACK_INTERVAL_MS);
    this.ackTimer.unref();
    this.link = openLink(client, session, false, (link, request, reply) => this.onRequest(link, request, reply));
  }

  /**
   * Reads the session's input from `source` rather than from `stdin` (which is then left alone): a pipe read
   * into a reused buffer, each read copied once into what is kept for a resume.
   */
  readInputFrom(source: BorrowedReads): void {
    this.input.readFrom(source);
  }

  /** The session's id and name as the server gave them (§3), once known. */
  get id(): string | undefined {
    return this.info?.id;
  }

  get name(): string | undefined {
    return this.info?.name;
  }

  /** Whether the first attach found an existing session (a reattach by name). */
  get reattached(): boolean {
    return this.info?.reattached ?? false;
  }

  /** The connection the session currently runs on (a new one after each resume). */
  get client(): SshClient {
    return this.link.client;
  }

  /** Bytes of stdout and stderr delivered so far, as offsets in the session's streams. */
  get received(): StreamCounts {
    return this.output.received;
  }

  /** Whether the server holds the session: it sent "session@" (§3). False for one it accepted but could not hold. */
  get held(): boolean {
    return this.info !== undefined;
  }

  /** §2: asks the server to hold the session. Resolves false when it will not (nothing else was changed). */
  async requestHold(name: string): Promise<boolean> {
    const held = await this.link.session.channel.request(HOLD_REQUEST, encodeHold(name));
    if (!held) this.abandon();
    return held;
  }

  /**
   * Starts the program (or attaches to the named session) once the hold was accepted. A server that accepted
   * it and then could not hold it answers without "session@" (§3): the session goes on unheld here (`held`
   * false), its output passed through, and a drop ends it (SessionResumeError 'not-held').
   */
  async start(command: string | undefined): Promise<void> {
    const link = this.link;
    try {
      await this.startRequest(command);
    } catch (error) {
      this.finish({ error: error as Error });
      throw error;
    }
    if (!this.info) this.listen(link);
    this.goLive(link);
  }

  /**
   * hold@ and the shell / exec request sent together, as ssh pipelines its session requests (RFC 4254 §5.4:
   * replies come in order; PROTOCOL.sessions §2). True when the session is held. False when it is not — the
   * server refused hold@, or accepted it and sent no "session@" before the start's reply (§3) — and then this
   * object has let go of the channel, whose program runs as an ordinary session, its output still unread in
   * the channel for the caller. Rejects with RequestRefusedError when the shell / exec was refused.
   */
  async holdAndStart(name: string, command: string | undefined): Promise<boolean> {
    const link = this.link;
    const holding = link.session.channel.request(HOLD_REQUEST, encodeHold(name));
    const starting = this.startRequest(command);
    starting.catch(() => {});
    // Nothing of the program precedes the hold's reply: the server answers it before it reads the start.
    if (!(await holding)) {
      this.abandon();
      await starting;
      return false;
    }
    try {
      await starting;
    } catch (error) {
      this.finish({ error: error as Error });
      throw error;
    }
    if (!this.info) {
      this.abandon();
      return false;
    }
    this.goLive(link);
    return true;
  }

  /** Sends exec or shell now (Session's methods send before their first await) and resolves on the reply. */
  private startRequest(command: string | undefined): Promise<void> {
    const session = this.link.session;
    return command !== undefined ? session.exec(command) : session.shell();
  }

  /** The session is not held: this object lets go of the channel, which stays as it was, for an ordinary session. */
  private abandon(): void {
    this.done = true;
    this.ended.abort();
    clearInterval(this.ackTimer);
    releaseLink(this.link);
    this.input.close();
  }

  /** RFC 4254 §6.7, remembered so a size changed while disconnected is sent after the resume (§4). */
  windowChange(size: Pick<WindowSize, 'columns' | 'rows'> & Partial<WindowSize>): void {
    this.windowSize = { widthPixels: 0, heightPixels: 0, ...size };
    if (this.link.live) this.link.session.windowChange(this.windowSize);
    else this.sizeChangedOffline = true;
  }

  signal(name: string): void {
    if (this.link.live) this.link.session.signal(name);
  }

  /**
   * Ends the session for good (ssh's `~.`): the channel is closed before the connection (§8), so the server
   * hangs the program up instead of holding it. Also stops a reconnect in progress.
   */
  close(): void {
    if (this.done) return;
    this.closing = true;
    const { client, session } = this.link;
    session.channel.close();
    client.end();
    this.finish({ status: {} });
  }

  // ---- channels and counting -----------------------------------------------------------------------------

  private listen(link: SessionLink): void {
    listenToLink(link, (from, stream, chunk, borrowed) => this.receive(from, stream, chunk, borrowed), (closed) => this.onChannelClosed(closed));
  }

  private onRequest(link: SessionLink, request: ChannelRequest, reply: (ok: boolean) => void): void {
    try {
      if (request.type === SESSION_INFO_REQUEST) this.onSessionInfo(link, decodeSessionInfo(request.data));
      else if (request.type === ACK_REQUEST) this.onInputAck(link, decodeInputAck(request.data));
      else if (request.type === DETACHED_REQUEST) {
        this.detachedReason = decodeDetached(request.data);
        this.emit('detached', this.detachedReason);
      } else reply(false);
    } catch (error) {
      link.client.transport.fail(error as Error);
    }
  }

  /** §3: the session's identity and where each stream stands; on a resume, what was lost or is repeated. */
  private onSessionInfo(link: SessionLink, info: SessionInfo): void {
    if (this.info && info.id !== this.info.id) throw new ProtocolError('session@tether-ssh.org names another session');
    const first = this.info === undefined;
    this.info = info;
    if (!link.listening) {
      // What the channel has before "session@" is a reattach's redraw (§5), not counted: it is passed on as it is.
      this.takeBuffered(link);
      this.listen(link);
    }
    const offsets = { output: info.outputOffset, error: info.errorOffset };
    // Each server says it anew: a failover's may hold the session in a log of another size.
    this.output.spacing = info.outputAckSpacing ?? ACK_EVERY_BYTES;
    if (first) this.output.start(offsets);
    else link.lost = this.output.resync(offsets);
    link.sent = this.input.sync(info.inputOffset, first);
    link.counting = true;
  }

  /** Hands on the output the channel holds so far, through receive() (counted or not, as the link now is). */
  private takeBuffered(link: SessionLink): void {
    for (const [source, stream] of [[link.session.channel, 'output'], [link.session.channel.stderr, 'error']] as const) {
      for (let chunk: Buffer | null; (chunk = source.read() as Buffer | null) !== null;) this.receive(link, stream, chunk, false);
    }
  }

  /** Counts and delivers a chunk of the session's output; false when the reader is slow (the channel then grants no window). */
  private receive(link: SessionLink, stream: OutputStream, chunk: Buffer, borrowed: boolean): boolean {
    if (link !== this.link || this.done) return true;
    if (link.counting) {
      const fresh = this.output.accept(stream, chunk);
      if (!fresh) return true;
      chunk = fresh;
    } else if (link.resuming) {
      return true;
    }
    const more = this.delivery.deliver(stream, chunk, borrowed, link.session.channel.stderr);
    this.acknowledgeOutput(false);
    return more;
  }

  /**
   * The session's output goes to `consumer` as it arrives (the client's stdout, issue 17) instead of the
   * stdout stream, which still ends when the session does. Once take() has returned false, consumerDrained().
   */
  consume(consumer: ChannelDataConsumer): void {
    this.delivery.consume(consumer);
  }

  /** The output's reader can take more: the current channel grants window again. */
  consumerDrained(): void {
    this.link.session.channel.consumerDrained();
  }

  /** §7 ack@ to the server: every `spacing` bytes, and (periodic) once a second while any is unacknowledged. */
  private acknowledgeOutput(periodic: boolean): void {
    const link = this.link;
    if (!link.live || this.done) return;
    const counts = this.output.due(periodic);
    if (counts) void link.session.channel.request(ACK_REQUEST, encodeOutputAck(counts.output, counts.error), false);
  }

  private onInputAck(link: SessionLink, offset: number): void {
    if (link === this.link) this.input.acknowledged(offset);
  }

  private goLive(link: SessionLink): void {
    link.live = true;
    if (this.sizeChangedOffline && this.windowSize) link.session.windowChange(this.windowSize);
    this.sizeChangedOffline = false;
    this.pump();
    if (link.closed) this.afterClose(link);
  }

  /** Gives the live channel whatever input it has not had, then EOF once the writer has ended. */
  private pump(): void {
    const link = this.link;
    if (!link.live || link.eofSent || this.done) return;
    if (this.info?.inputClosed) return;
    const { sent, eof } = this.input.sendTo(link.session.channel, link.sent);
    link.sent = sent;
    // Unheld, nothing is acknowledged or sent again: what the channel has taken is done with.
    if (!this.info) this.input.acknowledged(sent);
    if (eof) {
      link.eofSent = true;
      link.session.channel.end();
    }
  }

  // ---- ending and resuming -------------------------------------------------------------------------------

  private onChannelClosed(link: SessionLink): void {
    link.closed = true;
    // Before it is live (the exec or resume reply still on its way) the close is handled by goLive.
    if (link.live) this.afterClose(link);
  }

  private afterClose(link: SessionLink): void {
    if (link !== this.link || this.done) return;
    // Output the reader has not taken yet is ours (it is counted): take it all before counting for a resume.
    releaseLink(link);
    this.takeBuffered(link);
    link.live = false;
    const dropped = link.client.transport.isClosed;
    if (this.closing) return this.finish({ status: {} });
    if (this.detachedReason !== undefined) return this.finish({ error: new SessionDetachedError(this.detachedReason) });
    if (!dropped) return this.finish({ status: link.session.channel.exitStatus ?? {} });
    if (!this.info) {
      const cause = link.client.closed.then((error) => error ?? new Error('connection closed'));
      void cause.then((error) => this.finish({ error: new SessionResumeError('the server did not hold the session', 'not-held', error) }));
      return;
    }
    void link.client.closed.then((error) => this.reconnect(error ?? new Error('connection closed')));
  }

  private async reconnect(cause: Error): Promise<void> {
    if (this.done) return;
    this.emit('disconnected', cause);
    if (!this.policy.enabled) return this.finish({ error: new SessionResumeError('session resumption is disabled', 'disabled', cause) });
    const outcome = await reconnectWithBackoff(this.policy, cause, {
      attempt: (deadline) => this.resumeOnce(deadline),
      onAttempt: (attempt, error) => this.emit('reconnecting', { attempt, error }),
      signal: this.ended.signal,
    });
    if ('stopped' in outcome || this.done) return;
    if ('error' in outcome) return this.finish({ error: outcome.error });
    this.emit('resumed', { attempt: outcome.attempt, outputLost: outcome.value.output, errorLost: outcome.value.error });
  }

  /** One attempt (§4, §6): connect with the last token, open a channel, "resume@" with our counts. */
  private async resumeOnce(deadline: number): Promise<StreamCounts> {
    const info = this.info!;
    const token = info.token;
    // A token is good for one answered attempt; one that never reached the server may be tried again.
    const credential: ResumeAuth | undefined = token.length > 0
      ? { sessionId: info.id, token, onAnswered: () => (info.token = Buffer.alloc(0)) }
      : undefined;
    const client = await beforeDeadline(this.options.connect(credential), deadline, (late) => late.end());
    if (this.done) {
      client.end();
      throw new Error('session closed');
    }
    try {
      const session = await client.session();
      this.options.prepareResume?.(client, session);
      const link = openLink(client, session, true, (from, request, reply) => this.onRequest(from, request, reply));
      this.listen(link);
      this.link = link;
      const { output, error } = this.output.received;
      const resumed = await session.channel.request(RESUME_REQUEST, encodeResume({ id: info.id, outputReceived: output, errorReceived: error }));
      if (!resumed) {
        if (client.transport.isClosed) throw (await client.closed) ?? new Error('connection closed');
        throw new SessionResumeError(`session ${info.name} is no longer there`, 'gone');
      }
      if (!link.counting) throw new ProtocolError('resume accepted without session@tether-ssh.org');
      this.goLive(link);
      return link.lost;
    } catch (error) {
      client.end();
      throw error;
    }
  }

  private finish(outcome: { status: ExitStatus } | { error: Error }): void {
    if (this.done) return;
    this.done = true;
    this.ended.abort();
    clearInterval(this.ackTimer);
    releaseLink(this.link);
    this.input.close();
    this.delivery.end();
    // As Session.exit does: settle once a reader that took the output (flowing, or paused by its backpressure,
    // which is when the most is still queued here) has had all of it.
    // Counted a turn of the event loop later, as Session.exit does: a reader attached right after the
    // session was opened may not have started yet.
    setImmediate(() => {
      const consumed = [this.stdout, this.stderr].filter((stream) => stream.readableFlowing !== null && !stream.readableEnded);
      void Promise.all(consumed.map((stream) => finished(stream).catch(() => {}))).then(() => {
        if ('error' in outcome) this.settle.reject(outcome.error);
        else this.settle.resolve(outcome.status);
      });
    });
  }
}
