/**
 * Connection multiplexing for `tether ssh` (ssh_config ControlMaster, ControlPath, ControlPersist; -M, -S,
 * -O), as ssh.c and mux.c arrange it. Before connecting, `muxBeforeConnect` hands the session to a running
 * master or runs a -O command; after connecting, `serveControlSocket` makes this connection a master. The
 * protocol itself is src/client/mux.
 */
import { unlinkSync } from 'node:fs';
import type { SshClient } from '../client/client.ts';
import { MuxClient, MuxProtocolError, MuxRequestError } from '../client/mux/client.ts';
import { MuxSocketError } from '../client/mux/mux-socket.ts';
import { FdPassingUnavailableError } from '../crypto/fdpass.ts';
import { ControlSocketError, MuxMaster } from '../client/mux/master.ts';
import { relayProxyClient } from '../client/mux/proxy-transport.ts';
import { EscapeFilter } from './escape-filter.ts';
import type { ClientSettings } from './ssh-settings.ts';
import type { SshInvocation } from './ssh-arguments.ts';
import { LOG, type SshLog } from './ssh-log.ts';
import { MuxFatalError, requestForwards, runMuxSession, runMuxStdioForward } from './ssh-mux-client.ts';
import { askPermission, backgroundMaster, persistRole, startPersistentMaster } from './ssh-mux-persist.ts';
import { runMuxProxySession } from './ssh-mux-proxy.ts';

const COMMANDS = ['check', 'forward', 'exit', 'stop', 'cancel', 'proxy'] as const;
type MuxCommand = (typeof COMMANDS)[number];

/** sizeof(sockaddr_un.sun_path) on Linux. */
const SUN_PATH_MAX = 108;

/** ControlPath as ssh uses it: "none" disables multiplexing. */
export function controlPath(settings: ClientSettings): string | undefined {
  const path = settings.resolved.controlPath;
  return path === undefined || path.toLowerCase() === 'none' ? undefined : path;
}

function fatal(log: SshLog, message: string): number {
  log.log(LOG.fatal, message);
  return 255;
}

/**
 * ssh.c's muxclient() step. Resolves with an exit status when a master (or a -O command) took care of
 * everything, or undefined to go on and connect; a ControlPersist master may be started in the background.
 */
export async function muxBeforeConnect(invocation: SshInvocation, settings: ClientSettings, log: SshLog): Promise<number | undefined> {
  const config = settings.resolved;
  const requested = invocation.controlCommand;
  if (requested !== undefined && !(COMMANDS as readonly string[]).includes(requested)) return fatal(log, 'Invalid multiplex command.');
  if (requested !== undefined && config.stdioForward) return fatal(log, 'Cannot specify multiplexing command with -W');
  const command = requested as MuxCommand | undefined;
  const path = controlPath(settings);
  if (command && !path) return fatal(log, 'No ControlPath specified for "-O" command');
  if (!path) return undefined;
  const role = persistRole(settings, path);
  if (role === 'background-master') {
    // This copy is the ControlPersist master: no session of its own, no stdio forward (ssh.c ssh_session2).
    settings.noSession = true;
    config.stdinNull = true;
    config.stdioForward = undefined;
    config.forkAfterAuthentication = false;
    return undefined;
  }
  const mode = config.controlMaster;
  if (mode === 'yes' || mode === 'ask') return undefined;
  if (mode === 'auto' || mode === 'autoask') log.debug?.('auto-mux: Trying existing master');
  if (Buffer.byteLength(path) >= SUN_PATH_MAX) return fatal(log, `ControlPath too long ('${path}' >= ${SUN_PATH_MAX} bytes)`);
  const status = await muxClient(path, command, settings, log);
  if (status !== undefined || role !== 'start-persistent') return status;
  return persistAndAttach(path, settings, log);
}

/** ControlPersist without a master yet: one starts in the background and this process joins it. */
async function persistAndAttach(path: string, settings: ClientSettings, log: SshLog): Promise<number> {
  const started = await startPersistentMaster();
  if (started !== 0) return started;
  const config = settings.resolved;
  // ssh.c control_persist_detach: -N or -f just leaves the master running; otherwise its session is ours.
  if ((settings.noSession && !config.stdioForward) || config.forkAfterAuthentication) return 0;
  const status = await muxClient(path, undefined, settings, log, { forwards: false });
  if (status === undefined) return fatal(log, 'Failed to connect to new control master');
  return status;
}

