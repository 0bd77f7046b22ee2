/**
 * One "session" channel on the server (RFC 4254 §6): collects pty-req, env and window-change, starts the
 * program on exec / shell / subsystem, carries data both ways with backpressure, and ends with exit-status
 * or exit-signal, EOF and CLOSE once the program has exited and its output has been sent. The program itself
 * lives behind SessionProcess; this class is only the SSH side of it. A held session (docs/PROTOCOL.sessions)
 * is an attachment to the user's session holder, itself a SessionProcess: persistent-session.ts adds what
 * holding needs, session-commands.ts the `attach NAME` and `sessions` commands.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Channel, ChannelRequest } from '../connection/channel.ts';
import {
  decodeEnv,
  decodePtyRequest,
  decodeString,
  decodeWindowChange,
} from '../connection/session-requests.ts';
import type { HandlerContext, SessionRequestHandler } from './handlers.ts';
import type { ServerLogger } from './logger.ts';
import { sanitizeForLog } from './logger.ts';
import { acceptsEnv, chooseProgram, SessionRequestError, type SessionContext, type SessionKind } from './session-environment.ts';
import { pumpSession } from './session-pump.ts';
import { SessionSpawnError, type SessionProcess, type SessionProgram, type TerminalRequest } from '../sessions/session-process.ts';
import { heldGreeting, loginGreeting, recordTerminalLogin } from './session-login.ts';
import { ACK_REQUEST, HOLD_REQUEST, RESUME_REQUEST } from '../connection/persistent-session-requests.ts';
import type { HeldAttachment } from '../sessions/holder-api.ts';
import { PersistentSession, persistenceEnabled, type PersistenceContext } from './persistent-session.ts';
import { finishWithText, listSessions, noSessionMessage, parseSessionCommand } from './session-commands.ts';
import { DEFAULT_SYSTEM_PATHS } from './system-paths.ts';
import { rcFilesRequest, withRcFiles } from './user-rc.ts';
import { x11ForwardOf } from './x11/x11-session.ts';

/** Starts programs; the server passes the PTY- or pipe-backed implementation as the program asks. */
export type ProcessStarter = (program: SessionProgram) => SessionProcess;

/** Registered session requests beyond the built-in ones, and the connection's context they act in. */
export interface SessionExtensions {
  handlers: ReadonlyMap<string, SessionRequestHandler>;
  context: HandlerContext;
}

/** sshd refuses more than this many env requests per session. */
const MAX_ENV_VARIABLES = 256;

export class SessionChannel {
  private readonly channel: Channel;
  private readonly context: SessionContext;
  private readonly log: ServerLogger;
  private readonly startProcess: ProcessStarter;
  private terminal: TerminalRequest | undefined;
  private readonly clientEnv: Array<[string, string]> = [];
  private process: SessionProcess | undefined;
  private readonly extensions: SessionExtensions | undefined;
  /** Requests waiting for an earlier one that answers asynchronously (x11-req), so replies keep their order. */
  private queue: Promise<void> | undefined;
  /** Present when the connection may hold sessions (PersistentSessions, a reachable holder). */
  private readonly persistent: PersistentSession | undefined;
  /** shell, exec, subsystem or resume has been accepted (a `sessions` listing starts no process). */
  private begun = false;

  constructor(
    channel: Channel,
    context: SessionContext,
    log: ServerLogger,
    startProcess: ProcessStarter,
    extensions?: SessionExtensions,
    persistence?: PersistenceContext,
  ) {
    this.channel = channel;
    this.persistent = persistence && persistenceEnabled(persistence.settings) ? new PersistentSession(channel, persistence) : undefined;
    this.extensions = extensions;
    this.context = context;
    this.log = log;
    this.startProcess = startProcess;
    channel.on('request', (request: ChannelRequest, reply: (ok: boolean) => void) => {
      // Handled one after another, once one answers later (x11-req): a shell or exec after it must find the
      // display it set up, and replies leave in request order (RFC 4254 §5.4).
      const next = this.queue ? this.queue.then(() => this.answer(request, reply)).catch(() => {}) : this.answer(request, reply);
      if (!next) return;
      this.queue = next;
      void next.then(() => {
        if (this.queue === next) this.queue = undefined;
      });
    });
    channel.on('error', () => {});
    channel.stderr.on('error', () => {});
    // The client closed the channel (or the connection went away) while the program still runs.
    // hangUp() signals the group and closes the pipes or terminal, so no output is read and thrown away.
    channel.once('channel-closed', () => {
      if (this.persistent?.held) this.persistent.channelClosed();
      else this.process?.hangUp();
    });
  }

