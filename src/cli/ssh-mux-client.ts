/**
 * `tether ssh` as a mux client (mux.c muxclient and mux_client_request_*): a session or stdio forward handed
 * to a running ControlMaster with our stdin/stdout/stderr, and the -O commands, with ssh's messages and
 * exit statuses. A session comes back with the remote exit status (255 when the master sent none).
 */
import { closeSync, openSync } from 'node:fs';
import { isatty } from 'node:tty';
import type { ForwardSpec } from '../config/ssh/index.ts';
import { MuxClient, MuxProtocolError, MuxRequestError } from '../client/mux/client.ts';
import { MUX_FWD, MUX_PORT_STREAMLOCAL, type MuxForward } from '../client/mux/protocol.ts';
import type { ClientSettings } from './ssh-settings.ts';
import type { SshLog } from './ssh-log.ts';
import { LOG } from './ssh-log.ts';
import { enterRawMode } from './ssh-terminal.ts';

/** A fatal() in mux.c: the message is printed and ssh exits 255. */
export class MuxFatalError extends Error {
  override readonly name = 'MuxFatalError';
}

/** mux_client_forward's encoding of a configured forward (listen host "" = default, "*" = every address). */
export function muxForward(spec: ForwardSpec, kind: number): MuxForward {
  const listen = spec.listen;
  const listenHost = 'path' in listen ? listen.path : listen.host === undefined ? '' : listen.host === '' ? '*' : listen.host;
  const listenPort = 'path' in listen ? MUX_PORT_STREAMLOCAL : listen.port;
  const connect = spec.connect;
  const connectHost = connect === undefined ? '' : 'path' in connect ? connect.path : connect.host;
  const connectPort = connect === undefined ? 0 : 'path' in connect ? MUX_PORT_STREAMLOCAL : connect.port;
  return { kind: kind as MuxForward['kind'], listenHost, listenPort, connectHost, connectPort };
}

/** mux_client_forwards: every -L/-D, then every -R. Resolves false when any failed. */
export async function requestForwards(client: MuxClient, settings: ClientSettings, cancel: boolean, log: SshLog, printPorts: boolean): Promise<boolean> {
  const config = settings.resolved;
  const all = [
    ...config.localForwards.map((spec) => muxForward(spec, MUX_FWD.LOCAL)),
    ...config.dynamicForwards.map((spec) => muxForward(spec, MUX_FWD.DYNAMIC)),
    ...config.remoteForwards.map((spec) => muxForward(spec, MUX_FWD.REMOTE)),
  ];
  let ok = true;
  for (const forward of all) {
    try {
      const port = await client.forward(forward, cancel);
      if (port !== undefined) {
        log.log(LOG.verbose, `Allocated port ${port} for remote forward to ${forward.connectHost}:${forward.connectPort}`);
        if (printPorts) process.stdout.write(`${port}\n`);
      }
    } catch (error) {
      if (!(error instanceof MuxRequestError)) throw error;
      log.log(LOG.error, error.denied ? `Master refused forwarding request: ${error.reason}` : `mux_client_forward: forwarding request failed: ${error.reason}`);
      ok = false;
    }
  }
  return ok;
}

/** ssh.c's tty_flag for a mux session: as for a direct one, but never without a terminal unless forced. */
export function muxWantsTty(settings: ClientSettings, log: SshLog): boolean {
  const config = settings.resolved;
  const requestTty = config.requestTTY;
  let tty = requestTty === 'yes' || requestTty === 'force';
  if (settings.command === undefined) tty = requestTty !== 'no';
  if (requestTty === 'no' || settings.noSession) tty = false;
  if ((!isatty(0) || config.stdinNull) && requestTty !== 'force') {
    if (tty) log.log(LOG.info, 'Pseudo-terminal will not be allocated because stdin is not a terminal.');
    tty = false;
  }
  return tty;
}

