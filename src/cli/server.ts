/**
 * `tether server`: sshd(8)'s command line over the library server (flags in server-flags.ts).
 *
 *   tether server [-46DdeiqTtV] [-C spec] [-E log_file] [-f config_file] [-g grace] [-h host_key_file]
 *                 [-o option] [-p port]
 *   tether server passwd USER      set USER's password in the embedded password file
 *
 * As sshd: without -D or -d the server detaches into the background and writes its PidFile once it
 * listens (server-daemon.ts); -D stays in the foreground; -d is debug mode (foreground, one connection, log on
 * stderr, no pid file); -i serves one connection on stdin/stdout (inetd, or `ProxyCommand tether server -i`).
 * Logs go to the -E file when given, else to stderr in the foreground; a daemon or inetd server without -e
 * or -E has no log, where sshd would use syslog.
 *
 * Without -f the embedded default is used: ./.state/sshd_config when it exists (`tether demo` writes it),
 * else the built-in default configuration (loopback only, host keys and pid file in ./.state).
 *
 * Passwords are checked against the system (/etc/shadow, through crypt(3)) when the server runs as root
 * with an explicit -f configuration, and against the embedded password file (./.state/passwd, or
 * $TETHER_PASSWORD_FILE) otherwise.
 *
 * The system files sessions use can be moved (for tests): $TETHER_SSHRC (/etc/ssh/sshrc), $TETHER_MOTD
 * (/etc/motd), $TETHER_LASTLOG (/var/log/lastlog), $TETHER_WTMP (/var/log/wtmp), $TETHER_UTMP (/run/utmp).
 */
import { existsSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { resolve, join } from 'node:path';
import { Duplex } from 'node:stream';
import {
  checkSshdConfig,
  dashTSettings,
  formatDashT,
  loadSshdConfig,
  parseSshdConfigText,
  ConnectionSpecError,
  SshdConfigError,
  type SshdConfig,
  type SshdConfigOverrides,
} from '../config/sshd/index.ts';
import {
  createServer,
  createLogger,
  installLastResortGuard,
  defaultConfigText,
  hostKeyTypeFromName,
  loadHostKeys,
  streamEndpoints,
  systemPathsFromEnvironment,
  HostKeyError,
  LogFileError,
  runningAsRoot,
  type LogDestination,
  type Server,
  type ServerLogger,
} from '../server/index.ts';
import { AlgorithmConfigError } from '../server/algorithms.ts';
import type { PasswordVerifier } from '../auth/server-password.ts';
import { SystemPasswordVerifier } from '../auth/server-password-system.ts';
import { PasswordFileVerifier } from '../auth/server-password-file.ts';
import { SOFTWARE_VERSION } from '../transport/version.ts';
import { daemonize, isDaemonChild, removePidFile, reportToParent, writePidFile } from './server-daemon.ts';
import { flagLogLevel, parseServerFlags, type ServerFlags } from './server-flags.ts';
import { passwdMain } from './server-passwd.ts';

export const DEFAULT_PORT = 2222;

/** The embedded default's state directory: ./.state, or $TETHER_STATE_DIR. */
export function stateDirectory(): string {
  return resolve(process.env.TETHER_STATE_DIR ?? '.state');
}

export function passwordFilePath(): string {
  return resolve(process.env.TETHER_PASSWORD_FILE ?? join(stateDirectory(), 'passwd'));
}

export interface ConfigChoice {
  config: SshdConfig;
  /** True for the embedded default (no -f): passwords then come from the password file. */
  embedded: boolean;
}

/** Reads the configuration as `tether server` chooses it. Throws SshdConfigError like sshd's. */
export function loadServerConfig(file: string | undefined, overrides: SshdConfigOverrides): ConfigChoice {
  if (file !== undefined) return { config: loadSshdConfig(file, overrides), embedded: false };
  const stateConfig = join(stateDirectory(), 'sshd_config');
  if (existsSync(stateConfig)) {
    // A state file written before it named its own PidFile must still not take the system sshd's.
    const text = readFileSync(stateConfig, 'utf8');
    const pidFile = /^\s*pidfile\s/im.test(text) ? [] : [`PidFile ${join(stateDirectory(), 'tether-server.pid')}`];
    return { config: loadSshdConfig(stateConfig, { ...overrides, options: [...(overrides.options ?? []), ...pidFile] }), embedded: true };
  }
  const text = defaultConfigText({ port: DEFAULT_PORT, stateDir: stateDirectory() });
  return { config: parseSshdConfigText(text, 'built-in default configuration', overrides), embedded: true };
}

/** What `tether server -T [-C spec]` prints (sshd -T's format). Throws SshdConfigError / ConnectionSpecError. */
export function dashTOutput(file: string | undefined, overrides: SshdConfigOverrides, spec?: string): string {
  return formatDashT(dashTSettings(loadServerConfig(file, overrides).config, spec));
}

export function choosePasswordVerifier(embedded: boolean): PasswordVerifier {
  if (process.env.TETHER_PASSWORD_FILE || embedded || !runningAsRoot()) return new PasswordFileVerifier(passwordFilePath());
  return new SystemPasswordVerifier();
}

/** Runs until SIGINT/SIGTERM (or, with singleConnection, until the connection ends). */
export function runUntilStopped(server: Server): Promise<number> {
  return new Promise((resolveExit) => {
    const stop = () => void server.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    server.once('close', () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveExit(0);
    });
  });
}

