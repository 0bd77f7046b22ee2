/**
 * The session holder process (docs/PROTOCOL.sessions §1): one per user, running as that user, detached
 * from any server (its own session and process group), listening on `<directory>/holder.sock`. It keeps
 * the user's held sessions by id and by name and leaves once it has held none for a while.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { SessionSpawnError } from '../session-process.ts';
import { HeldSession } from './held-session.ts';
import { HolderAttachment } from './holder-attachment.ts';
import { checkUserDirectory, holderSocketPath } from './holder-directory.ts';
import { encodeBytes, encodeControl, chunked, sendControl, field, FRAME_CONTROL, FRAME_REDRAW, enlargeSendBuffer, HolderProtocolError, readFrames, type Frame } from './holder-protocol.ts';
import { decodeAttach, decodeCreate, MAX_REASON_LENGTH } from './holder-requests.ts';
import { bindExclusively, releaseSocket, type BoundSocket } from './holder-socket.ts';

export const MAX_SESSIONS = 64;
export const MAX_CONNECTIONS = 256;
const DEFAULT_REASON = 'session attached from elsewhere';

export interface HolderOptions {
  /** The per-user directory (mode 0700, ours). */
  directory: string;
  /** How long the holder stays once it holds no session (10 s), and after start before the first (30 s). */
  lingerMs?: number;
  startGraceMs?: number;
  /** Where diagnostics go; never tokens. The holder's stdio is normally closed. */
  log?: (line: string) => void;
}

export class Holder {
  private readonly sessions = new Map<string, HeldSession>();
  private readonly byName = new Map<string, HeldSession>();
  private readonly connections = new Set<Socket>();
  private lingerTimer: NodeJS.Timeout | undefined;
  private nextName = 1;
  private stopping = false;
  private readonly log: (line: string) => void;
  private exitResolve: ((code: number) => void) | undefined;
  /** Resolves with the exit status once the holder has shut down. */
  readonly done: Promise<number>;

  private readonly server: Server;
  private readonly bound: BoundSocket;
  private readonly options: HolderOptions;

  private constructor(server: Server, bound: BoundSocket, options: HolderOptions) {
    this.server = server;
    this.bound = bound;
    this.options = options;
    this.log = options.log ?? (() => {});
    this.done = new Promise((resolve) => (this.exitResolve = resolve));
    server.on('connection', (socket) => this.accept(socket));
    this.linger(options.startGraceMs ?? 30_000);
  }