/** mux_client_request_session; undefined when ssh would fall back to a connection of its own. */
export async function runMuxSession(client: MuxClient, settings: ClientSettings, log: SshLog): Promise<number | undefined> {
  const config = settings.resolved;
  let masterPid: number;
  try {
    masterPid = await client.aliveCheck();
  } catch {
    log.log(LOG.error, 'mux_client_request_session: master alive request failed');
    return undefined;
  }
  const tty = muxWantsTty(settings, log);
  const stdin = config.stdinNull ? openSync('/dev/null', 'r') : 0;
  const env = Object.entries(settings.environment).map(([name, value]) => `${name}=${value}`);
  const term = settings.environment.TERM || process.env.TERM || '';
  let sessionId: number;
  try {
    sessionId = await client.openSession({
      tty,
      x11: config.forwardX11,
      agent: config.forwardAgent !== false,
      subsystem: settings.subsystem,
      escapeChar: config.escapeChar === undefined ? undefined : config.escapeChar.charCodeAt(0),
      term,
      command: settings.command ?? '',
      env,
    }, [stdin, 1, 2]);
  } catch (error) {
    if (error instanceof MuxRequestError) {
      log.log(LOG.error, error.denied ? `Master refused session request: ${error.reason}` : `mux_client_request_session: session request failed: ${error.reason}`);
      return undefined;
    }
    if (error instanceof MuxProtocolError) {
      log.log(LOG.error, `mux_client_request_session: ${error.message}`);
      return undefined;
    }
    throw error;
  } finally {
    // The master holds its own copy now.
    if (stdin !== 0) closeSync(stdin);
  }
  log.debug?.(`mux_client_request_session: master session id: ${sessionId}`);
  return waitAsPassenger(client, sessionId, masterPid, tty, config.hostname, log, settings.logLevel);
}

/** Sits out the session: signals end it, window changes go to the master, the exit value comes back. */
async function waitAsPassenger(client: MuxClient, sessionId: number, masterPid: number, tty: boolean, host: string, log: SshLog, logLevel: number): Promise<number> {
  let signalled: string | undefined;
  const onSignal = (signal: string) => {
    signalled = signal;
    client.close();
  };
  const signals = ['SIGHUP', 'SIGINT', 'SIGTERM'] as const;
  for (const signal of signals) process.on(signal, onSignal);
  // mux.c control_client_sigrelay: the master reads the new size from the terminal it was passed.
  const relayWinch = () => {
    try {
      process.kill(masterPid, 'SIGWINCH');
    } catch {
      // The master is gone; the session ends with it.
    }
  };
  process.on('SIGWINCH', relayWinch);
  let restoreTerminal = tty ? enterRawMode() : () => {};
  let exitValue: number | undefined;
  try {
    exitValue = await client.waitForExit(sessionId, () => {
      restoreTerminal();
      restoreTerminal = () => {};
    });
  } catch (error) {
    if (!(error instanceof MuxProtocolError)) throw error;
    if (!signalled) log.log(LOG.fatal, `mux_client_request_session: ${error.message}`);
  } finally {
    client.close();
    restoreTerminal();
    for (const signal of signals) process.off(signal, onSignal);
    process.off('SIGWINCH', relayWinch);
  }
  if (signalled) log.log(LOG.debug2, `debug2: Exiting on signal: ${signalled}`);
  else if (exitValue === undefined) log.log(LOG.debug2, 'debug2: Control master terminated unexpectedly');
  if (tty && logLevel >= LOG.info) process.stderr.write(`Shared connection to ${host} closed.\r\n`);
  return signalled || exitValue === undefined ? 255 : exitValue;
}

/** mux_client_request_stdio_fwd (-W over the master): stdin and stdout go to the master; ends at its EOF. */
export async function runMuxStdioForward(client: MuxClient, settings: ClientSettings, log: SshLog): Promise<number | undefined> {
  const config = settings.resolved;
  const target = config.stdioForward!;
  try {
    await client.aliveCheck();
  } catch {
    log.log(LOG.error, 'mux_client_request_stdio_fwd: master alive request failed');
    return undefined;
  }
  const stdin = config.stdinNull ? openSync('/dev/null', 'r') : 0;
  try {
    await client.openStdioForward(target.host, target.port, [stdin, 1]);
  } catch (error) {
    if (error instanceof MuxRequestError) {
      throw new MuxFatalError(error.denied ? `Master refused stdio forwarding request: ${error.reason}` : `Stdio forwarding request failed: ${error.reason}`);
    }
    throw error;
  } finally {
    if (stdin !== 0) closeSync(stdin);
  }
  const onSignal = () => client.close();
  for (const signal of ['SIGHUP', 'SIGINT', 'SIGTERM'] as const) process.on(signal, onSignal);
  try {
    const message = await client.read();
    if (message) throw new MuxFatalError(`mux_client_request_stdio_fwd: master returned unexpected message ${message.type}`);
  } finally {
    client.close();
  }
  return 0;
}
