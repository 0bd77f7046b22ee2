/**
 * A passenger session run by the master for a mux client (PROTOCOL.mux §2, mux.c mux_session_confirm): a
 * session channel whose stdin/stdout/stderr are the descriptors the client passed, its exit status reported
 * with MUX_S_EXIT_MESSAGE, and a failed pty request with MUX_S_TTY_ALLOC_FAIL. Stdio forwards (§3) are the
 * same with a direct-tcpip channel and no stderr.
 */
import type { Readable } from 'node:stream';
import type { SshClient } from '../client.ts';
import { Session } from '../session.ts';
import type { Channel } from '../../connection/channel.ts';
import { requestAgentForwarding } from '../agent-forwarding.ts';
import { localTerminalModes } from '../terminal-modes.ts';
import { closeWhenBothEnded } from '../../connection/socket-bridge.ts';
import { openPassedInput, openPassedOutput, type PassedInput, type PassedOutput } from './passed-fds.ts';
import type { MuxServerMessage, MuxSessionRequest } from './protocol.ts';

type Reply = Exclude<MuxServerMessage, { type: 'unknown' }>;

/** What the master's configuration adds to a passenger session. */
export interface PassengerPolicy {
  /** ForwardAgent on the master: a client's "want agent" is honoured only then (mux.c). */
  forwardAgent: boolean;
  /** ForwardX11 on the master: asks for X11 forwarding on the session. */
  requestX11?: (session: Session) => void;
  /**
   * Wraps a tty session's input with the escape-character handling mux clients get (clientloop.c
   * client_simple_escape_filter); `close` ends this session only.
   */
  filterInput?: (input: Readable, escapeChar: number, controls: { close(): void; print(text: string): void }) => Readable;
  debug?: (message: string) => void;
}

export interface Passenger {
  /** The session id reported to the client (the channel's number, as mux.c uses c->self). */
  readonly id: number;
  /** Resolves once the channel is closed and the client's descriptors are flushed and closed. */
  readonly done: Promise<void>;
  /** The control connection went away: end the channel, as mux_master_control_cleanup_cb does. */
  abandon(): void;
  /** SIGWINCH in the master: report the client terminal's new size. */
  windowChanged(): void;
}

function closeAll(input: PassedInput | undefined, outputs: PassedOutput[]): Promise<void> {
  input?.close();
  return Promise.all(outputs.map((output) => output.close())).then(() => undefined);
}

/** Resolves once every stream has delivered its last byte (or was destroyed). */
function delivered(streams: Readable[]): Promise<void> {
  return Promise.all(
    streams.map((stream) => new Promise<void>((resolve) => {
      if (stream.readableEnded || stream.destroyed) resolve();
      else stream.once('end', resolve).once('close', resolve);
    })),
  ).then(() => undefined);
}

/** Once the channel is closed and its output has reached the client's descriptors, closes them. */
function settle(channel: Channel, input: PassedInput, outputs: PassedOutput[]): Promise<void> {
  // The close may already have come, in the same read as the reply we awaited before getting here.
  return new Promise<void>((resolve) => {
    if (channel.fullyClosed) resolve();
    else channel.once('channel-closed', resolve);
  })
    .then(() => delivered([channel, channel.stderr]))
    .then(() => closeAll(input, outputs));
}

/**
 * Opens the session for a MUX_C_NEW_SESSION request. Replies (SESSION_OPENED or FAILURE) go out through
 * `reply`; later messages (TTY_ALLOC_FAIL, EXIT_MESSAGE) through `notify`.
 */