  /** The connection is over: an unheld program is hung up, a held one stays with its holder, detached. */
  connectionEnded(): void {
    if (this.persistent?.held) this.persistent.connectionEnded();
    else this.process?.hangUp();
  }

  /** The program behind this channel, once started. */
  get sessionProcess(): SessionProcess | undefined {
    return this.process;
  }

  /** Handles one request and replies; a promise when the handler answers later. Never rejects. */
  private answer(request: ChannelRequest, reply: (ok: boolean) => void): Promise<void> | undefined {
    const failed = (error: unknown): false => {
      this.log.verbose(`session request ${sanitizeForLog(request.type, 64)} failed: ${(error as Error).message}`);
      return false;
    };
    let ok: boolean | Promise<boolean>;
    try {
      ok = this.onRequest(request);
    } catch (error) {
      ok = failed(error);
    }
    if (typeof ok === 'boolean') return void reply(ok);
    // A reply that cannot be sent any more (the connection went meanwhile) is nothing to report.
    return ok.catch(failed).then(reply).catch(() => {});
  }

  private onRequest(request: ChannelRequest): boolean | Promise<boolean> {
    const started = this.begun;
    switch (request.type) {
      case 'pty-req': {
        if (started || this.terminal) return false;
        if (!this.context.settings.permitTTY || !this.context.restrictions.permitPty) {
          this.log.verbose('PTY allocation disabled.');
          return false;
        }
        const pty = decodePtyRequest(request.data);
        this.terminal = { term: pty.term, columns: pty.columns, rows: pty.rows, modes: pty.modes };
        return true;
      }
      case 'env': {
        if (started || this.clientEnv.length >= MAX_ENV_VARIABLES) return false;
        const { name, value } = decodeEnv(request.data);
        if (!acceptsEnv(this.context.settings, name)) {
          this.log.debug(`Ignoring env request ${sanitizeForLog(name, 64)}: disallowed name`);
          return false;
        }
        this.clientEnv.push([name, value]);
        return true;
      }
      case 'window-change': {
        const size = decodeWindowChange(request.data);
        if (this.terminal) Object.assign(this.terminal, { columns: size.columns, rows: size.rows });
        this.process?.resize(size.columns, size.rows);
        return true;
      }
      case 'signal':
        return this.process?.signal(decodeString(request.data, 64)) ?? false;
      case HOLD_REQUEST:
        return !started && this.persistent !== undefined && this.persistent.answerHold(request);
      case RESUME_REQUEST:
        return !started && this.persistent !== undefined && this.resume(request);
      case ACK_REQUEST:
        return this.persistent?.clientAck(request) ?? false;
      case 'shell':
        return !started && this.start({ kind: 'shell' });
      case 'exec':
        return !started && this.start({ kind: 'exec', command: decodeString(request.data) });
      case 'subsystem':
        return !started && this.start({ kind: 'subsystem', name: decodeString(request.data, 256) });
      default: {
        // Registered requests (auth-agent-req@openssh.com, x11-req) count only before the program starts, as in
        // sshd, where they are accepted on a "larval" channel alone. break and unknown ones fail.
        const handler = this.extensions?.handlers.get(request.type);
        if (!handler || started) return false;
        return handler(request, { ...this.extensions!.context, channel: this.channel });
      }
    }
  }

  /** shell / exec / subsystem: a session command, a held session, or the program run here. */
  private start(request: SessionKind): boolean | Promise<boolean> {
    // Later requests wait for one answered later, so `begun` need only be right once this one is answered.
    const started = (ok: boolean): boolean => (this.begun = ok);
    const result = this.startSession(request);
    return typeof result === 'boolean' ? started(result) : result.then(started);
  }

  private startSession(request: SessionKind): boolean | Promise<boolean> {
    const persistent = this.persistent;
    if (persistent && request.kind !== 'subsystem') {
      const command = parseSessionCommand(this.context.settings.forceCommand ?? this.context.restrictions.forcedCommand ?? (request.kind === 'exec' ? request.command : ''));
      if (command?.kind === 'attach') return this.attach(command.name, persistent);
      if (command) return listSessions(this.channel, persistent, this.terminal !== undefined);
      if (persistent.wouldHold(request, this.terminal !== undefined)) return this.startHeld(request, persistent);
    }
    const prepared = this.prepare(request);
    return prepared !== undefined && this.launch(prepared);
  }

