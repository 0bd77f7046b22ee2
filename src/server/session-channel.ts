/**
 * One "session" channel on the server (RFC 4254 §6): collects pty-req, env and window-change, starts the
 * program on exec / shell / subsystem, carries data both ways with backpressure, and ends with exit-status
 * or exit-signal, EOF and CLOSE once the program has exited and its output has been sent. The program itself
 * lives behind SessionProcess; this class is only the SSH side of it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Channel, ChannelRequest } from '../connection/channel.ts';
import {
  decodeEnv,
  decodePtyRequest,
  decodeString,
  decodeWindowChange,
  encodeExitSignal,
  encodeExitStatus,
} from '../connection/session-requests.ts';
import type { HandlerContext, SessionRequestHandler } from './handlers.ts';
import type { ServerLogger } from './logger.ts';
import { sanitizeForLog } from './logger.ts';
import { acceptsEnv, chooseProgram, SessionRequestError, type SessionContext, type SessionKind } from './session-environment.ts';
import { SessionSpawnError, type ProcessExit, type SessionProcess, type SessionProgram, type TerminalRequest } from '../sessions/session-process.ts';
import { recordLogin } from './login-records.ts';
import { DEFAULT_SYSTEM_PATHS, type SystemPaths } from './system-paths.ts';
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
const OUTPUT_HIGH_WATER = 64 * 1024;

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

function finished(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableFinished) return resolve();
    stream.once('finish', () => resolve());
    stream.once('close', () => resolve());
    stream.once('error', () => resolve());
  });
}

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

  constructor(channel: Channel, context: SessionContext, log: ServerLogger, startProcess: ProcessStarter, extensions?: SessionExtensions) {
    this.channel = channel;
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
    channel.once('channel-closed', () => this.process?.hangUp());
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
    const started = this.process !== undefined;
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

  private start(request: SessionKind): boolean {
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
        return false;
      }
      throw error;
    }
    const what = request.kind === 'subsystem' ? `subsystem '${sanitizeForLog(request.name, 64)}'` : request.kind === 'exec' ? 'command' : 'shell';
    this.log.verbose(`Starting session: ${what}${this.terminal ? ' on a terminal' : ''} for ${this.context.account.name} from ${this.context.peer.address} port ${this.context.peer.port}${choice.forced ? ` forced-command ${choice.forced}` : ''}`);
    this.context.markInteractive?.(this.terminal !== undefined);
    const paths = this.context.paths ?? DEFAULT_SYSTEM_PATHS;
    try {
      this.process = this.startProcess(withRcFiles(choice.program, rcFilesRequest(this.context, paths, request, choice.forced, x11?.authority)));
    } catch (error) {
      // Out of descriptors or processes: this request fails, as sshd's does, and the server goes on.
      if (!(error instanceof SessionSpawnError)) throw error;
      this.log.error(`${error.message} (session for ${this.context.account.name} from ${this.context.peer.address} port ${this.context.peer.port})`);
      return false;
    }
    x11?.started(choice.program);
    // session.c check_quietlogin(): only a shell (no command, forced or not) without ~/.hushlogin is greeted.
    const quiet = request.kind !== 'shell' || choice.forced !== undefined || existsSync(join(this.context.account.home, '.hushlogin'));
    const greeting = this.login(this.process, paths, quiet);
    if (greeting !== '') this.channel.write(Buffer.from(greeting));
    this.pump(this.process);
    return true;
  }

  /**
   * session.c do_login() for a session on a terminal: lastlog, utmp and wtmp record it (and its end), and
   * an interactive login is greeted with PrintLastLog's "Last login" line, then /etc/motd (PrintMotd).
   */
  private login(process: SessionProcess, paths: SystemPaths, quiet: boolean): string {
    if (!process.terminal) return '';
    const { settings, account, peer } = this.context;
    const record = process.ttyName === undefined ? undefined : recordLogin(paths, {
      uid: account.uid, user: account.name, pid: process.pid, tty: process.ttyName,
      host: peer.address, address: peer.address, printLastLog: settings.printLastLog && !quiet,
    });
    if (record) void process.exit.then(() => record.logout());
    if (quiet) return '';
    let motd = '';
    try {
      if (settings.printMotd) motd = readFileSync(paths.motd, 'utf8').replace(/\r?\n/g, '\r\n');
    } catch {
      // No motd file: nothing to show, as sshd's do_motd.
    }
    return (record?.lastLogin ?? '') + motd;
  }

  private pump(process: SessionProcess): void {
    const channel = this.channel;
    process.input.on('error', () => {});
    process.output.on('error', () => {});
    // Client → program. On a terminal the client's EOF means nothing to the program (a pty cannot be
    // half-closed, sshd ignores it too); on pipes it closes the program's stdin.
    channel.pipe(process.input, { end: !process.terminal });

    const stdout = channelWriter(channel, false);
    process.output.pipe(stdout);
    const outputs = [finished(stdout)];
    if (process.errorOutput) {
      const stderr = channelWriter(channel, true);
      process.errorOutput.on('error', () => {});
      process.errorOutput.pipe(stderr);
      outputs.push(finished(stderr));
    }
    void process.exit.then(async (exit) => {
      await Promise.all(outputs);
      this.finish(exit);
    });
  }

  /** RFC 4254 §6.10 exit-status / exit-signal, then EOF and CLOSE (§5.3). */
  private finish(exit: ProcessExit): void {
    const channel = this.channel;
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
}