async function muxClient(
  path: string,
  command: MuxCommand | undefined,
  settings: ClientSettings,
  log: SshLog,
  options: { forwards: boolean } = { forwards: true },
): Promise<number | undefined> {
  const config = settings.resolved;
  let client: MuxClient;
  try {
    client = await MuxClient.connect(path);
  } catch (error) {
    if (error instanceof FdPassingUnavailableError) {
      if (command) return fatal(log, error.message);
      log.log(LOG.error, error.message);
      return undefined;
    }
    if (error instanceof MuxProtocolError) {
      log.log(LOG.error, `muxclient: ${error.message}`);
      return undefined;
    }
    if (!(error instanceof MuxSocketError)) throw error;
    if (command) return fatal(log, `Control socket connect(${path}): ${error.reason}`);
    if (error.code === 'ECONNREFUSED' && config.controlMaster !== 'no') {
      log.debug?.(`Stale control socket ${path}, unlinking`);
      try {
        unlinkSync(path);
      } catch {
        // Gone already.
      }
    } else if (error.code === 'ENOENT') {
      log.debug?.(`Control socket "${path}" does not exist`);
    } else {
      log.log(LOG.error, `Control socket connect(${path}): ${error.reason}`);
    }
    return undefined;
  }
  try {
    return await runCommand(client, command, settings, log, options.forwards);
  } catch (error) {
    if (error instanceof MuxFatalError || error instanceof MuxProtocolError) return fatal(log, error.message);
    if (error instanceof MuxRequestError) return fatal(log, error.message);
    throw error;
  } finally {
    client.close();
  }
}

async function runCommand(client: MuxClient, command: MuxCommand | undefined, settings: ClientSettings, log: SshLog, forwards: boolean): Promise<number | undefined> {
  const quiet = settings.logLevel === LOG.quiet;
  switch (command) {
    case 'check': {
      const pid = await client.aliveCheck().catch(() => {
        throw new MuxFatalError('muxclient: master alive check failed');
      });
      process.stderr.write(`Master running (pid=${pid})\r\n`);
      return 0;
    }
    case 'exit':
      try {
        await client.terminate();
      } catch (error) {
        if (error instanceof MuxRequestError && error.denied) throw new MuxFatalError(`Master refused termination request: ${error.reason}`);
        if (error instanceof MuxRequestError) throw new MuxFatalError(`mux_client_request_terminate: termination request failed: ${error.reason}`);
        throw error;
      }
      if (!quiet) process.stderr.write('Exit request sent.\r\n');
      return 0;
    case 'stop':
      try {
        await client.stopListening();
      } catch (error) {
        if (error instanceof MuxRequestError && error.denied) throw new MuxFatalError(`Master refused stop listening request: ${error.reason}`);
        if (error instanceof MuxRequestError) throw new MuxFatalError(`mux_client_request_stop_listening: stop listening request failed: ${error.reason}`);
        throw error;
      }
      if (!quiet) process.stderr.write('Stop listening request sent.\r\n');
      return 0;
    case 'forward':
      if (!(await requestForwards(client, settings, false, log, true))) throw new MuxFatalError('muxclient: master forward request failed');
      return 0;
    case 'cancel':
      if (!(await requestForwards(client, settings, true, log, false))) log.log(LOG.error, 'muxclient: master cancel forward request failed');
      return 0;
    case 'proxy':
      return runMuxProxySession(await client.proxy(), settings, log);
    case undefined:
      if (settings.resolved.stdioForward) return runMuxStdioForward(client, settings, log);
      if (forwards && !(await requestForwards(client, settings, false, log, false))) {
        log.log(LOG.error, 'muxclient: master forward request failed');
        return undefined;
      }
      return runMuxSession(client, settings, log);
  }
}

export interface ControlMaster {
  readonly master: MuxMaster;
  /** Resolves once the connection is over, mux clients included: ssh exits only then. */
  readonly finished: Promise<void>;
  /** Stops serving (the connection is ending). */
  close(): void;
}