  /** Binds the socket; undefined when another holder already serves this directory. */
  static async start(options: HolderOptions): Promise<Holder | undefined> {
    checkUserDirectory(options.directory, process.getuid?.() ?? -1);
    const server = createServer({ pauseOnConnect: false });
    const bound = await bindExclusively(server, holderSocketPath(options.directory));
    if (!bound) return undefined;
    return new Holder(server, bound, options);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  private accept(socket: Socket): void {
    if (this.stopping || this.connections.size >= MAX_CONNECTIONS) {
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    enlargeSendBuffer(socket);
    // A server that has just connected is about to create a session: the holder does not leave under it.
    if (this.sessions.size === 0) this.linger(this.options.lingerMs ?? 10_000);
    socket.on('error', () => {});
    socket.once('close', () => this.connections.delete(socket));
    let attachment: HolderAttachment | undefined;
    let role: 'unknown' | 'control' | 'attachment' = 'unknown';
    // Frames that arrive while an attach is being set up (input typed already) wait for it, in order; the
    // socket is paused meanwhile, so this holds at most the rest of one read.
    const early: Frame[] = [];
    readFrames(socket, (frame: Frame) => {
      if (role === 'attachment') {
        if (attachment) attachment.handle(frame);
        else early.push(frame);
        return;
      }
      if (frame.type !== FRAME_CONTROL) throw new HolderProtocolError('data before a request');
      const message = frame.message;
      if (message.op === 'list' || message.op === 'spend') {
        role = 'control';
        this.control(socket, message);
        return;
      }
      if (role !== 'unknown') throw new HolderProtocolError(`unexpected ${String(message.op)}`);
      role = 'attachment';
      socket.pause();
      const ready = message.op === 'create' ? this.create(socket, message) : message.op === 'attach' ? this.attach(socket, message) : undefined;
      if (!ready) throw new HolderProtocolError(`unknown request ${String(message.op)}`);
      void ready.then(
        (made) => {
          if (!made) {
            socket.end();
            return;
          }
          try {
            for (const frame of early.splice(0)) made.handle(frame);
          } catch {
            socket.destroy();
            return;
          }
          attachment = made;
          socket.resume();
        },
        (error: unknown) => {
          this.log(`holder: ${(error as Error).message}`);
          socket.destroy();
        },
      );
    });
  }

  private control(socket: Socket, message: Record<string, unknown>): void {
    const seq = field(message, 'seq', 'number')!;
    if (message.op === 'list') {
      const listed = [...this.sessions.values()].filter((session) => !session.ending);
      sendControl(socket, { op: 'list', seq, sessions: listed.map((session) => session.summary()) });
      return;
    }
    const session = this.sessions.get(field(message, 'id', 'string')!);
    const ok =
      session?.spendToken(
        Buffer.from(field(message, 'proof', 'string')!, 'base64'),
        Buffer.from(field(message, 'connectionSessionId', 'string')!, 'base64'),
        field(message, 'user', 'string')!,
      ) ?? false;
    sendControl(socket, { op: 'spent', seq, ok });
  }

  private uniqueName(): string {
    while (this.byName.has(String(this.nextName))) this.nextName += 1;
    return String(this.nextName++);
  }

  private async create(socket: Socket, message: Record<string, unknown>): Promise<HolderAttachment | undefined> {
    const request = decodeCreate(message);
    const refuse = (text: string, code?: string): undefined => {
      socket.write(encodeControl({ op: 'failed', message: text, ...(code ? { code } : {}) }));
      return undefined;
    };
    if (this.stopping) return refuse('session holder is shutting down');
    if (this.sessions.size >= MAX_SESSIONS) return refuse(`too many held sessions (at most ${MAX_SESSIONS})`);
    if (request.name && this.byName.has(request.name)) return refuse(`session name ${request.name} is in use`);
    let session: HeldSession;
    try {
      session = new HeldSession({
        id: randomBytes(16).toString('base64url'),
        name: request.name || this.uniqueName(),
        command: request.command,
        program: request.program,
        greeting: request.greeting ?? Buffer.alloc(0),
        logSize: request.logSize,
        idleTimeoutSeconds: request.idleTimeoutSeconds,
        ...(request.files ? { files: request.files } : {}),
        onRemoved: (gone) => this.removed(gone),
      });
    } catch (error) {
      if (error instanceof SessionSpawnError) return refuse(error.message, error.code);
      throw error;
    }
    this.sessions.set(session.id, session);
    this.byName.set(session.name, session);
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    return this.bind(socket, session, { output: 0, error: 0 }, Buffer.alloc(0), false, DEFAULT_REASON);
  }

  private async attach(socket: Socket, message: Record<string, unknown>): Promise<HolderAttachment | undefined> {
    const request = decodeAttach(message);
    const find = (): HeldSession | undefined => {
      const found = request.id !== undefined ? this.sessions.get(request.id) : request.name !== undefined ? this.byName.get(request.name) : undefined;
      return found?.ending ? undefined : found;
    };
    let session = find();
    if (!session) {
      socket.write(encodeControl({ op: 'none' }));
      return undefined;
    }
    let from: { output: number; error: number };
    let redraw: Buffer = Buffer.alloc(0);
    if (request.replay === 'offsets') {
      from = { output: session.output.clamp(request.outputFrom ?? 0), error: session.error?.clamp(request.errorFrom ?? 0) ?? 0 };
    } else if (session.screen) {
      // The screen as of this offset: the emulator has been given exactly the output before it.
      from = { output: session.output.end, error: 0 };
      redraw = await session.screen.redraw();
      if (find() !== session) session = undefined;
    } else {
      from = { output: session.output.start, error: session.error?.start ?? 0 };
    }
    if (!session || socket.destroyed) {
      if (!session) socket.write(encodeControl({ op: 'none' }));
      return undefined;
    }
    return this.bind(socket, session, from, redraw, true, (request.reason ?? DEFAULT_REASON).slice(0, MAX_REASON_LENGTH));
  }

  private bind(socket: Socket, session: HeldSession, from: { output: number; error: number }, redraw: Buffer, reattached: boolean, reason: string): HolderAttachment {
    const attachment = new HolderAttachment(socket, session, from);
    const { token, displaced } = session.attach(attachment);
    (displaced as HolderAttachment | undefined)?.displaced(reason);
    for (const piece of chunked(redraw)) socket.write(encodeBytes(FRAME_REDRAW, piece));
    attachment.send({
      op: 'attached',
      summary: session.summary(),
      token: token.toString('base64'),
      pid: session.process.pid,
      ...(session.process.ttyName ? { ttyName: session.process.ttyName } : {}),
      inputOffset: session.inputOffset,
      inputClosed: session.inputClosed,
      outputOffset: from.output,
      errorOffset: from.error,
      reattached,
      logSize: session.output.capacity,
    });
    attachment.start();
    return attachment;
  }

  private removed(session: HeldSession): void {
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
    if (this.byName.get(session.name) === session) this.byName.delete(session.name);
    if (this.sessions.size === 0) this.linger(this.options.lingerMs ?? 10_000);
  }

  private linger(ms: number): void {
    if (this.stopping) return;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = setTimeout(() => {
      if (this.sessions.size === 0) void this.stop();
    }, ms);
  }

  /** SIGTERM: every session is hung up (bounded wait for the programs to go), then the holder leaves. */
  async terminate(): Promise<void> {
    const exits = [...this.sessions.values()].map((session) => {
      session.hangUp();
      return session.process.exit;
    });
    await Promise.race([Promise.all(exits), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    // Whatever ignored the hangup does not outlive the holder that would have reaped it.
    for (const session of this.sessions.values()) session.kill();
    await this.stop();
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    for (const session of [...this.sessions.values()]) session.remove();
    for (const socket of this.connections) socket.destroy();
    releaseSocket(this.bound);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.exitResolve?.(0);
  }
}
