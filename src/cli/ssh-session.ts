/**
 * The session part of `tether ssh`: stdio piped byte-exact to a remote command, or an interactive terminal
 * in raw mode with window-size changes forwarded and ssh's escape sequences (~. ~? ~~), the terminal restored
 * on every exit path. Returns ssh's exit status: the remote one, or 255 when none was reported.
 */
import type { SshClient } from '../client/client.ts';
import type { Session } from '../client/session.ts';
import { acceptForwardedAgent, requestAgentForwarding } from '../client/agent-forwarding.ts';
import { localTerminalModes } from '../client/terminal-modes.ts';
import { startX11Forwarding, type X11Forwarding } from '../client/x11-forwarding.ts';
import { forwardAgentSocketPath } from '../agent/index.ts';
import { enterRawMode } from './ssh-terminal.ts';
import { createStdoutSink } from './stdout-writer.ts';
import { consumeInto } from '../connection/descriptor-writes.ts';
import { feedStdin } from './stdin-feed.ts';
import { sendBorrowedReads } from '../connection/borrowed-reads.ts';
import type { ClientSettings } from './ssh-settings.ts';
import type { ActiveForwarding } from './ssh-forwarding.ts';
import { holdOrStart } from '../client/open-persistent-session.ts';
import { reconnectPolicy, runHeldSession, sessionDropMessage, type ResumeSettings } from './ssh-resume.ts';

export interface SessionOptions {
  command: string | undefined;
  /** Run `command` as a subsystem name (-s). */
  subsystem: boolean;
  /** RequestTTY: no, yes, force, auto. */
  requestTty: 'no' | 'yes' | 'force' | 'auto';
  noCommand: boolean;
  stdinNull: boolean;
  env: Record<string, string>;
  /** EscapeChar: a character, or undefined for none. */
  escapeChar: string | undefined;
  /** Runs a `~C` command line (forwarding changes); undefined when EnableEscapeCommandline is off. */
  escapeCommandLine?: (line: string) => Promise<string>;
  host: string;
  /** Ask the server for agent forwarding in this session (-A). */
  forwardAgent?: boolean;
  /** The local agent's socket the forwarded agent channels go to: a held session asks again on each resume. */
  agentSocket?: string;
  /** X11 forwarding to request in this session (-X/-Y), set up by startX11Forwarding. */
  x11?: X11Forwarding;
  /** IPQoS: the type of service for an interactive session (a PTY or X11) and for any other. */
  ipqos?: { interactive: number; bulk: number };
  log: (level: number, message: string) => void;
  /** Persistent sessions (Session, SessionResume): a Tether server is asked to hold the session (ssh-resume.ts). */
  resume?: ResumeSettings;
  /** No ServerAliveInterval configured: a held session still needs a dead link noticed (DEFAULT_HELD_KEEPALIVE). */
  defaultKeepalive?: boolean;
  /** A held session resumed on a new connection (the forwards carry on over it). */
  onResumed?: (client: SshClient) => void;
}

/** ServerAliveInterval / ServerAliveCountMax for a held session when none is configured: a silent drop is noticed in a minute. */
export const DEFAULT_HELD_KEEPALIVE = { interval: 15, countMax: 3 } as const;

/**
 * Agent (-A) and X11 (-X/-Y) forwarding for the session, set up alike on our own connection and through a
 * master's (-O proxy, where the master hands the server's agent and x11 channels back to us): the channel
 * handlers are installed here, the requests go on the session.
 */
export async function sessionForwards(
  client: SshClient,
  settings: ClientSettings,
  log: (level: number, message: string) => void,
  debug: ((message: string) => void) | undefined,
): Promise<Pick<SessionOptions, 'forwardAgent' | 'agentSocket' | 'x11'>> {
  const config = settings.resolved;
  const agentSocket = forwardAgentSocketPath(config.forwardAgent);
  if (agentSocket) acceptForwardedAgent(client, agentSocket);
  // -X/-Y: cookies from xauth and the x11 channel handler (x11-forwarding.ts); x11-req goes on the session.
  const x11 = config.forwardX11 && !settings.noSession
    ? await startX11Forwarding(client, {
      display: process.env.DISPLAY,
      xauthLocation: config.options.xauthLocation ?? '/usr/bin/xauth',
      trusted: config.forwardX11Trusted,
      timeoutSeconds: config.forwardX11Timeout,
      log,
      debug,
    })
    : undefined;
  return { forwardAgent: agentSocket !== undefined, agentSocket, x11 };
}

/**
 * The session the settings ask for (command or subsystem, TTY, environment, escapes), the same whether it
 * runs on our own connection or through a master's (-O proxy); agent and X11 forwarding are added by the
 * caller that set them up.
 */
export function sessionOptions(settings: ClientSettings, forwarding: ActiveForwarding, log: SessionOptions['log']): SessionOptions {
  const config = settings.resolved;
  return {
    command: settings.command,
    subsystem: settings.subsystem,
    requestTty: config.requestTTY,
    noCommand: settings.noSession,
    stdinNull: config.stdinNull,
    env: settings.environment,
    escapeChar: config.escapeChar,
    escapeCommandLine: config.enableEscapeCommandline ? forwarding.commandLine : undefined,
    host: config.hostname,
    ipqos: config.ipqos,
    log,
  };
}

const INFO = 3;

/** ssh.c's decision: a PTY when asked, or for a login shell on a terminal; never without a terminal unless forced. */
function wantsTty(options: SessionOptions): boolean {
  let tty = options.requestTty === 'yes' || options.requestTty === 'force' || (options.requestTty === 'auto' && !options.command);
  if (tty && !process.stdin.isTTY && options.requestTty !== 'force') {
    if (options.requestTty === 'yes') options.log(INFO, 'Pseudo-terminal will not be allocated because stdin is not a terminal.');
    tty = false;
  }
  return tty;
}