/** What `serveControlSocket` needs besides the connection. */
export interface ControlContext {
  log: SshLog;
  requestX11?: Parameters<typeof MuxMaster.listen>[0]['requestX11'];
  /** The master's own forwards (its command line and config), which -O cancel may name too. */
  cancelOwn?: Parameters<typeof MuxMaster.listen>[0]['cancelOwn'];
}

/**
 * ssh.c muxserver_listen (ssh_session2): with ControlMaster set, this connection serves mux clients until
 * it ends. ssh keeps the connection for them after its own session is over (clientloop.c: the loop ends
 * only when no channel is open), so ending the client is deferred while any remains.
 */
export async function serveControlSocket(client: SshClient, settings: ClientSettings, context: ControlContext): Promise<ControlMaster | undefined> {
  const config = settings.resolved;
  const path = controlPath(settings);
  if (!path || config.controlMaster === 'no') return undefined;
  const { log } = context;
  // The background ControlPersist copy tells the foreground once the socket listens.
  const persistent = backgroundMaster();
  log.debug?.('setting up multiplex master socket');
  const ask = config.controlMaster === 'ask' || config.controlMaster === 'autoask';
  const persistSeconds = typeof config.controlPersist === 'number' ? config.controlPersist : 0;
  const end = client.end.bind(client);
  let master: MuxMaster;
  let ending = false;
  let persistTimer: NodeJS.Timeout | undefined;
  // A persistent master or one without a session of its own ends when its last client does, once stopped.
  let stopped = false;
  const endWhenIdle = () => {
    if (master.connectionCount === 0) end();
  };
  const onActivity = (connections: number) => {
    clearTimeout(persistTimer);
    if (connections > 0) return;
    if (ending || stopped) end();
    else if (persistSeconds > 0 && persistent) {
      // clientloop.c set_control_persist_exit_time: the countdown runs while no client is connected.
      log.debug?.(`schedule exit in ${persistSeconds} seconds`);
      persistTimer = setTimeout(() => {
        log.debug?.('ControlPersist timeout expired');
        end();
      }, persistSeconds * 1000);
    }
  };
  try {
    master = await MuxMaster.listen({
      path,
      client,
      host: config.hostname,
      confirm: ask ? (question) => askPermission(question) : undefined,
      sendEnv: config.sendEnv,
      forwardAgent: config.forwardAgent !== false,
      requestX11: context.requestX11,
      cancelOwn: context.cancelOwn,
      filterInput: (input, escapeChar, controls) => input.pipe(muxEscapeFilter(escapeChar, controls)),
      gatewayPorts: config.gatewayPorts,
      streamLocalBindMask: config.streamLocalBindMask,
      streamLocalBindUnlink: config.streamLocalBindUnlink,
      error: (message) => log.log(LOG.error, message),
      debug: log.debug,
      onTerminate: () => {
        master.close();
        end();
      },
      onStopListening: () => {
        if (config.controlPersist !== false || settings.noSession) {
          stopped = true;
          endWhenIdle();
        }
      },
      onActivity,
      onProxy: (socket) => relayProxyClient(socket, client, log.debug),
    });
  } catch (error) {
    if (!(error instanceof ControlSocketError || error instanceof FdPassingUnavailableError)) throw error;
    log.log(LOG.error, error.message);
    return undefined;
  }
  client.end = () => {
    ending = true;
    endWhenIdle();
  };
  const removeSocket = () => master.close();
  process.once('exit', removeSocket);
  void client.closed.then(() => {
    clearTimeout(persistTimer);
    master.close();
  });
  onActivity(0);
  persistent?.ready();
  return {
    master,
    finished: client.closed.then(() => undefined),
    close: () => {
      process.off('exit', removeSocket);
      master.close();
    },
  };
}

/** clientloop.c's escape handling for mux sessions: `~.` ends that session only; suspend and -v are refused. */
function muxEscapeFilter(escapeChar: number, controls: { close(): void; print(text: string): void }): EscapeFilter {
  const e = String.fromCharCode(escapeChar);
  return new EscapeFilter(e, {
    disconnect: () => {
      controls.print(`${e}.\r\n`);
      controls.close();
    },
    help: (text) => controls.print(text),
  });
}