export async function startPassengerSession(
  client: SshClient,
  request: MuxSessionRequest,
  fds: number[],
  policy: PassengerPolicy,
  notify: (message: Reply) => void,
): Promise<Passenger | { failure: string }> {
  const input = openPassedInput(fds[0]!);
  const stdout = openPassedOutput(fds[1]!);
  const stderr = openPassedOutput(fds[2]!);
  let session: Session;
  try {
    session = await client.session();
  } catch {
    await closeAll(input, [stdout, stderr]);
    return { failure: 'Session open refused by peer' };
  }
  const channel = session.channel;
  const id = channel.localId;
  // mux_session_confirm's order: x11, agent, then client_session2_setup (pty, env, command).
  if (request.x11) policy.requestX11?.(session);
  if (request.agent && policy.forwardAgent) requestAgentForwarding(session);
  const size = () => ({ columns: stdout.tty?.columns ?? 80, rows: stdout.tty?.rows ?? 24 });
  let lastSize = size();
  if (request.tty) {
    try {
      // mux.c reads the client's terminal settings from the stdin it passed (tcgetattr on new_fd[0]).
      const modes = input.isTty ? localTerminalModes(fds[0]!, true) : undefined;
      await session.requestPty({ term: request.term || 'vt100', ...lastSize, modes });
    } catch {
      notify({ type: 'tty-alloc-fail', sessionId: id });
    }
  }
  for (const variable of request.env) {
    const equals = variable.indexOf('=');
    if (equals > 0) void session.setEnv(variable.slice(0, equals), variable.slice(equals + 1));
  }
  try {
    if (request.subsystem) await session.subsystem(request.command);
    else if (request.command) await session.exec(request.command);
    else await session.shell();
  } catch (error) {
    policy.debug?.(`${(error as Error).message} on channel ${id}`);
    channel.close();
  }

  let source: Readable = input.stream;
  if (request.tty && request.escapeChar !== undefined && policy.filterInput) {
    source = policy.filterInput(input.stream, request.escapeChar, {
      close: () => channel.close(),
      print: (text) => stderr.stream.write(text),
    });
  }
  source.pipe(channel);
  channel.pipe(stdout.stream, { end: false });
  channel.stderr.pipe(stderr.stream, { end: false });
  // Only exit-status is passed on (clientloop.c client_input_channel_req); a signal leaves 255 to the client.
  const passExit = (status: { code?: number } | undefined) => {
    if (status?.code !== undefined) notify({ type: 'exit-message', sessionId: id, exitValue: status.code });
  };
  // A quick command's output, exit-status and CLOSE can arrive in the same read as the exec reply, before
  // the await above resumed. Then the status is already recorded: it goes out after SESSION_OPENED, which the
  // caller writes before this tick ends.
  // `done` waits for that too: the master closes the client's connection once done, and under load the
  // close would otherwise overtake the deferred EXIT_MESSAGE (the client then says "Control master
  // terminated unexpectedly" and exits 255). An exit-status arriving later always precedes CLOSE.
  let exitPassed = Promise.resolve();
  if (channel.exitStatus !== undefined) {
    exitPassed = new Promise((resolve) => setImmediate(() => {
      passExit(channel.exitStatus);
      resolve();
    }));
  } else channel.once('exit', passExit);
  const done = Promise.all([settle(channel, input, [stdout, stderr]), exitPassed]).then(() => {
    source.unpipe(channel);
  });
  return {
    id,
    done,
    abandon: () => channel.close(),
    windowChanged: () => {
      if (!request.tty || !stdout.tty) return;
      // Node refreshes a tty stream's size on SIGWINCH only for its own stdout; this one is the client's.
      (stdout.tty as unknown as { _refreshSize?: () => void })._refreshSize?.();
      const [columns, rows] = stdout.tty.getWindowSize();
      if (columns === lastSize.columns && rows === lastSize.rows) return;
      lastSize = { columns, rows };
      session.windowChange(lastSize);
    },
  };
}

/** Opens a direct-tcpip channel for MUX_C_NEW_STDIO_FWD (§3) with the client's stdin and stdout. */
export async function startStdioForward(client: SshClient, host: string, port: number, fds: number[]): Promise<Passenger | { failure: string }> {
  const input = openPassedInput(fds[0]!);
  const output = openPassedOutput(fds[1]!);
  let channel: Channel;
  try {
    channel = await client.openDirect(host, port);
  } catch {
    await closeAll(input, [output]);
    return { failure: 'Session open refused by peer' };
  }
  input.stream.pipe(channel);
  channel.pipe(output.stream, { end: false });
  closeWhenBothEnded(channel);
  return { id: channel.localId, done: settle(channel, input, [output]), abandon: () => channel.close(), windowChanged: () => {} };
}