/**
 * Our stdout failed (the reader went away: EPIPE). As ssh (nchan.c chan_write_failed), the server is told
 * that no more output is wanted (eow@openssh.com, PROTOCOL §2.1: OpenSSH's sshd then closes the command's
 * output, so its next write gets SIGPIPE; other servers ignore it) and what is already on the way is
 * discarded, so that the session still ends with the command's status.
 */
function stopOutput(session: Session): void {
  void session.channel.request('eow@openssh.com', Buffer.alloc(0), false);
  session.channel.resume();
}

/** A held session's SSH_AUTH_SOCK leads to the agent of the connection it runs on: -A is asked again on each. */
function agentOnResume(options: SessionOptions): ((client: SshClient, session: Session) => void) | undefined {
  const socket = options.agentSocket;
  if (!options.forwardAgent || socket === undefined) return undefined;
  return (client, session) => {
    acceptForwardedAgent(client, socket);
    requestAgentForwarding(session);
  };
}

/** stdin into the session's channel (stdin-feed.ts). */
function feedChannel(session: Session, client: SshClient, tty: boolean, options: SessionOptions): () => void {
  return feedStdin(tty, options, {
    stream: session.channel,
    takeBorrowed: (reads) => void sendBorrowedReads(session.channel, reads).then(() => session.channel.end()),
    disconnect: () => {
      // The channel first: a server that holds sessions then ends this one, as a plain sshd would (PROTOCOL.sessions §8).
      session.channel.close();
      client.end();
    },
  });
}

export async function runInteractiveSession(client: SshClient, options: SessionOptions): Promise<number> {
  if (options.noCommand) {
    // -N: no session, the connection stays up for forwardings until it closes.
    const error = await client.closed;
    return error ? 255 : 0;
  }
  const tty = wantsTty(options);
  // ssh.c ssh_session2_setup: interactive when a PTY or X11 is in use, bulk otherwise.
  if (options.ipqos) client.setTypeOfService(tty || options.x11 ? options.ipqos.interactive : options.ipqos.bulk);
  const session: Session = await client.session();
  // ssh's order (ssh.c ssh_session2_setup): x11-req, then agent forwarding, then pty, env and the command.
  options.x11?.request(session);
  if (options.forwardAgent) requestAgentForwarding(session);
  for (const [name, value] of Object.entries(options.env)) await session.setEnv(name, value);
  if (tty) {
    await session.requestPty({
      term: process.env.TERM ?? 'vt100',
      columns: process.stdout.columns ?? 80,
      rows: process.stdout.rows ?? 24,
      // The local terminal's settings, as ssh sends them (ttymodes.c); conventional ones without a terminal.
      modes: localTerminalModes(),
    });
  }
  // Persistent sessions: a Tether server holds the session (subsystems never); any other keeps the plain path.
  const resume = options.resume;
  let started = false;
  if (resume && !options.subsystem && (resume.enabled || resume.name !== undefined)) {
    // hold@ and exec / shell in one round trip; unheld, the command is already running as an ordinary session.
    const held = await holdOrStart(client, session, {
      name: resume.name ?? '',
      command: options.command,
      connect: resume.reconnect,
      reconnect: reconnectPolicy(resume),
      prepareResume: agentOnResume(options),
    });
    if (held) {
      if (options.defaultKeepalive) client.startKeepalive(DEFAULT_HELD_KEEPALIVE.interval, DEFAULT_HELD_KEEPALIVE.countMax, options.host);
      return runHeldSession(held, {
        host: options.host,
        tty,
        stdinNull: options.stdinNull,
        escapeChar: options.escapeChar,
        escapeCommandLine: options.escapeCommandLine,
        showStatus: resume.showStatus,
        log: options.log,
        onResumed: options.onResumed,
      });
    }
    started = true;
  }
  if (!started) {
    if (options.subsystem && options.command) await session.subsystem(options.command);
    else if (options.command) await session.exec(options.command);
    else await session.shell();
  }

  const restoreTerminal = tty ? enterRawMode() : () => {};
  const onResize = () => session.windowChange({ columns: process.stdout.columns ?? 80, rows: process.stdout.rows ?? 24 });
  if (tty) process.stdout.on('resize', onResize);

  const stopInput = feedChannel(session, client, tty, options);
  // Asynchronous and back-pressured: the channel is read as fast as stdout drains (stdout-writer.ts).
  const stdout = createStdoutSink();
  stdout.stream.on('error', () => stopOutput(session));
  if (!consumeInto(session.channel, stdout.stream)) session.channel.pipe(stdout.stream, { end: false });
  session.stderr.pipe(process.stderr, { end: false });

  const channelDone = new Promise<void>((resolve) => {
    let ended = 0;
    const onEnd = () => ++ended === 2 && resolve();
    session.channel.once('end', onEnd);
    session.stderr.once('end', onEnd);
    void client.closed.then(() => resolve());
  });
  const [status] = await Promise.all([session.exit, channelDone]);
  if (tty) process.stdout.off('resize', onResize);
  restoreTerminal();
  // The process ends with _exit(2) (exit.ts): every byte must have left first.
  await stdout.flushed();
  if (tty) options.log(INFO, `Connection to ${options.host} closed.`);
  client.end();
  stopInput();
  if (status.code !== undefined) return status.code;
  const error = await Promise.race([client.closed, Promise.resolve(null)]);
  if (status.signal === undefined && error) {
    const dropped = sessionDropMessage(error, options.host);
    if (dropped === undefined) throw error;
    options.log(2, dropped);
  }
  return 255;
}