function printConfigError(error: SshdConfigError): void {
  for (const line of error.sshdLines) process.stderr.write(`${line}\n`);
}

export async function serverMain(argv: string[]): Promise<number> {
  if (argv[0] === 'passwd') return passwdMain(argv.slice(1), passwordFilePath());
  const result = parseServerFlags(argv);
  if (!result.ok) {
    process.stderr.write(result.message);
    return result.status;
  }
  const flags = result.flags;
  const { file, overrides } = flags;
  if (flags.version) {
    process.stderr.write(`${SOFTWARE_VERSION}, Node.js ${process.version}, OpenSSL ${process.versions.openssl}\n`);
    return 0;
  }

  if (flags.mode === 'test' && file !== undefined) {
    const check = checkSshdConfig(file, overrides);
    for (const warning of check.warnings) process.stderr.write(`${warning}\n`);
    for (const error of check.errors) printConfigError(error);
    if (!check.ok) return 255;
    return checkHostKeys(loadServerConfig(file, overrides).config);
  }

  if (flags.mode === 'dump') {
    try {
      process.stdout.write(dashTOutput(file, overrides, flags.spec));
      return 0;
    } catch (error) {
      if (error instanceof SshdConfigError) {
        printConfigError(error);
        return 255;
      }
      if (error instanceof ConnectionSpecError) {
        process.stderr.write(`${error.message}\n`);
        return 255;
      }
      throw error;
    }
  }

  let choice: ConfigChoice;
  try {
    choice = loadServerConfig(file, overrides);
  } catch (error) {
    if (error instanceof SshdConfigError) {
      printConfigError(error);
      return 255;
    }
    throw error;
  }
  for (const warning of choice.config.warnings) process.stderr.write(`${warning}\n`);
  if (flags.mode === 'test') return checkHostKeys(choice.config);

  // sshd: not in debug mode, not from inetd, not asked to stay (-D), not already the daemon → daemon(3).
  const daemonChild = isDaemonChild();
  if (!daemonChild && !flags.inetd && flags.debug === 0 && !flags.noDaemon) return daemonize(argv);

  let logger: ServerLogger;
  try {
    logger = createLogger({ level: flagLogLevel(flags) ?? choice.config.settings.logLevel, destination: logDestination(flags, daemonChild) });
  } catch (error) {
    if (!(error instanceof LogFileError)) throw error;
    process.stderr.write(`${error.message}\n`);
    reportToParent({ fatal: error.message });
    return 1;
  }
  // One process serves every connection: an exception nobody caught ends only the connection it belongs to
  // (src/server/containment.ts has the policy).
  installLastResortGuard(logger);
  const fatal = (message: string, status: number): number => {
    logger.error(message);
    if (daemonChild) reportToParent({ fatal: message });
    else if (flags.logFile !== undefined || logDestination(flags, false) === 'none') process.stderr.write(`${message}\n`);
    return status;
  };
  let server: Server;
  try {
    server = startServer(choice, logger, flags.debug > 0 || flags.inetd);
  } catch (error) {
    if (error instanceof HostKeyError || error instanceof AlgorithmConfigError) return fatal(error.message, error instanceof HostKeyError ? 1 : 255);
    throw error;
  }
  if (flags.inetd) return serveInetd(server);
  try {
    await server.listen();
  } catch (error) {
    return fatal((error as Error).message, 255);
  }
  return serveUntilSignalled(server, { flags, logger, pidFile: flags.debug > 0 ? null : choice.config.settings.pidFile });
}

/**
 * Where the log goes, as sshd decides it: the -E file; stderr with -e, in debug mode, or in the foreground
 * (sshd would use syslog there; stderr is what a supervisor such as systemd collects); nowhere for a daemon
 * or an inetd server without -e, where sshd logs to syslog (stderr may be the client's socket under inetd).
 */
function logDestination(flags: ServerFlags, daemonChild: boolean): LogDestination {
  if (flags.logFile !== undefined) return { file: flags.logFile };
  if (flags.inetd) return flags.logStderr ? 'stderr' : 'none';
  if (daemonChild) return 'none';
  return 'stderr';
}