  /** The program for a request, with rc files; undefined (logged) when the request is refused. */
  private prepare(request: SessionKind) {
    const x11 = x11ForwardOf(this.channel);
    let choice;
    try {
      choice = chooseProgram(this.context, request, {
        clientEnv: this.clientEnv,
        terminal: this.terminal,
        serverEnv: this.extensions?.context.sessionEnv,
        display: x11?.display,
      });
    } catch (error) {
      if (error instanceof SessionRequestError) {
        this.log.info(error.message);
        return undefined;
      }
      throw error;
    }
    const what = request.kind === 'subsystem' ? `subsystem '${sanitizeForLog(request.name, 64)}'` : request.kind === 'exec' ? 'command' : 'shell';
    this.log.verbose(`Starting session: ${what}${this.terminal ? ' on a terminal' : ''} for ${this.context.account.name} from ${this.context.peer.address} port ${this.context.peer.port}${choice.forced ? ` forced-command ${choice.forced}` : ''}`);
    this.context.markInteractive?.(this.terminal !== undefined);
    const paths = this.context.paths ?? DEFAULT_SYSTEM_PATHS;
    const program = withRcFiles(choice.program, rcFilesRequest(this.context, paths, request, choice.forced, x11?.authority));
    // session.c check_quietlogin(): only a shell (no command, forced or not) without ~/.hushlogin is greeted.
    const quiet = request.kind !== 'shell' || choice.forced !== undefined || existsSync(join(this.context.account.home, '.hushlogin'));
    const command = request.kind === 'shell' && choice.forced === undefined ? `-${basename(this.context.account.shell)}` : (choice.program.args[1] ?? '');
    return { program, paths, quiet, x11, command, logsToServer: choice.logsToServer === true };
  }

  private launch(prepared: NonNullable<ReturnType<SessionChannel['prepare']>>): boolean {
    const { program, paths, quiet, x11 } = prepared;
    try {
      this.process = this.startProcess(program);
    } catch (error) {
      // Out of descriptors or processes: this request fails, as sshd's does, and the server goes on.
      if (!(error instanceof SessionSpawnError)) throw error;
      this.log.error(`${error.message} (session for ${this.context.account.name} from ${this.context.peer.address} port ${this.context.peer.port})`);
      return false;
    }
    x11?.started(program);
    const greeting = loginGreeting(this.context, paths, this.process, quiet);
    if (greeting !== '') this.channel.write(Buffer.from(greeting));
    pumpSession(this.channel, this.process, prepared.logsToServer ? { errorsToLog: (line) => this.log.line(line) } : {});
    return true;
  }

  /**
   * A held session: hold@'s name reattaches when the user has it; otherwise the holder starts the program,
   * with the login greeting as the first output it keeps. A holder that cannot be reached leaves the
   * session unheld rather than failing it.
   */
  private async startHeld(request: SessionKind, persistent: PersistentSession): Promise<boolean> {
    const existing = await persistent.existingByHoldName();
    if (existing) return this.attach(existing.name, persistent);
    const prepared = this.prepare(request);
    if (!prepared) return false;
    const { program, paths, quiet, x11, command } = prepared;
    const terminal = program.terminal !== undefined;
    const greeting = terminal && !quiet ? heldGreeting(this.context, paths) : '';
    const attachment = await persistent.create({ program, command, ...(greeting === '' ? {} : { greeting: Buffer.from(greeting) }) });
    if (!attachment) return this.launch(prepared);
    x11?.started(program);
    recordTerminalLogin(this.context, paths, attachment, false);
    this.adopt(attachment, persistent);
    return true;
  }

  /** `attach NAME` (or hold@ with a known name): the session redrawn, then live; exit status 1 without one. */
  private async attach(name: string, persistent: PersistentSession): Promise<boolean> {
    const attachment = await persistent.attachByName(name);
    if (!attachment) {
      finishWithText(this.channel, noSessionMessage(name), 1, 'stderr', this.terminal !== undefined);
      return true;
    }
    this.adopt(attachment, persistent);
    if (this.terminal) attachment.resize(this.terminal.columns, this.terminal.rows);
    return true;
  }

  private async resume(request: ChannelRequest): Promise<boolean> {
    const attachment = await this.persistent!.resume(request);
    if (!attachment) return false;
    this.begun = true;
    this.adopt(attachment, this.persistent!);
    return true;
  }

  private adopt(attachment: HeldAttachment, persistent: PersistentSession): void {
    this.process = attachment;
    this.context.markInteractive?.(attachment.terminal);
    persistent.begin(attachment);
    pumpSession(this.channel, attachment, { connectionGone: persistent.connectionGone, finished: () => persistent.exitDelivered() });
  }
}
