/**
 * `tether ssh`: ssh(1)'s command line on top of the library. Flags become configuration options exactly as
 * ssh does it (a flag is an option given first, so it wins), the configuration is resolved, and the session
 * runs with OpenSSH's messages and exit statuses (the remote status, or 255 on any error of our own).
 */
import { GetoptError } from './getopt.ts';
import { prepareExit } from './exit.ts';
import { EarlyExit, parseSshArguments, USAGE, type SshInvocation } from './ssh-arguments.ts';
import { LOG, LogFileError, openSshLog, terminalSafe, type SshLog } from './ssh-log.ts';
import { runLocalCommand } from './ssh-local-command.ts';
import { KnownHostsCommandError } from '../client/known-hosts-command.ts';
import { connect, ConnectError, ServerTimeoutError, type ConnectOptions, type SshClient } from '../client/client.ts';
import { hostKeyVerifier, HostKeyVerificationError, type StrictHostKeyChecking } from '../client/host-key-policy.ts';
import { HostKeyUpdate } from '../client/host-key-update.ts';
import { AuthenticationError } from '../auth/client-auth.ts';
import { DisconnectError, ProtocolError } from '../wire/errors.ts';
import { MacError } from '../crypto/cipher/types.ts';
import { askQuestion, askSecret } from './ssh-terminal.ts';
import { DEFAULT_HELD_KEEPALIVE, runInteractiveSession, sessionForwards, sessionOptions } from './ssh-session.ts';
import type { ResumeSettings } from './ssh-resume.ts';
import { knownHostsLookup, resolveClientSettings, type ClientSettings } from './ssh-settings.ts';
import { openProxyStream } from './ssh-proxy.ts';
import { ForwardingError, startForwarding, type ActiveForwarding } from './ssh-forwarding.ts';
import { goToBackground } from './ssh-background.ts';
import { authenticationKeys } from './ssh-keys.ts';
import { muxBeforeConnect, serveControlSocket, type ControlMaster } from './ssh-mux.ts';

export { parseSshArguments, type SshInvocation } from './ssh-arguments.ts';