/**
 * sshd -t loads the host keys as a start would, and exits 1 when none can be had ("Unable to load host
 * key: PATH" for each that fails, then "sshd: no hostkeys available -- exiting."). A file that is absent
 * but that `tether server` would generate at start (its name tells the type) counts as loadable; nothing is
 * generated in test mode.
 */
function checkHostKeys(config: SshdConfig): number {
  const paths = config.settings.hostKeys;
  const present = paths.filter((path) => existsSync(path) || hostKeyTypeFromName(path) === undefined);
  const warn = (message: string) => process.stderr.write(`${message}\n`);
  try {
    loadHostKeys(present, { generateMissing: false, warn });
    return 0;
  } catch (error) {
    if (!(error instanceof HostKeyError)) throw error;
    if (present.length < paths.length) return 0;
    warn(error.message);
    return 1;
  }
}

/** Loads (or generates) the host keys and creates the server. Throws HostKeyError / AlgorithmConfigError. */
function startServer(choice: ConfigChoice, logger: ServerLogger, singleConnection: boolean): Server {
  const hostKeys = loadHostKeys(choice.config.settings.hostKeys, { generateMissing: true, warn: (message) => logger.error(message) });
  for (const entry of hostKeys.filter((k) => k.generated)) logger.info(`Generated host key ${entry.path}`);
  return createServer({
    config: choice.config,
    hostKeys: hostKeys.map((entry) => entry.key),
    logger,
    passwords: choosePasswordVerifier(choice.embedded),
    singleConnection,
    paths: systemPathsFromEnvironment(),
    releaseMemoryAfterBursts: true,
  });
}

/** sshd -i: the one connection on stdin/stdout; the exit status is the connection's (see exitStatus). */
async function serveInetd(server: Server): Promise<number> {
  process.stdin.on('error', () => {});
  process.stdout.on('error', () => {});
  const stream = Duplex.from({ readable: process.stdin, writable: process.stdout });
  const connection = await server.serveStream(stream, streamEndpoints(process.stdin as unknown as Duplex));
  return connection.exitStatus;
}

interface ListenerState {
  flags: ServerFlags;
  logger: ServerLogger;
  pidFile: string | null;
}

/**
 * The listener's life after listen(): the PidFile (not in debug mode), then SIGTERM/SIGINT/SIGQUIT end it
 * ("Received signal 15; terminating.", the pid file removed first, as sshd does), SIGHUP reloads.
 */
function serveUntilSignalled(server: Server, state: ListenerState): Promise<number> {
  const { logger } = state;
  writePidFile(state.pidFile, (message) => logger.error(message));
  reportToParent({ ready: true });
  return new Promise((resolveExit) => {
    let status = 0;
    let reloading = false;
    const terminate = (signal: NodeJS.Signals) => {
      logger.info(`Received signal ${constants.signals[signal]}; terminating.`);
      removePidFile(state.pidFile);
      status = signal === 'SIGQUIT' ? 255 : 0;
      void server.close();
    };
    const hangUp = () => {
      if (reloading) return;
      reloading = true;
      void reloadServer(server, state).finally(() => (reloading = false));
    };
    const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGQUIT'];
    for (const signal of signals) process.on(signal, terminate);
    process.on('SIGHUP', hangUp);
    server.once('close', () => {
      for (const signal of signals) process.off(signal, terminate);
      process.off('SIGHUP', hangUp);
      removePidFile(state.pidFile);
      resolveExit(status);
    });
  });
}

/** SIGHUP: "Received SIGHUP; restarting." — the configuration and host keys are read again, then listened on. */
async function reloadServer(server: Server, state: ListenerState): Promise<void> {
  const { logger, flags } = state;
  logger.info('Received SIGHUP; restarting.');
  let choice: ConfigChoice;
  let hostKeys;
  try {
    choice = loadServerConfig(flags.file, flags.overrides);
    hostKeys = loadHostKeys(choice.config.settings.hostKeys, { generateMissing: true, warn: (message) => logger.error(message) });
  } catch (error) {
    // sshd would exit here; keeping the running configuration serves the connections still coming.
    const lines = error instanceof SshdConfigError ? error.sshdLines : [(error as Error).message];
    for (const line of lines) logger.error(line);
    logger.error('RESTART FAILED: keeping the running configuration');
    return;
  }
  removePidFile(state.pidFile);
  try {
    await server.reload({ config: choice.config, hostKeys: hostKeys.map((entry) => entry.key), passwords: choosePasswordVerifier(choice.embedded) });
  } catch (error) {
    logger.error((error as Error).message);
    await server.close();
    return;
  }
  state.pidFile = flags.debug > 0 ? null : choice.config.settings.pidFile;
  writePidFile(state.pidFile, (message) => logger.error(message));
}