export async function sshMain(argv: string[]): Promise<number> {
  let invocation: SshInvocation;
  try {
    invocation = parseSshArguments(argv);
  } catch (error) {
    if (error instanceof EarlyExit) return error.status;
    if (!(error instanceof GetoptError)) throw error;
    process.stderr.write(`${error.message}\n`);
    if (!error.message.startsWith('usage:')) process.stderr.write(USAGE);
    return 255;
  }
  // -E takes effect before the configuration is read, so its errors go to the file too (ssh.c).
  let logger: SshLog;
  try {
    logger = openSshLog(commandLineLogLevel(invocation), invocation.logFile);
  } catch (error) {
    if (!(error instanceof LogFileError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
  let settings: ClientSettings;
  try {
    settings = await resolveClientSettings(invocation, (message) => logger.log(LOG.error, message));
  } catch (error) {
    logger.log(LOG.fatal, (error as Error).message);
    return 255;
  }
  if (invocation.printConfig) {
    process.stdout.write(settings.dashG());
    return 0;
  }
  const config = settings.resolved;
  logger.level = settings.logLevel;
  const log = logger.log;
  const debug = logger.debug;
  const host = config.hostname;
  const port = config.port;

  // --- connection multiplexing (ssh-mux.ts): a running ControlMaster takes the session, or -O runs.
  const muxed = await muxBeforeConnect(invocation, settings, logger);
  if (muxed !== undefined) return muxed;
  let controlMaster: ControlMaster | undefined;
  // --- end multiplexing

  // -f: the foreground process waits here while a copy of itself connects, then exits (ssh-background.ts).
  const background = config.forkAfterAuthentication ? await goToBackground(config) : undefined;
  if (background?.role === 'parent') return background.status;

  let client: SshClient;
  // _exit is loaded once connect() waits on the network, off the path a short command is timed on (exit.ts).
  setImmediate(prepareExit);
  try {
    client = await connect({
      ...buildConnectOptions(settings, log, debug),
      // ProxyJump / ProxyCommand give a ready byte stream; otherwise connect() opens TCP itself.
      stream: await openProxyStream(config, { log, debug, configFile: invocation.configFile, verbose: invocation.flags.verbose }),
    });
  } catch (error) {
    log(1, describeFailure(error as Error, config.user, host, port));
    return 255;
  }

  let forwarding: ActiveForwarding | undefined;
  try {
    // -L/-R/-D and -W (ssh-forwarding.ts): forwards start before the session, as ssh does.
    forwarding = await startForwarding(client, config, { log, debug });
    // --- multiplexing: with ControlMaster, this connection serves the control socket (ssh.c ssh_session2).
    controlMaster = await serveControlSocket(client, settings, { log: logger, cancelOwn: forwarding.cancel });
    // LocalCommand runs once the connection and its forwards are up, and ssh waits for it (ssh.c ssh_session2).
    if (config.permitLocalCommand && config.localCommand) await runLocalCommand(config, { log, debug });
    if (background?.role === 'child') background.ready();
    if (forwarding.stdioForward) return await forwarding.stdioForward;
    return await runInteractiveSession(client, {
      ...sessionOptions(settings, forwarding, log),
      ...(await sessionForwards(client, settings, log, debug)),
      resume: resumeSettings(settings, logger, invocation),
      defaultKeepalive: config.serverAliveInterval === 0,
      // -L/-D/-R carry on over the connection a held session resumed on (ssh-forwarding.ts).
      onResumed: (resumed) => void forwarding?.reconnected(resumed),
    });
  } catch (error) {
    // When the connection itself has ended (the server's DISCONNECT right after login), that says why, not
    // the request that then found it closed.
    log(1, describeFailure(await connectionEnding(client, error as Error), config.user, host, port));
    client.end();
    return 255;
  } finally {
    // --- multiplexing: like ssh, stay until the master's last mux client is done.
    await controlMaster?.finished;
    // Listeners keep the process alive: close them however the session ended.
    forwarding?.close();
  }
}

/**
 * The connect() options for a resolved configuration: algorithms, host-key policy and authentication as ssh
 * applies them. Used for the destination and for every ProxyJump hop (each with its own configuration).
 */
export function buildConnectOptions(
  settings: ClientSettings,
  log: (level: number, message: string) => void,
  debug: ((message: string) => void) | undefined,
): ConnectOptions {
  const config = settings.resolved;
  const host = config.hostname;
  const port = config.port;
  const interactive = !config.batchMode;
  const fingerprintHash = config.fingerprintHash.toLowerCase() === 'md5' ? 'md5' : 'sha256';
  // UpdateHostKeys (host-key-update.ts): the policy says how the key was accepted, the handler acts on it.
  const update = config.updateHostKeys === 'no' ? undefined : new HostKeyUpdate({
    mode: config.updateHostKeys,
    host,
    port,
    hostKeyAlias: config.hostKeyAlias,
    userKnownHostsFiles: config.userKnownHostsFiles,
    hostKeyAlgorithms: settings.hostKeyAlgorithms,
    hashKnownHosts: config.hashKnownHosts,
    fingerprintHash,
    batchMode: config.batchMode,
    log: (level, message) => (level === 'debug' ? debug?.(message) : log(LOG[level], message)),
    ask: interactive ? askQuestion : undefined,
  });
  return {
    host,
    // HostName's alternates (Tether's failover): tried in order; reaching one other than the first is said.
    alternates: config.hostnameAlternates,
    onReached: (target) => {
      if (target.index > 0) log(LOG.info, `Connected to ${target.name} (alternate of ${target.primary}).`);
    },
    // ssh ends with "Host key verification failed."; failing over, it is said for each address refused.
    onPassedOver: (_target, error) => {
      if (error instanceof HostKeyVerificationError) log(LOG.error, error.message);
    },
    port,
    username: config.user,
    algorithms: {
      kex: settings.kex,
      cipher: settings.ciphers,
      mac: settings.macs,
      hostKey: settings.hostKeyAlgorithms,
      // cipher.c compression_alg_list: ssh offers both zlib methods, in this order, with or without -C.
      compression: config.compression ? ['zlib@openssh.com', 'zlib', 'none'] : ['none', 'zlib@openssh.com', 'zlib'],
    },
    verifyHostKey: hostKeyVerifier({
      host,
      hostKeyAlias: config.hostKeyAlias,
      port,
      userKnownHostsFiles: config.userKnownHostsFiles,
      globalKnownHostsFiles: config.globalKnownHostsFiles,
      strict: config.strictHostKeyChecking as StrictHostKeyChecking,
      hashKnownHosts: config.hashKnownHosts,
      checkHostIP: config.checkHostIP && !config.hostKeyAlias,
      fingerprintHash,
      ask: interactive ? askQuestion : undefined,
      warn: (message) => log(LOG.error, message),
      info: (message) => log(LOG.info, message),
      knownHostsCommand: knownHostsLookup(config, (message) => log(LOG.error, message), debug),
      onAccepted: update?.accepted,
    }),
    globalRequests: update?.globalRequests,
    auth: {
      methods: settings.authMethods,
      keys: () => (config.pubkeyAuthentication === 'no' ? [] : authenticationKeys(config, interactive, log, debug)),
      password: config.passwordAuthentication && interactive ? () => askSecret(`${config.user}@${host}'s password: `) : undefined,
      keyboardInteractive: config.kbdInteractiveAuthentication && interactive ? answerPrompts(log) : undefined,
      passwordAttempts: config.numberOfPasswordPrompts,
      acceptedAlgorithms: config.pubkeyAcceptedAlgorithms,
      // gssapi-with-mic (RFC 4462) with the user's Kerberos ticket; connect() names the host it reached.
      gssapi: config.gssapiAuthentication
        ? { host, delegate: config.gssapiDelegateCredentials, trustDns: config.gssapiTrustDns, serverIdentity: config.gssapiServerIdentity }
        : undefined,
      notice: (message) => log(LOG.info, message),
      // ssh writes the banner itself to stderr, not through the log, at LogLevel INFO and above (sshconnect2.c).
      onBanner: (text) => {
        if (settings.logLevel >= LOG.info) process.stderr.write(terminalSafe(text));
      },
    },
    family: config.addressFamily === 'inet' ? 4 : config.addressFamily === 'inet6' ? 6 : undefined,
    localAddress: config.bindAddress,
    connectTimeout: config.connectTimeout,
    connectionAttempts: config.connectionAttempts,
    keepaliveInterval: config.serverAliveInterval,
    keepaliveCountMax: config.serverAliveCountMax,
    tcpKeepAlive: config.tcpKeepAlive,
    rekeyLimitBytes: config.rekeyLimit.bytes || undefined,
    rekeyIntervalSeconds: config.rekeyLimit.seconds || undefined,
    debug,
  };
}

/**
 * Session / SessionResume / SessionResumeTimeout, and the connect path a held session reconnects through: the
 * same as the first connection (jump hosts, ProxyCommand, HostName alternates), with the resume credential
 * first and no password or keyboard-interactive prompt (the terminal is the session's while it reconnects).
 * Without a ServerAliveInterval, DEFAULT_HELD_KEEPALIVE notices a silent drop.
 */
function resumeSettings(settings: ClientSettings, logger: SshLog, invocation: SshInvocation): ResumeSettings {
  const config = settings.resolved;
  const { log, debug } = logger;
  return {
    name: config.session,
    enabled: config.sessionResume,
    timeoutSeconds: config.sessionResumeTimeout,
    showStatus: settings.logLevel >= LOG.info,
    reconnect: async (resume) => {
      const options = buildConnectOptions(settings, log, debug);
      const keepalive = config.serverAliveInterval === 0
        ? { keepaliveInterval: DEFAULT_HELD_KEEPALIVE.interval, keepaliveCountMax: DEFAULT_HELD_KEEPALIVE.countMax }
        : {};
      return connect({
        ...options,
        ...keepalive,
        auth: { ...options.auth, resume, password: undefined, keyboardInteractive: undefined },
        // No host-key question while the session owns the terminal: an unknown key is refused, the next address tried.
        unattended: true,
        stream: await openProxyStream(config, { log, debug, configFile: invocation.configFile, verbose: invocation.flags.verbose, unattended: true }),
      });
    },
  };
}

/** keyboard-interactive prompts answered on the terminal, echoing only where the server allows. */
function answerPrompts(log: (level: number, message: string) => void) {
  return async (name: string, instruction: string, prompts: { prompt: string; echo: boolean }[]) => {
    if (name) log(3, name);
    if (instruction) log(3, instruction);
    const answers: string[] = [];
    for (const prompt of prompts) {
      const answer = prompt.echo ? await askQuestion(prompt.prompt) : await askSecret(prompt.prompt);
      if (answer === undefined) return undefined;
      answers.push(answer);
    }
    return answers;
  };
}

/** The LogLevel the command line asks for, used until the configuration is read (-q, -v, as ssh.c does). */
function commandLineLogLevel(invocation: SshInvocation): number {
  if (invocation.flags.verbose) return Math.min(LOG.debug1 + invocation.flags.verbose - 1, LOG.debug3);
  return invocation.flags.quiet ? LOG.quiet : LOG.info;
}

/** The error the connection closed with, if it has closed with one; otherwise `error`. */
async function connectionEnding(client: SshClient, error: Error): Promise<Error> {
  const closedWith = await Promise.race([client.closed, Promise.resolve(undefined)]);
  return closedWith instanceof Error ? closedWith : error;
}

/** OpenSSH's wording for each way a connection can fail. */
export function describeFailure(error: Error, user: string, host: string, port: number): string {
  const where = `${host} port ${port}`;
  if (error instanceof ConnectError) return `ssh: ${error.message}`;  // also ResolveError
  if (error instanceof ForwardingError) return error.message;
  if (error instanceof HostKeyVerificationError || error instanceof KnownHostsCommandError) return error.message;
  if (error instanceof AuthenticationError) return `${user}@${host}: ${error.message}`;
  if (error instanceof ServerTimeoutError) return error.message;
  if (error instanceof MacError) return `Corrupted MAC on input.\nssh_dispatch_run_fatal: Connection to ${where}: message authentication code incorrect`;
  if (error.message.startsWith('Bad packet length')) return `${error.message}\nssh_dispatch_run_fatal: Connection to ${where}: Connection corrupted`;
  if (error instanceof DisconnectError) {
    if (error.byPeer && error.reason === 10) return `Connection closed by ${where}`;
    // packet.c: "Received disconnect from HOST port PORT:CODE: MESSAGE", then "Disconnected from HOST port PORT".
    if (error.byPeer) return `${error.message.replace('from peer: ', `from ${where}:`)}\nDisconnected from ${where}`;
    return error.message;
  }
  if (error instanceof ProtocolError) {
    if (error.message.startsWith('no matching')) return `Unable to negotiate with ${where}: ${error.message}`;
    if (error.reason === 8) return `kex_exchange_identification: ${error.message}`;
    return `ssh_dispatch_run_fatal: Connection to ${where}: ${error.message}`;
  }
  return `ssh: ${error.message}`;
}

